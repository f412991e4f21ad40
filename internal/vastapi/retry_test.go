package vastapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// reset drops the connection with a TCP RST, as a proxy or a crashing server would.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// flaky fails the first n requests with fail, then answers as okReply does.
func flaky(n int, fail func(w http.ResponseWriter, r *http.Request)) func(http.ResponseWriter, *http.Request, []byte) {
	var count atomic.Int64
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		if count.Add(1) <= int64(n) {
			fail(w, r)
			return
		}
		okReply(w, r, body)
	}
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, code, fmt.Sprintf(`{"success":false,"error":"e%d","msg":"status %d"}`, code, code))
	}
}

var (
	reads      = []call{callUser, callSearch, callListV1, callListV0, callShow}
	idempotent = []call{callDestroy, callState, callLabel, callBid}
)

// The retry rules per endpoint kind: what is retried and what is returned at once.
func TestRetryRulesPerEndpointKind(t *testing.T) {
	type rule struct {
		calls []call
		fail  string
		f     func(http.ResponseWriter, *http.Request)
		// retried: two failures then success. Otherwise one attempt and an error.
		retried        bool
		outcomeUnknown bool
	}
	var rules []rule
	for _, st := range []int{429, 500, 502, 503, 504} {
		rules = append(rules, rule{reads, fmt.Sprint(st), status(st), true, false})
	}
	for _, st := range []int{429, 502, 503, 504} {
		rules = append(rules, rule{idempotent, fmt.Sprint(st), status(st), true, false})
	}
	rules = append(rules,
		rule{idempotent, "500", status(500), false, false},
		rule{reads, "reset", func(w http.ResponseWriter, _ *http.Request) { reset(w) }, true, false},
		rule{idempotent, "reset", func(w http.ResponseWriter, _ *http.Request) { reset(w) }, true, false},
		rule{append(append([]call{}, reads...), idempotent...), "400", status(400), false, false},
		rule{[]call{callCreate}, "429", status(429), true, false},
		rule{[]call{callCreate}, "400", status(400), false, false},
		rule{[]call{callCreate}, "404", status(404), false, false},
		rule{[]call{callCreate}, "reset", func(w http.ResponseWriter, _ *http.Request) { reset(w) }, false, true},
	)
	for _, st := range []int{500, 502, 503, 504} {
		rules = append(rules, rule{[]call{callCreate}, fmt.Sprint(st), status(st), false, true})
	}
	for _, rl := range rules {
		for _, cl := range rl.calls {
			verb := "is returned at once"
			if rl.retried {
				verb = "is retried"
			}
			t.Run(fmt.Sprintf("%s: %s %s", cl.name, rl.fail, verb), func(t *testing.T) {
				srv := newServer(t, flaky(2, rl.f))
				c := newClient(t, srv.URL)
				err := cl.run(context.Background(), c.Client)
				n := len(srv.requests())
				if rl.retried {
					if err != nil || n != 3 {
						t.Fatalf("err %v after %d requests, want success after 3", err, n)
					}
					return
				}
				if err == nil || n != 1 {
					t.Fatalf("err %v after %d requests, want an error after 1", err, n)
				}
				if vastapi.IsOutcomeUnknown(err) != rl.outcomeUnknown {
					t.Fatalf("IsOutcomeUnknown(%v) = %v, want %v", err, !rl.outcomeUnknown, rl.outcomeUnknown)
				}
			})
		}
	}
}

func TestTimeouts(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	short := func(cfg *vastapi.Config) { cfg.HTTPClient = &http.Client{Timeout: 150 * time.Millisecond} }
	t.Run("a read that times out is retried", func(t *testing.T) {
		srv := newServer(t, flaky(1, slow))
		c := newClient(t, srv.URL, short)
		if _, err := c.ShowInstance(context.Background(), 5); err != nil || len(srv.requests()) != 2 {
			t.Fatalf("err %v after %d requests", err, len(srv.requests()))
		}
	})
	t.Run("a destroy that times out is retried", func(t *testing.T) {
		srv := newServer(t, flaky(1, slow))
		c := newClient(t, srv.URL, short)
		if err := c.DestroyInstance(context.Background(), 5); err != nil || len(srv.requests()) != 2 {
			t.Fatalf("err %v after %d requests", err, len(srv.requests()))
		}
	})
	t.Run("a create that times out is outcome-unknown and not retried", func(t *testing.T) {
		srv := newServer(t, flaky(1, slow))
		c := newClient(t, srv.URL, short)
		_, err := c.CreateInstance(context.Background(), 5, vastapi.CreateRequest{Image: "x"})
		if !vastapi.IsOutcomeUnknown(err) || len(srv.requests()) != 1 {
			t.Fatalf("err %v after %d requests", err, len(srv.requests()))
		}
	})
}

// A create whose connection never opened was certainly not applied: it is retried, and the
// final error is not outcome-unknown.
func TestCreateRetriesWhenTheConnectionIsRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, "http://"+addr)
	_, err = c.CreateInstance(context.Background(), 5, vastapi.CreateRequest{Image: "x"})
	if err == nil || vastapi.IsOutcomeUnknown(err) {
		t.Fatalf("err %v, want a plain connection error", err)
	}
	if n := len(*c.infos); n != vastapi.DefaultMaxAttempts {
		t.Fatalf("%d attempts, want %d", n, vastapi.DefaultMaxAttempts)
	}
}

// With FailFast a refused connection fails the first attempt, and IsUnreachable tells it; a
// reply from the server, even an error, is not "unreachable".
func TestFailFastGivesUpOnAnUnreachableAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, "http://"+addr, func(cfg *vastapi.Config) { cfg.FailFast = true })
	_, err = c.SearchOffers(context.Background(), vastapi.Query{})
	if !vastapi.IsUnreachable(err) || len(*c.infos) != 1 {
		t.Fatalf("err %v after %d attempts; want one unreachable attempt", err, len(*c.infos))
	}
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 503, `{}`) })
	c = newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.FailFast = true; cfg.MaxAttempts = 2 })
	_, err = c.SearchOffers(context.Background(), vastapi.Query{})
	if err == nil || vastapi.IsUnreachable(err) || len(srv.requests()) != 2 {
		t.Fatalf("a 503: err %v after %d requests; want two attempts, reachable", err, len(srv.requests()))
	}
}

// A persistent failure stops after MaxAttempts, within a bounded time on the injected clock,
// with jittered waits that never exceed MaxBackoff.
func TestRetriesAreBoundedAndJittered(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	var c testClient
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		mu.Lock()
		times = append(times, c.clock.Now())
		mu.Unlock()
		status(503)(w, r)
	})
	const attempts, maxBackoff = 8, 3 * time.Second
	c = newClient(t, srv.URL, func(cfg *vastapi.Config) {
		cfg.MaxAttempts = attempts
		cfg.MaxBackoff = maxBackoff
		cfg.Pacing = map[string]time.Duration{}
	})
	start := time.Now()
	_, err := c.CurrentUser(context.Background())
	var ae *vastapi.APIError
	if !errors.As(err, &ae) || ae.Status != 503 {
		t.Fatalf("err %v, want the last 503", err)
	}
	if len(times) != attempts {
		t.Fatalf("%d attempts, want %d", len(times), attempts)
	}
	if total := times[len(times)-1].Sub(times[0]); total > (attempts-1)*maxBackoff {
		t.Fatalf("retries took %s of clock time, more than %d×%s", total, attempts-1, maxBackoff)
	}
	distinct := map[time.Duration]bool{}
	for i := 1; i < len(times); i++ {
		gap := times[i].Sub(times[i-1])
		if gap > maxBackoff || gap < 0 {
			t.Fatalf("wait %d was %s, outside [0, %s]", i, gap, maxBackoff)
		}
		distinct[gap] = true
	}
	if len(distinct) < 3 {
		t.Fatalf("waits are not jittered: %v", distinct)
	}
	if real := time.Since(start); real > 2*time.Second {
		t.Fatalf("backoff slept in real time: %s", real)
	}
	if len(*c.infos) != attempts {
		t.Fatalf("%d observations, want one per attempt", len(*c.infos))
	}
	for i, ri := range *c.infos {
		if ri.Attempt != i+1 || ri.Code != 503 || ri.Endpoint != vastapi.EPCurrentUser || ri.Method != "GET" {
			t.Fatalf("observation %d: %+v", i, ri)
		}
	}
}

func TestServerRequestedWaitsAreHonoured(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		header  string
		body    string
		minWait time.Duration
	}{
		{"Retry-After seconds on a 429", 429, "9", `{"detail":"slow"}`, 9 * time.Second},
		{"Retry-After date on a 429", 429, epoch.Add(20 * time.Second).Format(http.TimeFormat), `{"detail":"slow"}`, 19 * time.Second},
		{"a 429 threshold without Retry-After", 429, "", "API requests too frequent endpoint threshold=4.5", 4500 * time.Millisecond},
		{"Retry-After on a 503 to a read", 503, "12", `{"detail":"maintenance"}`, 12 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var times []time.Time
			var c testClient
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				mu.Lock()
				times = append(times, c.clock.Now())
				n := len(times)
				mu.Unlock()
				if n == 1 {
					if tc.header != "" {
						w.Header().Set("Retry-After", tc.header)
					}
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(tc.body))
					return
				}
				okReply(w, r, body)
			})
			c = newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.Pacing = map[string]time.Duration{} })
			var err error
			if tc.status == 429 {
				_, err = c.CreateInstance(context.Background(), 1, vastapi.CreateRequest{Image: "x"})
			} else {
				_, err = c.CurrentUser(context.Background())
			}
			if err != nil {
				t.Fatal(err)
			}
			if gap := times[1].Sub(times[0]); gap < tc.minWait {
				t.Fatalf("retried after %s, want at least %s", gap, tc.minWait)
			}
		})
	}
	t.Run("a Retry-After beyond what the client waits returns the 429 at once", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(429)
		})
		c := newClient(t, srv.URL)
		_, err := c.CurrentUser(context.Background())
		if !vastapi.IsRateLimited(err) || len(srv.requests()) != 1 {
			t.Fatalf("err %v after %d requests", err, len(srv.requests()))
		}
	})
}

func TestCancellationStopsRetries(t *testing.T) {
	t.Run("on the fake clock", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { status(503)(w, r) })
		c := newClient(t, srv.URL, func(cfg *vastapi.Config) {
			cfg.Observe = func(vastapi.RequestInfo) { cancel() } // after the first reply arrived
		})
		_, err := c.ListInstances(ctx)
		if !errors.Is(err, context.Canceled) || len(srv.requests()) != 1 {
			t.Fatalf("err %v after %d requests", err, len(srv.requests()))
		}
		var ae *vastapi.APIError
		if !errors.As(err, &ae) || ae.Status != 503 {
			t.Fatalf("the last attempt's error is lost: %v", err)
		}
	})
	t.Run("a long wait on the real clock", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Retry-After", "100")
			w.WriteHeader(503)
		})
		c := newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.Clock = clock.Real{}; cfg.MaxBackoff = time.Hour })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.DestroyInstance(ctx, 3)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("cancellation took %s", d)
		}
	})
	t.Run("a create cancelled while in flight is outcome-unknown", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			cancel()
			<-r.Context().Done()
		})
		c := newClient(t, srv.URL)
		_, err := c.CreateInstance(ctx, 1, vastapi.CreateRequest{Image: "x"})
		if !vastapi.IsOutcomeUnknown(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
}

// A search reply that breaks mid-stream is retried by SearchOffers (which restarts its list),
// but not by SearchOffersFunc once offers reached the callback.
func TestSearchBrokenMidStream(t *testing.T) {
	var count atomic.Int64
	handler := func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		if count.Add(1) == 1 {
			_, _ = w.Write([]byte(`{"offers":[{"id":1},{"id":2},{"id":`))
			w.(http.Flusher).Flush()
			reset(w)
			return
		}
		_, _ = w.Write([]byte(`{"offers":[{"id":1},{"id":2},{"id":3}]}`))
	}
	t.Run("SearchOffers restarts", func(t *testing.T) {
		count.Store(0)
		srv := newServer(t, handler)
		offers, err := newClient(t, srv.URL).SearchOffers(context.Background(), vastapi.Query{})
		if err != nil || len(offers) != 3 {
			t.Fatalf("%d offers, err %v", len(offers), err)
		}
	})
	t.Run("SearchOffersFunc does not replay offers", func(t *testing.T) {
		count.Store(0)
		srv := newServer(t, handler)
		var ids []int64
		err := newClient(t, srv.URL).SearchOffersFunc(context.Background(), vastapi.Query{}, func(o *vastapi.Offer) error {
			ids = append(ids, o.ID)
			return nil
		})
		if err == nil || len(srv.requests()) != 1 || len(ids) != 2 {
			t.Fatalf("err %v, ids %v, %d requests", err, ids, len(srv.requests()))
		}
	})
}

// SearchOffersStream asks its caller before it replays offers: a reply that broke (or said
// rate_limit_exceeded) after offers reached fn starts over only when restart says so.
func TestSearchStreamAsksBeforeRestarting(t *testing.T) {
	broken := func(w http.ResponseWriter) {
		_, _ = w.Write([]byte(`{"offers":[{"id":1},{"id":2},{"id":`))
		w.(http.Flusher).Flush()
		reset(w)
	}
	limited := func(w http.ResponseWriter) {
		_, _ = w.Write([]byte(`{"offers":[{"id":1}],"success":false,"error":"rate_limit_exceeded","msg":"slow down"}`))
	}
	for _, tc := range []struct {
		name  string
		fail  func(http.ResponseWriter)
		allow bool
		want  []int64 // ids fn saw, restarts marked 0
		reqs  int
	}{
		{"broken, restart allowed", broken, true, []int64{1, 2, 0, 1, 2, 3}, 2},
		{"broken, restart refused", broken, false, []int64{1, 2, 0}, 1},
		{"rate-limited after offers, restart allowed", limited, true, []int64{1, 0, 1, 2, 3}, 2},
		{"rate-limited after offers, restart refused", limited, false, []int64{1, 0}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var count atomic.Int64
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set("Content-Type", "application/json")
				if count.Add(1) == 1 {
					tc.fail(w)
					return
				}
				_, _ = w.Write([]byte(`{"offers":[{"id":1},{"id":2},{"id":3}]}`))
			})
			var seen []int64
			err := newClient(t, srv.URL).SearchOffersStream(context.Background(), vastapi.Query{},
				func() bool { seen = append(seen, 0); return tc.allow },
				func(o *vastapi.Offer) error { seen = append(seen, o.ID); return nil })
			if tc.allow != (err == nil) || !slices.Equal(seen, tc.want) || len(srv.requests()) != tc.reqs {
				t.Fatalf("err %v, seen %v (want %v), %d requests (want %d)", err, seen, tc.want, len(srv.requests()), tc.reqs)
			}
		})
	}
	t.Run("SearchOffersFunc never replays a rate-limited reply's offers", func(t *testing.T) {
		var count atomic.Int64
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if count.Add(1) == 1 {
				limited(w)
				return
			}
			_, _ = w.Write([]byte(`{"offers":[{"id":1},{"id":2}]}`))
		})
		var ids []int64
		err := newClient(t, srv.URL).SearchOffersFunc(context.Background(), vastapi.Query{}, func(o *vastapi.Offer) error {
			ids = append(ids, o.ID)
			return nil
		})
		if err == nil || !slices.Equal(ids, []int64{1}) || len(srv.requests()) != 1 {
			t.Fatalf("err %v, ids %v, %d requests", err, ids, len(srv.requests()))
		}
	})
}

// sleepRecorder is a clock that stands still and records every requested sleep.
type sleepRecorder struct {
	clock.Real // timers; the client under test arms none
	mu         sync.Mutex
	now        time.Time
	sleeps     []time.Duration
}

func (s *sleepRecorder) Now() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.now }
func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.sleeps = append(s.sleeps, d)
	s.mu.Unlock()
	return ctx.Err()
}

func TestPacing(t *testing.T) {
	t.Run("concurrent callers get distinct slots one interval apart", func(t *testing.T) {
		srv := newServer(t, okReply)
		rec := &sleepRecorder{now: epoch}
		c := newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.Clock = rec })
		const n = 20
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := c.ShowInstance(context.Background(), 1); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		iv := vastapi.DefaultPacing["GET "+vastapi.EPShowInstance]
		sort.Slice(rec.sleeps, func(i, j int) bool { return rec.sleeps[i] < rec.sleeps[j] })
		if len(rec.sleeps) != n {
			t.Fatalf("%d waits for %d calls", len(rec.sleeps), n)
		}
		for i, d := range rec.sleeps {
			if d != time.Duration(i)*iv {
				t.Fatalf("wait %d = %s, want %s", i, d, time.Duration(i)*iv)
			}
		}
	})
	t.Run("a thousand paced calls take no real time and the published spacing on the clock", func(t *testing.T) {
		srv := newServer(t, okReply)
		c := newClient(t, srv.URL)
		start := time.Now()
		const n = 1000
		for range n {
			if err := c.SetLabel(context.Background(), 1, "x"); err != nil {
				t.Fatal(err)
			}
		}
		iv := vastapi.DefaultPacing["PUT "+vastapi.EPManage]
		if got := c.clock.Now().Sub(epoch); got != (n-1)*iv {
			t.Fatalf("clock advanced %s, want %s", got, (n-1)*iv)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Fatalf("took %s of real time", d)
		}
	})
	t.Run("endpoints are paced independently and an empty map disables pacing", func(t *testing.T) {
		srv := newServer(t, okReply)
		rec := &sleepRecorder{now: epoch}
		c := newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.Clock = rec })
		_, _ = c.CurrentUser(context.Background())
		_, _ = c.ShowInstance(context.Background(), 1)
		for _, d := range rec.sleeps {
			if d != 0 {
				t.Fatalf("first calls of two endpoints waited %s", d)
			}
		}
		rec2 := &sleepRecorder{now: epoch}
		c2 := newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.Clock = rec2; cfg.Pacing = map[string]time.Duration{} })
		for range 5 {
			_, _ = c2.CurrentUser(context.Background())
		}
		if len(rec2.sleeps) != 0 {
			t.Fatalf("unpaced client slept: %v", rec2.sleeps)
		}
	})
}

func TestDebugLogLinePerAttempt(t *testing.T) {
	srv := newServer(t, flaky(1, status(502)))
	c := newClient(t, srv.URL)
	// An id no timestamp or duration can contain by chance (42 once matched "04:48:58.425Z").
	const id = 918273645
	if _, err := c.ShowInstance(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(c.logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per attempt:\n%s", len(lines), c.logs)
	}
	for i, want := range []string{"status=502", "status=200"} {
		l := lines[i]
		for _, part := range []string{"level=DEBUG", "method=GET", "endpoint=/api/v0/instances/{id}/", want, "duration=", fmt.Sprintf("attempt=%d", i+1)} {
			if !strings.Contains(l, part) {
				t.Errorf("line %d lacks %q: %s", i, part, l)
			}
		}
		if strings.Contains(l, strconv.Itoa(id)) {
			t.Errorf("line %d names the instance id or URL: %s", i, l)
		}
	}
}
