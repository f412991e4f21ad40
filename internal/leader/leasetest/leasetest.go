// Package leasetest is an in-memory API server store for tests of leader election and of the
// state kept beside the Lease: Leases and ConfigMaps, where a create of an existing object fails
// with AlreadyExists and an update with a stale resourceVersion fails with Conflict, as the API
// server does. client-go's fake clientset alone enforces neither, so two candidates could both
// win, and a deposed leader's write could overwrite its successor's. Handler serves the same
// store over HTTP in the API server's REST shapes, so that the production REST clients are
// tested end to end. It is a test helper: production code must not import it.
package leasetest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// Store is the API server's storage of Leases and ConfigMaps as far as leader election and the
// state beside it rely on it: a create of an existing object fails with AlreadyExists and an
// update whose resourceVersion is not the stored one fails with Conflict (an update without one
// too: every writer here must say which version it replaces). client-go's fake clientset alone
// does neither, so two candidates could both win.
type Store struct {
	mu      sync.Mutex
	rv      int
	objects map[string]runtime.Object // by resource/namespace/name
	refused int                       // writes refused for a stale resourceVersion or an existing object
	// ReadDelay holds each Lease Get's answer back, widening every candidate's read-then-write
	// window so that concurrent candidates really race for the Lease.
	ReadDelay time.Duration
	// Lax drops both checks, like the fake clientset alone; only to show the tests notice.
	Lax bool
	// Clock paces ReadDelay and dates Faults.FirstReject; NewStore sets clock.Real{}, which
	// inside a testing/synctest bubble is the bubble's fake time, as the Elector sees it.
	Clock clock.Clock
}

// Faults are one candidate's injected API failures.
type Faults struct {
	RejectWrites atomic.Bool
	FirstReject  atomic.Int64 // unix nanoseconds (Store.Clock) of the first write refused since RejectWrites was set
	// Forbidden refuses creates as RBAC refuses a verb the Role does not grant.
	Forbidden atomic.Bool
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{objects: map[string]runtime.Object{}, Clock: clock.Real{}}
}

// Client is one candidate's view of the Leases; f may be nil.
func (s *Store) Client(f *Faults) coordinationv1client.CoordinationV1Interface {
	return s.clientset(f).CoordinationV1()
}

// ConfigMaps is one candidate's view of the ConfigMaps; f may be nil.
func (s *Store) ConfigMaps(f *Faults) corev1client.ConfigMapsGetter {
	return s.clientset(f).CoreV1()
}

func (s *Store) clientset(f *Faults) *fake.Clientset {
	cs := fake.NewClientset()
	for _, res := range []string{"leases", "configmaps"} {
		cs.PrependReactor("*", res, func(a k8stesting.Action) (bool, runtime.Object, error) {
			obj, err := s.react(a, f)
			if res == "leases" && a.GetVerb() == "get" && s.ReadDelay > 0 {
				_ = s.Clock.Sleep(context.Background(), s.ReadDelay) // Background never ends
			}
			return true, obj, err
		})
	}
	return cs
}

var resources = map[string]schema.GroupResource{
	"leases":     coordinationv1.Resource("leases"),
	"configmaps": corev1.Resource("configmaps"),
}

func (s *Store) react(a k8stesting.Action, f *Faults) (runtime.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gr := resources[a.GetResource().Resource]
	prefix := gr.Resource + "/" + a.GetNamespace() + "/"
	// By verb: an UpdateAction also satisfies CreateAction.
	switch a.GetVerb() {
	case "get":
		name := a.(k8stesting.GetAction).GetName()
		o, ok := s.objects[prefix+name]
		if !ok {
			return nil, apierrors.NewNotFound(gr, name)
		}
		return o.DeepCopyObject(), nil
	case "create":
		if err := f.reject(s.Clock); err != nil {
			return nil, err
		}
		o := a.(k8stesting.CreateAction).GetObject().DeepCopyObject()
		m, err := meta.Accessor(o)
		if err != nil {
			return nil, err
		}
		if f != nil && f.Forbidden.Load() {
			return nil, apierrors.NewForbidden(gr, m.GetName(), fmt.Errorf("create is not granted"))
		}
		if _, ok := s.objects[prefix+m.GetName()]; ok && !s.Lax {
			s.refused++
			return nil, apierrors.NewAlreadyExists(gr, m.GetName())
		}
		return s.store(prefix+m.GetName(), o, m), nil
	case "update":
		if err := f.reject(s.Clock); err != nil {
			return nil, err
		}
		o := a.(k8stesting.UpdateAction).GetObject().DeepCopyObject()
		m, err := meta.Accessor(o)
		if err != nil {
			return nil, err
		}
		old, ok := s.objects[prefix+m.GetName()]
		if !ok {
			return nil, apierrors.NewNotFound(gr, m.GetName())
		}
		stored := ""
		if om, err := meta.Accessor(old); err == nil {
			stored = om.GetResourceVersion()
		}
		if m.GetResourceVersion() != stored && !s.Lax {
			s.refused++
			return nil, apierrors.NewConflict(gr, m.GetName(),
				fmt.Errorf("resourceVersion %q, stored %q", m.GetResourceVersion(), stored))
		}
		return s.store(prefix+m.GetName(), o, m), nil
	}
	return nil, fmt.Errorf("store: %s of %s not supported", a.GetVerb(), gr.Resource)
}

// store keeps o (whose meta is m) under key at the next resourceVersion.
func (s *Store) store(key string, o runtime.Object, m metav1.Object) runtime.Object {
	s.rv++
	m.SetResourceVersion(strconv.Itoa(s.rv))
	s.objects[key] = o
	return o.DeepCopyObject()
}

func (f *Faults) reject(c clock.Clock) error {
	if f == nil || !f.RejectWrites.Load() {
		return nil
	}
	f.FirstReject.CompareAndSwap(0, c.Now().UnixNano())
	return apierrors.NewServiceUnavailable("injected failure")
}

func (s *Store) lease(ns, name string) *coordinationv1.Lease {
	l, _ := s.objects["leases/"+ns+"/"+name].(*coordinationv1.Lease)
	return l
}

// Holder is the stored Lease's holder ("" when released or absent).
func (s *Store) Holder(ns, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lease(ns, name)
	if l == nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// RenewTime is the stored Lease's renew time: when its holder last renewed it (zero when absent).
func (s *Store) RenewTime(ns, name string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lease(ns, name)
	if l == nil || l.Spec.RenewTime == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Time
}

// ConfigMap is a copy of the stored ConfigMap, nil when absent.
func (s *Store) ConfigMap(ns, name string) *corev1.ConfigMap {
	s.mu.Lock()
	defer s.mu.Unlock()
	cm, _ := s.objects["configmaps/"+ns+"/"+name].(*corev1.ConfigMap)
	return cm.DeepCopy()
}

// Conflicts is how many writes were refused for a stale resourceVersion or an existing object.
func (s *Store) Conflicts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}
