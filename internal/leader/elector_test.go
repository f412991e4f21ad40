package leader

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// handover bounds how long a follower takes to win a lease its leader released: its next
// attempt comes at most a jittered retry period later, and a read already under way when the
// lease was released costs one more read. Waiting for the lease to expire would take about a
// lease duration.
var handover = time.Duration((1+JitterFactor)*float64(defaults.RetryPeriod)) + 2*readDelay

func TestExactlyOneLeads(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d candidates: one leads at a time and another takes over within twice the lease duration when it stops", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { exactlyOneLeads(t, n) })
		})
	}
}

func exactlyOneLeads(t *testing.T, n int) {
	cfg := defaults
	cl := newCluster(t, cfg)
	cl.store.ReadDelay = readDelay
	gate := make(chan struct{})
	var cands []*candidate
	for i := range n {
		cands = append(cands, cl.start(fmt.Sprintf("replica-%d", i), gate))
	}
	smp := startSampler(cands)
	close(gate) // all at once: each reads "no lease" and tries to create it
	defer smp.finish(t)

	live := cands
	leader, _ := cl.waitLeader(live, 2*cfg.LeaseDuration)
	for len(live) > 1 {
		// Longer than a lease duration: the leader must keep the lease by renewing it, in one
		// term (losing and winning it back is losing it too).
		terms := leader.terms()
		pass(cfg.LeaseDuration + cfg.LeaseDuration/8)
		if !leader.e.IsLeader() || leader.terms() != terms {
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
		leader, took = cl.waitLeader(live, 2*cfg.LeaseDuration)
		t.Logf("%s took over after %v", leader.e.Identity(), took)
		// The stopped leader released the lease on its way out, so nobody waits for it to expire.
		if took > handover {
			t.Errorf("%s took over %v after the leader stopped, want within %v: the lease was not released at once", leader.e.Identity(), took, handover)
		}
	}
	leader.stop(t)
	if h := cl.store.Holder(testNS, testLease); h != "" {
		t.Errorf("lease held by %q after every candidate stopped; the last leader did not release it", h)
	}
	conflicts := cl.store.Conflicts()
	if conflicts < n-1 {
		t.Errorf("%d writes refused as conflicts, want at least %d: the candidates did not race for the lease", conflicts, n-1)
	}
	for _, c := range cands {
		c.checkTerms(t)
	}
}

func TestFailingRenewalsStopLeadership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := defaults
		cl := newCluster(t, cfg)
		a := cl.start("replica-a", nil)
		if l, _ := cl.waitLeader([]*candidate{a}, 2*cfg.LeaseDuration); l != a {
			t.Fatal("replica-a did not lead alone")
		}
		b := cl.start("replica-b", nil)
		cands := []*candidate{a, b}
		smp := startSampler(cands)
		defer smp.finish(t)
		pass(cfg.LeaseDuration) // b is following, a renewing

		termCtx := a.termCtx()
		cancelled := make(chan time.Time, 1)
		go func() {
			<-termCtx.Done()
			cancelled <- time.Now()
		}()
		a.faults.RejectWrites.Store(true)
		pass(cfg.RetryPeriod) // a renews once a retry period
		if a.faults.FirstReject.Load() == 0 {
			t.Fatalf("replica-a attempted no renewal within a retry period %v", cfg.RetryPeriod)
		}
		first := time.Unix(0, a.faults.FirstReject.Load())
		// The Elector promises to stop within the renew deadline of the last renewal that got
		// through, sooner than client-go's deadline, which counts from the first failed one.
		last := cl.store.RenewTime(testNS, testLease)
		if !last.Before(first) {
			t.Fatalf("lease last renewed at %v, not before the first refused renewal at %v", last, first)
		}
		pass(last.Add(cfg.RenewDeadline).Sub(time.Now()))
		leading := a.e.IsLeader()
		var at time.Time
		select {
		case at = <-cancelled:
			t.Logf("first refused renewal %v after the last successful one; the leader's ctx cancelled %v after the last", first.Sub(last), at.Sub(last))
		default:
		}
		if leading {
			t.Errorf("IsLeader true %v after the last successful renewal (%v after the first refused one), want false within the renew deadline %v",
				cfg.RenewDeadline, last.Add(cfg.RenewDeadline).Sub(first), cfg.RenewDeadline)
		}
		if at.IsZero() {
			t.Errorf("OnStartedLeading ctx not cancelled %v after the last successful renewal (%v after the first refused one), want within %v",
				cfg.RenewDeadline, last.Add(cfg.RenewDeadline).Sub(first), cfg.RenewDeadline)
		}

		leader, _ := cl.waitLeader(cands, 2*cfg.LeaseDuration)
		if leader != b {
			t.Fatalf("%s leads, want replica-b", leader.e.Identity())
		}
		if took := time.Since(first); took > 2*cfg.LeaseDuration {
			t.Errorf("replica-b took over %v after replica-a's renewals began failing, want within %v", took, 2*cfg.LeaseDuration)
		}
		// replica-a recovers and follows; the sampler checks it never leads beside replica-b.
		a.faults.RejectWrites.Store(false)
		pass(cfg.LeaseDuration)
		if !b.e.IsLeader() || a.e.IsLeader() {
			t.Errorf("after replica-a recovered: a leads %v, b leads %v; want b alone", a.e.IsLeader(), b.e.IsLeader())
		}
		a.stop(t)
		b.stop(t)
		a.checkTerms(t)
		b.checkTerms(t)
	})
}

// Without the store's resourceVersion checks (the fake clientset alone) two candidates both
// win; the sampler must see it, or the tests above prove nothing.
func TestSamplerSeesTwoLeadersWithoutConflictChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl := newCluster(t, defaults)
		cl.store.ReadDelay = readDelay
		cl.store.Lax = true
		gate := make(chan struct{})
		cands := []*candidate{cl.start("replica-0", gate), cl.start("replica-1", gate)}
		smp := startSampler(cands)
		close(gate)
		pass(defaults.LeaseDuration)
		smp.end()
		if smp.overlaps == 0 {
			t.Errorf("no overlap seen in %d samples although both candidates wrote the lease unchecked", smp.samples)
		}
	})
}
