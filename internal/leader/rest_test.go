package leader

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"
)

// restLeasesFor is the production Lease client of namespace ns over the store served on
// loopback as one candidate (f) sees it.
func restLeasesFor(t *testing.T, s *leasetest.Store, f *leasetest.Faults) Leases {
	t.Helper()
	srv := httptest.NewServer(s.Handler(f))
	t.Cleanup(srv.Close)
	l, err := NewLeases(&rest.Config{Host: srv.URL}, testNS)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The production client speaks the API server's Leases API, and the API server's refusals
// reach the election as the errors it tells apart.
func TestTheRESTClientSpeaksTheLeasesAPI(t *testing.T) {
	ctx := t.Context()
	s := leasetest.NewStore()
	f := &leasetest.Faults{}
	a, b := restLeasesFor(t, s, f), restLeasesFor(t, s, nil)
	if _, err := a.Get(ctx, testLease, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get of an absent lease: %v", err)
	}
	f.Forbidden.Store(true)
	holder := "me"
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: testLease}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
	if _, err := a.Create(ctx, lease, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a create RBAC refuses: %v", err)
	}
	f.Forbidden.Store(false)
	created, err := a.Create(ctx, lease, metav1.CreateOptions{})
	if err != nil || created.ResourceVersion == "" || s.Holder(testNS, testLease) != "me" {
		t.Fatalf("create: %+v %v", created, err)
	}
	if _, err := b.Create(ctx, lease, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("a second create: %v", err)
	}
	got, err := b.Get(ctx, testLease, metav1.GetOptions{})
	if err != nil || got.ResourceVersion != created.ResourceVersion || *got.Spec.HolderIdentity != "me" {
		t.Fatalf("get: %+v %v", got, err)
	}
	other := "other"
	got.Spec.HolderIdentity = &other
	updated, err := b.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil || updated.ResourceVersion == created.ResourceVersion || s.Holder(testNS, testLease) != "other" {
		t.Fatalf("update: %+v %v", updated, err)
	}
	if _, err := a.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("an update at a stale resourceVersion: %v", err)
	}
	if s.Holder(testNS, testLease) != "other" {
		t.Fatal("a refused update changed the lease")
	}
	f.RejectWrites.Store(true)
	if _, err := a.Update(ctx, updated, metav1.UpdateOptions{}); !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("a write while the server fails: %v", err)
	}
}

// Two Electors on the production client, over the store served on loopback, in real time with
// short durations: one leads, and when it stops it releases the lease and the other takes over
// long before the lease would have expired.
func TestElectionOverHTTP(t *testing.T) {
	cfg := Config{Namespace: testNS, LeaseName: testLease, LeaseDuration: 10 * time.Second,
		RenewDeadline: 5 * time.Second, RetryPeriod: 100 * time.Millisecond}
	s := leasetest.NewStore()
	type cand struct {
		e      *Elector
		cancel context.CancelFunc
		done   chan error
		led    chan struct{}
	}
	start := func(id string) *cand {
		c := cfg
		c.Identity = id
		e, err := New(c, restLeasesFor(t, s, nil), slog.New(slog.NewTextHandler(testWriter{t}, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		k := &cand{e: e, cancel: cancel, done: make(chan error, 1), led: make(chan struct{}, 1)}
		go func() {
			k.done <- e.Run(ctx, Callbacks{OnStartedLeading: func(ctx context.Context) {
				k.led <- struct{}{}
				<-ctx.Done()
			}})
		}()
		t.Cleanup(func() { cancel(); <-k.done })
		return k
	}
	wait := func(ch <-chan struct{}, what string) {
		t.Helper()
		timeout := clock.Real{}.NewTimer(20 * time.Second)
		defer timeout.Stop()
		select {
		case <-ch:
		case <-timeout.C():
			t.Fatalf("%s: not within 20 s", what)
		}
	}
	// Either may win; the loser of the race follows.
	a, b := start("replica-a"), start("replica-b")
	first := make(chan *cand, 2)
	go func() {
		select {
		case <-a.led:
			first <- a
		case <-b.led:
			first <- b
		}
	}()
	timeout := clock.Real{}.NewTimer(20 * time.Second)
	defer timeout.Stop()
	var leader *cand
	select {
	case leader = <-first:
	case <-timeout.C():
		t.Fatal("nobody led within 20 s")
	}
	follower := a
	if leader == a {
		follower = b
	}
	if !leader.e.IsLeader() || follower.e.IsLeader() {
		t.Fatalf("leader leads %v, follower leads %v", leader.e.IsLeader(), follower.e.IsLeader())
	}
	if h := s.Holder(testNS, testLease); h != leader.e.Identity() {
		t.Fatalf("lease held by %q, want %q", h, leader.e.Identity())
	}
	real := clock.Real{}
	stopped := real.Now()
	leader.cancel()
	if err := <-leader.done; err != nil {
		t.Fatal(err)
	}
	leader.done <- nil // for the cleanup
	wait(follower.led, follower.e.Identity()+" taking over")
	if took := real.Now().Sub(stopped); took >= cfg.LeaseDuration {
		t.Errorf("took over %v after the leader stopped: the lease was not released", took)
	}
	if h := s.Holder(testNS, testLease); h != follower.e.Identity() {
		t.Errorf("lease held by %q, want %q", h, follower.e.Identity())
	}
}
