package leader

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"
)

// The election tests run inside testing/synctest bubbles. There the time package's clock, which
// clock.Real (the Elector's clock) and the Lease store read, is fake: it moves only when every
// goroutine of the bubble waits, and jumps straight to the next timer. So the tests use the
// production durations and measure them exactly, instead of racing short wall-clock deadlines
// on a loaded machine.

const (
	testNS    = "vastwatch"
	testLease = "vastwatch"
	// readDelay holds each read of the Lease back so that candidates started together all read
	// "no lease" before any of them creates it: they really race for it.
	readDelay = 20 * time.Millisecond
	// sampleEvery is the sampler's period in the bubble's time.
	sampleEvery = 10 * time.Millisecond
)

// defaults are client-go's durations for core components, which the daemon uses too.
var defaults = Config{LeaseDuration: DefaultLeaseDuration, RenewDeadline: DefaultRenewDeadline, RetryPeriod: DefaultRetryPeriod}

// pass lets d of the bubble's time go by, then waits until every other goroutine of the bubble
// is blocked again, so that everything due by then has happened.
func pass(d time.Duration) {
	_ = clock.Real{}.Sleep(context.Background(), d) // Background never ends
	synctest.Wait()
}

// cluster is the replicas of one test and the Lease store they share.
type cluster struct {
	t     *testing.T
	store *leasetest.Store
	cfg   Config
	wake  chan struct{} // a term started or ended somewhere; waitLeader looks again
}

func newCluster(t *testing.T, cfg Config) *cluster {
	return &cluster{t: t, store: leasetest.NewStore(), cfg: cfg, wake: make(chan struct{}, 1)}
}

func (cl *cluster) poke() {
	select {
	case cl.wake <- struct{}{}:
	default: // one pending wake-up is enough: waitLeader looks at every candidate
	}
}

// candidate is one replica: an Elector on its own client over the shared store.
type candidate struct {
	e      *Elector
	faults *leasetest.Faults
	cancel context.CancelFunc
	done   chan error
	once   sync.Once

	mu      sync.Mutex
	started int
	stopped int
	ctxs    []context.Context // each OnStartedLeading's ctx
	// Whether IsLeader was already false when OnStoppedLeading ran.
	leaderAtStop []bool
}

// start starts a candidate's Run once gate is closed (nil: at once).
func (cl *cluster) start(id string, gate <-chan struct{}) *candidate {
	t := cl.t
	t.Helper()
	cfg := cl.cfg
	cfg.Namespace, cfg.LeaseName, cfg.Identity = testNS, testLease, id
	c := &candidate{faults: &leasetest.Faults{}, done: make(chan error, 1)}
	e, err := New(cfg, cl.store.Client(c.faults).Leases(testNS), slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	c.e = e
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done(): // stopped before the gate opened, after a failed test
				c.done <- nil
				return
			}
		}
		c.done <- e.Run(ctx, Callbacks{
			OnStartedLeading: func(ctx context.Context) {
				c.mu.Lock()
				c.started++
				c.ctxs = append(c.ctxs, ctx)
				c.mu.Unlock()
				cl.poke()
				<-ctx.Done()
			},
			OnStoppedLeading: func() {
				c.mu.Lock()
				c.stopped++
				c.leaderAtStop = append(c.leaderAtStop, e.IsLeader())
				c.mu.Unlock()
				cl.poke()
			},
		})
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop cancels Run and waits for it to return.
func (c *candidate) stop(t *testing.T) {
	t.Helper()
	c.once.Do(func() {
		c.cancel()
		timeout := clock.Real{}.NewTimer(10 * time.Second)
		defer timeout.Stop()
		select {
		case err := <-c.done:
			if err != nil {
				t.Errorf("%s: Run: %v", c.e.Identity(), err)
			}
		case <-timeout.C():
			t.Errorf("%s: Run did not return after its ctx was cancelled", c.e.Identity())
		}
	})
}

// terms is how many terms the candidate has started.
func (c *candidate) terms() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// termCtx is the ctx of the candidate's latest term.
func (c *candidate) termCtx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ctxs[len(c.ctxs)-1]
}

// checkTerms: every term's ctx is cancelled, OnStoppedLeading ran once per term, and
// IsLeader was false by then.
func (c *candidate) checkTerms(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started != c.stopped {
		t.Errorf("%s: started leading %d times, stopped %d times", c.e.Identity(), c.started, c.stopped)
	}
	for i, ctx := range c.ctxs {
		if ctx.Err() == nil {
			t.Errorf("%s: term %d's ctx not cancelled", c.e.Identity(), i)
		}
	}
	for i, leading := range c.leaderAtStop {
		if leading {
			t.Errorf("%s: IsLeader true during OnStoppedLeading of term %d", c.e.Identity(), i)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitLeader waits, at most within of the bubble's time, until exactly one of cands leads and
// returns it with the time that took. It looks again whenever a term starts or ends, so the
// time is exact.
func (cl *cluster) waitLeader(cands []*candidate, within time.Duration) (*candidate, time.Duration) {
	t := cl.t
	t.Helper()
	start := time.Now()
	timeout := clock.Real{}.NewTimer(within)
	defer timeout.Stop()
	for {
		synctest.Wait()
		var leaders []*candidate
		for _, c := range cands {
			if c.e.IsLeader() {
				leaders = append(leaders, c)
			}
		}
		if len(leaders) == 1 {
			return leaders[0], time.Since(start)
		}
		select {
		case <-cl.wake:
		case <-timeout.C():
			t.Fatalf("no single leader within %v", within)
			return nil, 0
		}
	}
}

func without(cands []*candidate, c *candidate) []*candidate {
	var out []*candidate
	for _, x := range cands {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}

// sampler reads IsLeader of every candidate each sampleEvery of the bubble's time. Each sample
// reads all candidates twice in a row; a candidate leading in both reads led throughout (a
// lost term is never regained within a retry period, and no time passes within a sample), so
// two leaders are counted only when they provably overlapped: the goroutines still run
// concurrently, only the clock is fake.
type sampler struct {
	cands []*candidate
	stop  chan struct{}
	done  chan struct{}

	samples, overlaps int
	overlapAt         []string
	maxNoLeader       time.Duration
}

func startSampler(cands []*candidate) *sampler {
	s := &sampler{cands: cands, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := clock.Real{}.NewTimer(0)
		defer tick.Stop()
		lastOne := time.Now()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C():
			}
			now := time.Now()
			if s.sample(now) == 1 {
				lastOne = now
			} else if gap := now.Sub(lastOne); gap > s.maxNoLeader {
				s.maxNoLeader = gap
			}
			tick.Reset(sampleEvery)
		}
	}()
	return s
}

// sample reads every candidate twice, counts overlaps and returns how many led throughout.
func (s *sampler) sample(now time.Time) int {
	n := len(s.cands)
	a, b := make([]bool, n), make([]bool, n)
	for i, c := range s.cands {
		a[i] = c.e.IsLeader()
	}
	for i, c := range s.cands {
		b[i] = c.e.IsLeader()
	}
	s.samples++
	leaders := 0
	for i := range n {
		if a[i] && b[i] {
			leaders++
		}
		for j := i + 1; j < n; j++ {
			if (a[i] && b[i] && a[j]) || (a[j] && b[j] && b[i]) {
				s.overlaps++
				if len(s.overlapAt) < 5 {
					s.overlapAt = append(s.overlapAt, fmt.Sprintf("%s and %s at %s", s.cands[i].e.Identity(), s.cands[j].e.Identity(), now.Format(time.StampMicro)))
				}
			}
		}
	}
	return leaders
}

// end stops sampling; idempotent.
func (s *sampler) end() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *sampler) finish(t *testing.T) {
	t.Helper()
	s.end()
	t.Logf("%d samples, longest stretch without exactly one leader %v", s.samples, s.maxNoLeader)
	if s.overlaps > 0 {
		t.Errorf("two leaders at once in %d samples: %s", s.overlaps, strings.Join(s.overlapAt, "; "))
	}
	// Every sampleEvery of the bubble's time: a hundred a second, thousands in each test.
	if s.samples < 200 {
		t.Errorf("only %d samples; the check saw too little", s.samples)
	}
}
