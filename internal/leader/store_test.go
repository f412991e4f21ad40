package leader

import (
	"errors"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
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

// The state beside the Lease is held to the same rules: a deposed leader's stale write fails.
func TestConfigMapStoreEnforcesResourceVersions(t *testing.T) {
	ctx := t.Context()
	s := leasetest.NewStore()
	a, b := s.ConfigMaps(nil).ConfigMaps("ns"), s.ConfigMaps(nil).ConfigMaps("ns")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "state"}, Data: map[string]string{"k": "1"}}
	created, err := a.Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("a second create: %v", err)
	}
	got, err := b.Get(ctx, "state", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Data["k"] = "2"
	if _, err := b.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	created.Data["k"] = "stale"
	if _, err := a.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("a stale update: %v", err)
	}
	created.ResourceVersion = ""
	if _, err := a.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("an update that names no resourceVersion: %v", err)
	}
	if v := s.ConfigMap("ns", "state").Data["k"]; v != "2" {
		t.Fatalf("stored %q, want the fresh writer's", v)
	}
	if s.ConfigMap("ns", "absent") != nil || s.Holder("ns", "state") != "" {
		t.Fatal("an absent object, or a ConfigMap taken for a Lease")
	}
	f := &leasetest.Faults{}
	f.Forbidden.Store(true)
	if _, err := s.ConfigMaps(f).ConfigMaps("ns").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a create RBAC does not grant: %v", err)
	}
}
