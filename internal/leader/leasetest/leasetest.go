// Package leasetest is an in-memory Lease store for tests of leader election: a create of an
// existing Lease fails with AlreadyExists and an update with a stale resourceVersion fails with
// Conflict, as the API server does. client-go's fake clientset alone enforces neither, so two
// candidates could both win. It is a test helper: production code must not import it.
package leasetest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// Store is the API server's Lease storage as far as leader election relies on it: a
// create of an existing Lease fails with AlreadyExists and an update whose resourceVersion is
// not the stored one fails with Conflict. client-go's fake clientset alone does neither, so
// two candidates could both win.
type Store struct {
	mu      sync.Mutex
	rv      int
	leases  map[string]*coordinationv1.Lease
	refused int // writes refused for a stale resourceVersion or an existing Lease
	// ReadDelay holds each Get's answer back, widening every candidate's read-then-write
	// window so that concurrent candidates really race for the Lease.
	ReadDelay time.Duration
	// Lax drops both checks, like the fake clientset alone; only to show the tests notice.
	Lax bool
	// Clock paces ReadDelay and dates Faults.FirstReject; NewStore sets clock.Real{}, which
	// inside a testing/synctest bubble is the bubble's fake time, as client-go's elector sees it.
	Clock clock.Clock
}

// Faults are one candidate's injected API failures.
type Faults struct {
	RejectWrites atomic.Bool
	FirstReject  atomic.Int64 // unix nanoseconds (Store.Clock) of the first write refused since RejectWrites was set
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{leases: map[string]*coordinationv1.Lease{}, Clock: clock.Real{}}
}

// Client is one candidate's view of the store; f may be nil.
func (s *Store) Client(f *Faults) coordinationv1client.CoordinationV1Interface {
	cs := fake.NewClientset()
	cs.PrependReactor("*", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := s.react(a, f)
		if a.GetVerb() == "get" && s.ReadDelay > 0 {
			_ = s.Clock.Sleep(context.Background(), s.ReadDelay) // Background never ends
		}
		return true, obj, err
	})
	return cs.CoordinationV1()
}

var leasesResource = coordinationv1.Resource("leases")

func (s *Store) react(a k8stesting.Action, f *Faults) (runtime.Object, error) {
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
		if err := f.reject(s.Clock); err != nil {
			return nil, err
		}
		l := a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		key := a.GetNamespace() + "/" + l.Name
		if _, ok := s.leases[key]; ok && !s.Lax {
			s.refused++
			return nil, apierrors.NewAlreadyExists(leasesResource, l.Name)
		}
		return s.store(key, l), nil
	case "update":
		if err := f.reject(s.Clock); err != nil {
			return nil, err
		}
		l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		key := a.GetNamespace() + "/" + l.Name
		old, ok := s.leases[key]
		if !ok {
			return nil, apierrors.NewNotFound(leasesResource, l.Name)
		}
		if l.ResourceVersion != old.ResourceVersion && !s.Lax {
			s.refused++
			return nil, apierrors.NewConflict(leasesResource, l.Name,
				fmt.Errorf("resourceVersion %q, stored %q", l.ResourceVersion, old.ResourceVersion))
		}
		return s.store(key, l), nil
	}
	return nil, fmt.Errorf("lease store: %s not supported", a.GetVerb())
}

func (s *Store) store(key string, l *coordinationv1.Lease) *coordinationv1.Lease {
	s.rv++
	l.ResourceVersion = strconv.Itoa(s.rv)
	s.leases[key] = l
	return l.DeepCopy()
}

func (f *Faults) reject(c clock.Clock) error {
	if f == nil || !f.RejectWrites.Load() {
		return nil
	}
	f.FirstReject.CompareAndSwap(0, c.Now().UnixNano())
	return apierrors.NewServiceUnavailable("injected failure")
}

// Holder is the stored Lease's holder ("" when released or absent).
func (s *Store) Holder(ns, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases[ns+"/"+name]
	if !ok || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// RenewTime is the stored Lease's renew time: when its holder last renewed it (zero when absent).
func (s *Store) RenewTime(ns, name string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases[ns+"/"+name]
	if !ok || l.Spec.RenewTime == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Time
}

// Conflicts is how many writes were refused for a stale resourceVersion or an existing Lease.
func (s *Store) Conflicts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}
