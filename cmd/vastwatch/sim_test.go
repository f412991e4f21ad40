package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// simLog is a goroutine-safe writer for the subcommand's stderr. Each write is also sent to
// lines, when set, so a test can wait for a line instead of polling.
type simLog struct {
	mu    sync.Mutex
	b     strings.Builder
	lines chan string
}

func (l *simLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines != nil {
		select {
		case l.lines <- string(p):
		default:
		}
	}
	return l.b.Write(p)
}

func (l *simLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestSimServesTheAPIAndShutsDownOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := simLog{lines: make(chan string, 64)}
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, IO{Stdout: io.Discard, Stderr: &stderr}, []string{
			"sim", "--listen", "127.0.0.1:0", "--seed", "9", "--api-key", "k-123", "--machines", "50", "--credit", "42",
		})
	}()
	re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	var base string
	timeout := time.After(10 * time.Second)
	for base == "" {
		select {
		case line := <-stderr.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				base = m[1]
			}
		case c := <-code:
			t.Fatalf("sim exited with %d before listening: %s", c, stderr.String())
		case <-timeout:
			t.Fatalf("sim did not start: %s", stderr.String())
		}
	}
	get := func(path, key string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	if st, m := get("/api/v0/users/current", "k-123"); st != 200 || m["credit"] != 42.0 || m["api_key"] != "k-123" {
		t.Fatalf("users/current: %d %v", st, m)
	}
	if st, _ := get("/api/v0/users/current/", "wrong"); st != 401 {
		t.Fatalf("wrong key: %d", st)
	}
	if st, m := get("/api/v0/gpu_names/unique/", ""); st != 200 || m["gpu_names"] == nil {
		t.Fatalf("gpu names: %d %v", st, m)
	}
	// A CLI session beyond renting is served (docs/vast-api.md §7); what is not says so with 501.
	if st, _ := get("/api/v0/ssh/", "k-123"); st != 200 {
		t.Fatalf("ssh keys: %d", st)
	}
	if st, m := get("/api/v0/secrets/", "k-123"); st != 200 || m["secrets"] == nil {
		t.Fatalf("secrets: %d %v", st, m)
	}
	if st, m := get("/api/v0/instances/filters/", "k-123"); st != 501 || m["error"] != "not_simulated" {
		t.Fatalf("an endpoint not simulated: %d %v", st, m)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d: %s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop on context cancel")
	}
	if strings.Contains(stderr.String(), "k-123") {
		t.Fatal("the API key appeared in the sim's output")
	}
}

func TestSimRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"sim", "--speed", "0.5"}, {"sim", "--public-ip", "example.com"}, {"sim", "--nope"}, {"sim", "extra"}} {
		var stderr simLog
		if c := Main(context.Background(), IO{Stdout: io.Discard, Stderr: &stderr}, args); c != 2 {
			t.Errorf("%v: exit %d, want 2", args, c)
		}
	}
}
