package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vastwatch "github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/policy"
)

func envOf(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestRunRefusesToStartWithoutKeyOrSimulate(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), IO{Stdout: &out, Stderr: &errb, Getenv: envOf(nil)}, []string{"run"})
	if code == 0 {
		t.Fatal("run without an API key and without --simulate must fail")
	}
	msg := strings.TrimSpace(errb.String())
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "VAST_API_KEY") || !strings.Contains(msg, "--simulate") {
		t.Fatalf("want one line naming VAST_API_KEY and --simulate, got %q", msg)
	}
}

func TestRunAgainstTheRealAPIRequiresAConfigFile(t *testing.T) {
	var errb bytes.Buffer
	code := Main(context.Background(), IO{Stdout: &bytes.Buffer{}, Stderr: &errb,
		Getenv: envOf(map[string]string{"VAST_API_KEY": "k-123"})}, []string{"run"})
	if code == 0 || !strings.Contains(errb.String(), "--config.file is required") {
		t.Fatalf("code %d stderr %q", code, errb.String())
	}
	if strings.Contains(errb.String(), "k-123") {
		t.Fatal("the key was echoed")
	}
}

func TestRunRejectsBadLogFlags(t *testing.T) {
	var errb bytes.Buffer
	code := Main(context.Background(), IO{Stdout: &bytes.Buffer{}, Stderr: &errb, Getenv: envOf(nil)},
		[]string{"run", "--simulate", "--log.format", "xml"})
	if code == 0 || !strings.Contains(errb.String(), "--log.format") {
		t.Fatalf("code %d stderr %q", code, errb.String())
	}
}

func testHolder(t *testing.T, path string) (*configHolder, *[]bool) {
	var results []bool
	h := &configHolder{
		path:     path,
		parse:    func(b []byte, src string) (*policy.Config, error) { return policy.Parse(b, src, envOf(nil)) },
		logger:   newTestLogger(t),
		now:      time.Now,
		onResult: func(ok bool, _ time.Time, _ error) { results = append(results, ok) },
	}
	return h, &results
}

func TestBadReloadKeepsTheRunningConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, vastwatch.ExampleConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	h, results := testHolder(t, path)
	if err := h.load(nil); err != nil {
		t.Fatal(err)
	}
	before := h.current()
	if err := os.WriteFile(path, []byte("poll_interval: 15s\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := h.reload("test")
	if err == nil || !strings.Contains(err.Error(), "bogus (line 2)") {
		t.Fatalf("reload error %v, want the unknown key with its line", err)
	}
	if h.current() != before {
		t.Fatal("a failed reload replaced the running config")
	}
	if h.lastError() == "" || len(*results) != 1 || (*results)[0] {
		t.Fatalf("failed reload not reported: lastError %q results %v", h.lastError(), *results)
	}
	// The file watch sees the next edit, and a good file is swapped in.
	var seen [32]byte
	if err := os.WriteFile(path, vastwatch.ExampleConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if !h.changed(&seen) {
		t.Fatal("content back to the running config's after a failed reload is a change (it clears the failure)")
	}
	if err := h.reload("file changed"); err != nil || h.lastError() != "" {
		t.Fatalf("restoring the running content: %v %q", err, h.lastError())
	}
	if h.changed(&seen) {
		t.Fatal("content equal to the running config, after a good reload, is not a change")
	}
	edited := bytes.Replace(vastwatch.ExampleConfig, []byte("poll_interval: 15s"), []byte("poll_interval: 20s"), 1)
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	if !h.changed(&seen) {
		t.Fatal("an edited file is a change")
	}
	if err := h.reload("file changed"); err != nil {
		t.Fatal(err)
	}
	if h.current().PollInterval != 20*time.Second || h.lastError() != "" || !(*results)[2] {
		t.Fatalf("good reload not applied: %v %q %v", h.current().PollInterval, h.lastError(), *results)
	}
}

func TestHTTPSurface(t *testing.T) {
	ready := false
	reloads := 0
	mux := surface{
		metrics:   http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("m 1\n")) }),
		status:    func() *statusView { return &statusView{Version: "v", Now: time.Now()} },
		ready:     func() bool { return ready },
		reload:    func(context.Context) error { reloads++; return nil },
		telemetry: "/metrics",
	}.mux()
	do := func(method, path string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code, rec.Body.String()
	}
	if c, _ := do("GET", "/-/ready"); c != 503 {
		t.Fatalf("ready before the first poll: %d", c)
	}
	ready = true
	if c, _ := do("GET", "/-/ready"); c != 200 {
		t.Fatalf("ready after the first poll: %d", c)
	}
	if c, _ := do("GET", "/-/healthy"); c != 200 {
		t.Fatalf("healthy: %d", c)
	}
	if c, _ := do("GET", "/-/reload"); c != 405 || reloads != 0 {
		t.Fatalf("GET /-/reload: %d reloads %d", c, reloads)
	}
	if c, _ := do("POST", "/-/reload"); c != 200 || reloads != 1 {
		t.Fatalf("POST /-/reload: %d reloads %d", c, reloads)
	}
	if c, b := do("GET", "/metrics"); c != 200 || b != "m 1\n" {
		t.Fatalf("metrics: %d %q", c, b)
	}
	if c, b := do("GET", "/"); c != 200 || !strings.Contains(b, "<title>vastwatch</title>") {
		t.Fatalf("status: %d", c)
	}
	if c, _ := do("GET", "/nope"); c != 404 {
		t.Fatalf("unknown path: %d", c)
	}
}
