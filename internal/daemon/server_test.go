package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHTTPSurface(t *testing.T) {
	ready := false
	reloads := 0
	mux := surface{
		metrics:   http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("m 1\n")) }),
		status:    func() *statusView { return &statusView{Version: "v", Now: time.Now()} },
		ready:     func() bool { return ready },
		reload:    func(context.Context) error { reloads++; return nil },
		lifecycle: true,
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

// TestLifecycleEndpointsNeedTheFlag: without --web.enable-lifecycle, POST /-/reload and /-/quit
// answer 403 and change nothing, as in Prometheus; other methods are 405 either way.
func TestLifecycleEndpointsNeedTheFlag(t *testing.T) {
	reloads, quits := 0, 0
	for _, on := range []bool{false, true} {
		mux := surface{
			metrics: http.NotFoundHandler(), status: func() *statusView { return &statusView{} }, ready: func() bool { return true },
			reload: func(context.Context) error { reloads++; return nil }, quit: func() { quits++ },
			lifecycle: on, telemetry: "/metrics",
		}.mux()
		do := func(method, path string) (int, string) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
			return rec.Code, rec.Body.String()
		}
		for _, p := range []string{"/-/reload", "/-/quit"} {
			if c, _ := do("GET", p); c != 405 {
				t.Errorf("lifecycle %v: GET %s: %d, want 405", on, p, c)
			}
			c, body := do("POST", p)
			switch {
			case !on && (c != 403 || !strings.Contains(body, "--web.enable-lifecycle")):
				t.Errorf("lifecycle off: POST %s: %d %q, want 403 naming the flag", p, c, body)
			case on && c != 200:
				t.Errorf("lifecycle on: POST %s: %d %q", p, c, body)
			}
		}
		if want := map[bool]int{false: 0, true: 1}[on]; reloads != want || quits != want {
			t.Errorf("lifecycle %v: %d reloads and %d quits, want %d each", on, reloads, quits, want)
		}
	}
}

// startedLog passes the address of the "vastwatch started" line on.
type startedLog struct{ addr chan string }

func (l startedLog) Enabled(context.Context, slog.Level) bool { return true }
func (l startedLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l startedLog) WithGroup(string) slog.Handler            { return l }
func (l startedLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "vastwatch started" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "listen" {
				l.addr <- a.Value.String()
			}
			return true
		})
	}
	return nil
}

// TestQuitShutsTheDaemonDown: POST /-/quit with --web.enable-lifecycle ends Run as SIGTERM does.
func TestQuitShutsTheDaemonDown(t *testing.T) {
	d := newTestDaemonWith(t, watchOnlyConfig, func(o *Options) { o.Lifecycle = true })
	addr := make(chan string, 1)
	d.logger = slog.New(startedLog{addr})
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background()) }()
	var base string
	select {
	case base = <-addr:
	case err := <-done:
		t.Fatalf("Run ended before serving: %v", err)
	}
	resp, err := http.Post("http://"+base+"/-/quit", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /-/quit: %d", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after /-/quit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after POST /-/quit")
	}
}

// TestListenAll opens every address, and none when one of them fails.
func TestListenAll(t *testing.T) {
	lns, err := listenAll([]string{"127.0.0.1:0", "127.0.0.1:0"}, false)
	if err != nil || len(lns) != 2 {
		t.Fatalf("%v %v", lns, err)
	}
	defer lns[1].Close()
	busy := lns[0].Addr().String()
	defer lns[0].Close()
	if _, err := listenAll([]string{"127.0.0.1:0", busy}, false); err == nil || !strings.Contains(err.Error(), "listen on "+busy) {
		t.Fatalf("a busy address: %v", err)
	}
	if _, err := listenAll(nil, false); err == nil {
		t.Fatal("no address: no error")
	}
	if _, err := listenAll(nil, true); err == nil || !strings.Contains(err.Error(), "--web.systemd-socket") {
		t.Fatalf("systemd socket without activation: %v", err)
	}
}
