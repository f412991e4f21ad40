package leader

import (
	"errors"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"
)

func TestLeaseStoreEnforcesResourceVersions(t *testing.T) {
	ctx := t.Context()
	s := leasetest.NewStore()
	a, b := s.Client(nil).Leases("ns"), s.Client(nil).Leases("ns")
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}}
	created, err := a.Create(ctx, lease, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a second create of the lease fails with AlreadyExists", func(t *testing.T) {
		if _, err := b.Create(ctx, lease, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("an update at the stored resourceVersion succeeds and moves it", func(t *testing.T) {
		got, err := b.Get(ctx, "l", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		updated, err := b.Update(ctx, got, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if updated.ResourceVersion == created.ResourceVersion {
			t.Errorf("resourceVersion stayed %s", updated.ResourceVersion)
		}
	})
	t.Run("an update at a stale resourceVersion fails with Conflict", func(t *testing.T) {
		if _, err := a.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a candidate whose writes are rejected gets a server error", func(t *testing.T) {
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s.Clock = clock.NewFake(at)
		defer func() { s.Clock = clock.Real{} }()
		f := &leasetest.Faults{}
		f.RejectWrites.Store(true)
		c := s.Client(f).Leases("ns")
		got, err := c.Get(ctx, "l", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsServiceUnavailable(err) {
			t.Fatalf("got %v", err)
		}
		if got := f.FirstReject.Load(); got != at.UnixNano() {
			t.Errorf("first rejection recorded at %v, want %v from the store's clock", time.Unix(0, got).UTC(), at)
		}
	})
	var status apierrors.APIStatus
	if _, err := a.Get(ctx, "missing", metav1.GetOptions{}); !errors.As(err, &status) || !apierrors.IsNotFound(err) {
		t.Errorf("get of a missing lease: %v", err)
	}
}
