package leader

import (
	"testing"
	"testing/synctest"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"
)

// storeLease writes the Lease as holder would have written it at at, with duration seconds.
func storeLease(t *testing.T, leases Leases, holder string, at time.Time, seconds int32) {
	t.Helper()
	mt, zero := metav1.NewMicroTime(at), int32(0)
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: testLease},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds,
			AcquireTime: &mt, RenewTime: &mt, LeaseTransitions: &zero}}
	if old, err := leases.Get(t.Context(), testLease, metav1.GetOptions{}); err == nil {
		l.ResourceVersion = old.ResourceVersion
		if _, err := leases.Update(t.Context(), l, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := leases.Create(t.Context(), l, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseOnlyALeaseWeHold(t *testing.T) {
	for _, tc := range []struct {
		name, holder string
		released     bool
	}{
		{"our lease is released", "me", true},
		{"a lease another replica took meanwhile is left alone", "other", false},
		{"a lease nobody holds is left alone", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := leasetest.NewStore()
			leases := store.Client(nil).Leases(testNS)
			e, err := New(Config{Namespace: testNS, LeaseName: testLease, Identity: "me"}, leases, nil)
			if err != nil {
				t.Fatal(err)
			}
			// We held it once; the lease has since been written as tc says.
			c := &campaign{cancel: func() {}}
			if !e.tryAcquireOrRenew(t.Context(), c) {
				t.Fatal("positive control: an absent lease is acquired")
			}
			storeLease(t, leases, tc.holder, time.Now(), 15)
			before := store.Conflicts()
			e.release(t.Context(), c)
			l, err := leases.Get(t.Context(), testLease, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			released := *l.Spec.HolderIdentity == "" && *l.Spec.LeaseDurationSeconds == 1
			if released != tc.released {
				t.Fatalf("released %v, want %v (holder %q)", released, tc.released, *l.Spec.HolderIdentity)
			}
			if !released && *l.Spec.HolderIdentity != tc.holder {
				t.Errorf("holder %q, want %q untouched", *l.Spec.HolderIdentity, tc.holder)
			}
			if store.Conflicts() != before {
				t.Errorf("release wrote at a stale resourceVersion")
			}
		})
	}
}

// The deadline a renewal sets runs from when it was sent on the Elector's clock, and the Lease
// carries that clock's time.
func TestRenewalIsDatedByTheInjectedClock(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := leasetest.NewStore()
	e, err := New(Config{Namespace: testNS, LeaseName: testLease, Identity: "me", Clock: clock.NewFake(at)}, store.Client(nil).Leases(testNS), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &campaign{cancel: func() {}}
	if !e.tryAcquireOrRenew(t.Context(), c) {
		t.Fatal("an absent lease is acquired")
	}
	if !c.lastWrite.Equal(at) {
		t.Errorf("renewal dated %v, want %v from the injected clock", c.lastWrite, at)
	}
	if rt := store.RenewTime(testNS, testLease); !rt.Equal(at) {
		t.Errorf("lease renew time %v, want %v", rt, at)
	}
}

// A candidate takes a lease held by another only once the holder's record has stayed unchanged
// for its lease duration by the candidate's own clock, whatever renewTime says: the holder's
// clock may be far ahead or behind.
func TestTakeOverCountsFromOurObservation(t *testing.T) {
	for _, skew := range []time.Duration{-time.Hour, 0, time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			store := leasetest.NewStore()
			leases := store.Client(nil).Leases(testNS)
			storeLease(t, leases, "other", clk.Now().Add(skew), 15)
			e, err := New(Config{Namespace: testNS, LeaseName: testLease, Identity: "me", Clock: clk}, leases, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := &campaign{cancel: func() {}}
			if e.tryAcquireOrRenew(t.Context(), c) {
				t.Fatal("took a lease at first sight")
			}
			clk.Advance(15*time.Second - time.Millisecond)
			if e.tryAcquireOrRenew(t.Context(), c) {
				t.Fatal("took a lease before its duration passed since we first saw the record")
			}
			// The holder renews: the wait starts again.
			storeLease(t, leases, "other", clk.Now().Add(skew), 15)
			clk.Advance(2 * time.Millisecond)
			if e.tryAcquireOrRenew(t.Context(), c) {
				t.Fatal("took a lease its holder had just renewed")
			}
			clk.Advance(15 * time.Second)
			if !e.tryAcquireOrRenew(t.Context(), c) {
				t.Fatal("did not take a lease unchanged for its duration")
			}
			l, _ := leases.Get(t.Context(), testLease, metav1.GetOptions{})
			if *l.Spec.HolderIdentity != "me" || *l.Spec.LeaseTransitions != 1 || !l.Spec.AcquireTime.Time.Equal(clk.Now()) {
				t.Errorf("lease after take-over: %+v", l.Spec)
			}
			// A renewal keeps the acquire time and the transitions.
			clk.Advance(2 * time.Second)
			if !e.tryAcquireOrRenew(t.Context(), c) {
				t.Fatal("renewal failed")
			}
			r, _ := leases.Get(t.Context(), testLease, metav1.GetOptions{})
			if *r.Spec.LeaseTransitions != 1 || !r.Spec.AcquireTime.Equal(l.Spec.AcquireTime) || !r.Spec.RenewTime.Time.Equal(clk.Now()) {
				t.Errorf("lease after renewal: %+v", r.Spec)
			}
		})
	}
}

// A leader whose renewal finds the lease naming another holder (written behind its back) stops
// leading at once rather than at its renew deadline, and reports the new holder.
func TestALeaseTakenBehindOurBackEndsTheTerm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl := newCluster(t, defaults)
		a := cl.start("replica-a", nil)
		if l, _ := cl.waitLeader([]*candidate{a}, 2*defaults.LeaseDuration); l != a {
			t.Fatal("replica-a did not lead")
		}
		termCtx := a.termCtx()
		storeLease(t, cl.store.Client(nil).Leases(testNS), "intruder", time.Now(), 15)
		pass(defaults.RetryPeriod)
		if a.e.IsLeader() || termCtx.Err() == nil {
			t.Fatalf("replica-a leads %v, term ctx %v, a retry period after the lease named another holder", a.e.IsLeader(), termCtx.Err())
		}
		if a.e.Leader() != "intruder" {
			t.Errorf("leader observed %q, want intruder", a.e.Leader())
		}
		if h := cl.store.Holder(testNS, testLease); h != "intruder" {
			t.Errorf("holder %q: replica-a wrote over a lease it saw held", h)
		}
		a.stop(t)
		if h := cl.store.Holder(testNS, testLease); h != "intruder" {
			t.Errorf("holder %q after replica-a stopped: it released a lease it did not hold", h)
		}
		a.checkTerms(t)
	})
}
