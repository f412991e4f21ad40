package leader

import (
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"

	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testNS    = "vastwatch"
	testLease = "vastwatch"
)

// Short durations keep each test to seconds. The renew deadline is generous because the
// leader must not lose the lease when the race detector and a loaded machine starve it of CPU
// for half a second.
var fast = Config{LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond}

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

// startCandidate starts Run once gate is closed (nil: at once).
func startCandidate(t *testing.T, s *leasetest.Store, cfg Config, id string, gate <-chan struct{}) *candidate {
	t.Helper()
	cfg.Namespace, cfg.LeaseName, cfg.Identity = testNS, testLease, id
	c := &candidate{faults: &leasetest.Faults{}, done: make(chan error, 1)}
	e, err := New(cfg, s.Client(c.faults), slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	c.e = e
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		if gate != nil {
			<-gate
		}
		c.done <- e.Run(ctx, Callbacks{
			OnStartedLeading: func(ctx context.Context) {
				c.mu.Lock()
				c.started++
				c.ctxs = append(c.ctxs, ctx)
				c.mu.Unlock()
				<-ctx.Done()
			},
			OnStoppedLeading: func() {
				c.mu.Lock()
				c.stopped++
				c.leaderAtStop = append(c.leaderAtStop, e.IsLeader())
				c.mu.Unlock()
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
		select {
		case err := <-c.done:
			if err != nil {
				t.Errorf("%s: Run: %v", c.e.Identity(), err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: Run did not return after its ctx was cancelled", c.e.Identity())
		}
	})
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

// sampler reads IsLeader of every candidate as often as it can. Each sample reads all
// candidates twice in a row; a candidate leading in both reads led throughout (a lost term is
// never regained within a retry period, and samples slower than that are discarded), so two
// leaders are counted only when they provably overlapped.
type sampler struct {
	cands []*candidate
	stop  chan struct{}
	done  chan struct{}

	samples, discarded, overlaps int
	overlapAt                    []string
	maxNoLeader                  time.Duration
}

func startSampler(cands []*candidate, maxSweep time.Duration) *sampler {
	s := &sampler{cands: cands, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		n := len(cands)
		a, b := make([]bool, n), make([]bool, n)
		lastOne := time.Now()
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			t0 := time.Now()
			for i, c := range cands {
				a[i] = c.e.IsLeader()
			}
			for i, c := range cands {
				b[i] = c.e.IsLeader()
			}
			if time.Since(t0) > maxSweep {
				s.discarded++
				continue
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
							s.overlapAt = append(s.overlapAt, fmt.Sprintf("%s and %s at %s", cands[i].e.Identity(), cands[j].e.Identity(), t0.Format(time.StampMicro)))
						}
					}
				}
			}
			if leaders == 1 {
				lastOne = t0
			} else if gap := t0.Sub(lastOne); gap > s.maxNoLeader {
				s.maxNoLeader = gap
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	return s
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
	t.Logf("%d samples (%d discarded as too slow), longest stretch without exactly one leader %v", s.samples, s.discarded, s.maxNoLeader)
	if s.overlaps > 0 {
		t.Errorf("two leaders at once in %d samples: %s", s.overlaps, strings.Join(s.overlapAt, "; "))
	}
	// The sampler sleeps 50µs between samples: thousands per second when idle, hundreds
	// on a loaded machine.
	if s.samples < 200 {
		t.Errorf("only %d samples; the check saw too little", s.samples)
	}
}

// waitLeader waits until exactly one of cands leads and returns it.
func waitLeader(t *testing.T, cands []*candidate, within time.Duration) (*candidate, time.Duration) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		var leaders []*candidate
		for _, c := range cands {
			if c.e.IsLeader() {
				leaders = append(leaders, c)
			}
		}
		if len(leaders) == 1 {
			return leaders[0], time.Since(start)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no single leader within %v", within)
	return nil, 0
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

func TestExactlyOneLeads(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d candidates: one leads at a time and another takes over within twice the lease duration when it stops", n), func(t *testing.T) {
			store := leasetest.NewStore()
			store.ReadDelay = 20 * time.Millisecond
			gate := make(chan struct{})
			var cands []*candidate
			for i := range n {
				cands = append(cands, startCandidate(t, store, fast, fmt.Sprintf("replica-%d", i), gate))
			}
			smp := startSampler(cands, fast.RetryPeriod/2)
			close(gate) // all at once: each reads "no lease" and tries to create it
			defer smp.finish(t)

			live := cands
			leader, _ := waitLeader(t, live, 2*fast.LeaseDuration)
			for len(live) > 1 {
				// Longer than a lease duration: the leader must keep the lease by renewing it.
				time.Sleep(fast.LeaseDuration + fast.LeaseDuration/8)
				if !leader.e.IsLeader() {
					t.Fatalf("%s lost the lease while renewing it", leader.e.Identity())
				}
				for _, c := range live {
					if c != leader && c.e.Leader() != leader.e.Identity() {
						t.Errorf("%s observes leader %q, want %q", c.e.Identity(), c.e.Leader(), leader.e.Identity())
					}
				}
				leader.stop(t)
				if leader.e.IsLeader() {
					t.Fatalf("%s still leads after Run returned", leader.e.Identity())
				}
				live = without(live, leader)
				var took time.Duration
				leader, took = waitLeader(t, live, 2*fast.LeaseDuration)
				t.Logf("%s took over after %v", leader.e.Identity(), took)
			}
			leader.stop(t)
			if h := store.Holder(testNS, testLease); h != "" {
				t.Errorf("lease held by %q after every candidate stopped; the last leader did not release it", h)
			}
			conflicts := store.Conflicts()
			if conflicts < n-1 {
				t.Errorf("%d writes refused as conflicts, want at least %d: the candidates did not race for the lease", conflicts, n-1)
			}
			for _, c := range cands {
				c.checkTerms(t)
			}
		})
	}
}

func TestFailingRenewalsStopLeadership(t *testing.T) {
	cfg := Config{LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 250 * time.Millisecond}
	store := leasetest.NewStore()
	a := startCandidate(t, store, cfg, "replica-a", nil)
	if l, _ := waitLeader(t, []*candidate{a}, 2*cfg.LeaseDuration); l != a {
		t.Fatal("replica-a did not lead alone")
	}
	b := startCandidate(t, store, cfg, "replica-b", nil)
	cands := []*candidate{a, b}
	smp := startSampler(cands, cfg.RetryPeriod/2)
	defer smp.finish(t)
	time.Sleep(cfg.LeaseDuration) // b is following, a renewing

	a.mu.Lock()
	termCtx := a.ctxs[len(a.ctxs)-1]
	a.mu.Unlock()
	a.faults.RejectWrites.Store(true)

	var flipped, cancelled time.Time
	for deadline := time.Now().Add(2 * cfg.LeaseDuration); time.Now().Before(deadline) && (flipped.IsZero() || cancelled.IsZero()); {
		now := time.Now()
		if flipped.IsZero() && !a.e.IsLeader() {
			flipped = now
		}
		if cancelled.IsZero() && termCtx.Err() != nil {
			cancelled = now
		}
		time.Sleep(time.Millisecond)
	}
	first := time.Unix(0, a.faults.FirstReject.Load())
	if flipped.IsZero() || cancelled.IsZero() {
		t.Fatalf("with every renewal refused: IsLeader false at %v, OnStartedLeading ctx cancelled at %v", flipped, cancelled)
	}
	t.Logf("first refused renewal, then IsLeader false after %v and the leader's ctx cancelled after %v", flipped.Sub(first), cancelled.Sub(first))
	if d := flipped.Sub(first); d > cfg.RenewDeadline {
		t.Errorf("IsLeader false %v after the first refused renewal, want within the renew deadline %v", d, cfg.RenewDeadline)
	}
	if d := cancelled.Sub(first); d > cfg.RenewDeadline {
		t.Errorf("OnStartedLeading ctx cancelled %v after the first refused renewal, want within %v", d, cfg.RenewDeadline)
	}

	leader, _ := waitLeader(t, cands, 2*cfg.LeaseDuration)
	if leader != b {
		t.Fatalf("%s leads, want replica-b", leader.e.Identity())
	}
	if took := time.Since(first); took > 2*cfg.LeaseDuration {
		t.Errorf("replica-b took over %v after replica-a's renewals began failing, want within %v", took, 2*cfg.LeaseDuration)
	}
	// replica-a recovers and follows; the sampler checks it never leads beside replica-b.
	a.faults.RejectWrites.Store(false)
	time.Sleep(cfg.LeaseDuration)
	if !b.e.IsLeader() || a.e.IsLeader() {
		t.Errorf("after replica-a recovered: a leads %v, b leads %v; want b alone", a.e.IsLeader(), b.e.IsLeader())
	}
	a.stop(t)
	b.stop(t)
	a.checkTerms(t)
	b.checkTerms(t)
}

// Without the store's resourceVersion checks (the fake clientset alone) two candidates both
// win; the sampler must see it, or the tests above prove nothing.
func TestSamplerSeesTwoLeadersWithoutConflictChecks(t *testing.T) {
	store := leasetest.NewStore()
	store.ReadDelay = 20 * time.Millisecond
	store.Lax = true
	gate := make(chan struct{})
	cands := []*candidate{
		startCandidate(t, store, fast, "replica-0", gate),
		startCandidate(t, store, fast, "replica-1", gate),
	}
	smp := startSampler(cands, fast.RetryPeriod/2)
	close(gate)
	time.Sleep(fast.LeaseDuration)
	smp.end()
	if smp.overlaps == 0 {
		t.Errorf("no overlap seen in %d samples although both candidates wrote the lease unchecked", smp.samples)
	}
}
