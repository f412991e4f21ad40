package vastapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

const testKey = "canary-key-0123456789abcdef0123456789abcdef0123456789abcdef012345"

// seen is one request as the test server received it.
type seen struct {
	Method, Path, RawQuery, URL string
	Header                      http.Header
	Body                        []byte
}

// server is an httptest server answering with handler and recording every request.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, body []byte)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, URL: r.URL.String(), Header: r.Header.Clone(), Body: body})
		s.mu.Unlock()
		handler(w, r, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// testClient is a client of s on a fake clock, with logs captured.
type testClient struct {
	*vastapi.Client
	clock *clock.Fake
	logs  *bytes.Buffer
	infos *[]vastapi.RequestInfo
}

var epoch = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)

func newClient(t *testing.T, url string, mod ...func(*vastapi.Config)) testClient {
	t.Helper()
	fc := clock.NewFake(epoch)
	logs := &bytes.Buffer{}
	var mu sync.Mutex
	infos := &[]vastapi.RequestInfo{}
	cfg := vastapi.Config{
		BaseURL:   url,
		Key:       vastapi.NewSecret(testKey),
		Clock:     fc,
		UserAgent: "vastwatch/test",
		Logger:    slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Observe: func(ri vastapi.RequestInfo) {
			mu.Lock()
			*infos = append(*infos, ri)
			mu.Unlock()
		},
		Rand: rand.New(rand.NewPCG(1, 2)),
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := vastapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return testClient{Client: c, clock: fc, logs: logs, infos: infos}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// jsonEqual compares two JSON texts as values.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("body\n got %s\nwant %s", gb, wb)
	}
}

func TestCurrentUserSendsHeadersAndDropsAPIKey(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, `{"id":7,"username":"u","email":"e@x","credit":"25.5","balance":null,"api_key":"`+testKey+`","can_pay":true}`)
	})
	c := newClient(t, srv.URL)
	u, err := c.CurrentUser(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != 7 || u.Credit != 25.5 || !u.CanPay {
		t.Fatalf("user %+v", u)
	}
	r := srv.requests()[0]
	if r.Method != "GET" || r.Path != "/api/v0/users/current/" {
		t.Fatalf("request %s %s", r.Method, r.Path)
	}
	for h, want := range map[string]string{"Authorization": "Bearer " + testKey, "Accept": "application/json", "User-Agent": "vastwatch/test"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
}
