package daemon

import (
	"context"
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
