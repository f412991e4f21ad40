package leader

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// leaseStore is the API server's Lease storage as far as leader election relies on it: a
// create of an existing Lease fails with AlreadyExists and an update whose resourceVersion is
// not the stored one fails with Conflict. client-go's fake clientset alone does neither, so
// two candidates could both win.
type leaseStore struct {
	mu        sync.Mutex
	rv        int
	leases    map[string]*coordinationv1.Lease
	conflicts int // writes refused for a stale resourceVersion or an existing Lease
	// readDelay holds each Get's answer back, widening every candidate's read-then-write
	// window so that concurrent candidates really race for the Lease.
	readDelay time.Duration
	// lax drops both checks, like the fake clientset alone; only to show the tests notice.
	lax bool
}

// faults are one candidate's injected API failures.
type faults struct {
	rejectWrites atomic.Bool
	firstReject  atomic.Int64 // unix nanoseconds of the first write refused since rejectWrites was set
}

func newLeaseStore() *leaseStore {
	return &leaseStore{leases: map[string]*coordinationv1.Lease{}}
}

// client is one candidate's view of the store; f may be nil.
func (s *leaseStore) client(f *faults) kubernetes.Interface {
	cs := fake.NewClientset()
	cs.PrependReactor("*", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := s.react(a, f)
		if a.GetVerb() == "get" && s.readDelay > 0 {
			time.Sleep(s.readDelay)
		}
		return true, obj, err
	})
	return cs
}

var leasesResource = coordinationv1.Resource("leases")

func (s *leaseStore) react(a k8stesting.Action, f *faults) (runtime.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// By verb: an UpdateAction also satisfies CreateAction.
	switch a.GetVerb() {
	case "get":
		name := a.(k8stesting.GetAction).GetName()
		l, ok := s.leases[a.GetNamespace()+"/"+name]
		if !ok {
			return nil, apierrors.NewNotFound(leasesResource, name)
		}
		return l.DeepCopy(), nil
	case "create":
		if err := f.reject(); err != nil {
			return nil, err
		}
		l := a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		key := a.GetNamespace() + "/" + l.Name
		if _, ok := s.leases[key]; ok && !s.lax {
			s.conflicts++
			return nil, apierrors.NewAlreadyExists(leasesResource, l.Name)
		}
		return s.store(key, l), nil
	case "update":
		if err := f.reject(); err != nil {
			return nil, err
		}
		l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		key := a.GetNamespace() + "/" + l.Name
		old, ok := s.leases[key]
		if !ok {
			return nil, apierrors.NewNotFound(leasesResource, l.Name)
		}
		if l.ResourceVersion != old.ResourceVersion && !s.lax {
			s.conflicts++
			return nil, apierrors.NewConflict(leasesResource, l.Name,
				fmt.Errorf("resourceVersion %q, stored %q", l.ResourceVersion, old.ResourceVersion))
		}
		return s.store(key, l), nil
	}
	return nil, fmt.Errorf("lease store: %s not supported", a.GetVerb())
}

func (s *leaseStore) store(key string, l *coordinationv1.Lease) *coordinationv1.Lease {
	s.rv++
	l.ResourceVersion = strconv.Itoa(s.rv)
	s.leases[key] = l
	return l.DeepCopy()
}

func (f *faults) reject() error {
	if f == nil || !f.rejectWrites.Load() {
		return nil
	}
	f.firstReject.CompareAndSwap(0, time.Now().UnixNano())
	return apierrors.NewServiceUnavailable("injected failure")
}

// holder is the stored Lease's holder ("" when released or absent).
func (s *leaseStore) holder(ns, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases[ns+"/"+name]
	if !ok || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func TestLeaseStoreEnforcesResourceVersions(t *testing.T) {
	ctx := t.Context()
	s := newLeaseStore()
	a, b := s.client(nil).CoordinationV1().Leases("ns"), s.client(nil).CoordinationV1().Leases("ns")
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
		f := &faults{}
		f.rejectWrites.Store(true)
		c := s.client(f).CoordinationV1().Leases("ns")
		got, err := c.Get(ctx, "l", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsServiceUnavailable(err) {
			t.Fatalf("got %v", err)
		}
		if f.firstReject.Load() == 0 {
			t.Error("first rejection time not recorded")
		}
	})
	var status apierrors.APIStatus
	if _, err := a.Get(ctx, "missing", metav1.GetOptions{}); !errors.As(err, &status) || !apierrors.IsNotFound(err) {
		t.Errorf("get of a missing lease: %v", err)
	}
}
