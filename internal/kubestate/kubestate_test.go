package kubestate_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/kubestate"
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"
)

const (
	ns      = "vw"
	cmName  = "vastwatch-state"
	lease   = "vastwatch"
	realAPI = "https://console.vast.ai"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// cluster is one fake API server with its Lease, and the time every replica reads.
type cluster struct {
	t     *testing.T
	store *leasetest.Store
	clk   *clock.Fake
}

func newCluster(t *testing.T) *cluster {
	return &cluster{t: t, store: leasetest.NewStore(), clk: clock.NewFake(t0)}
}

// hold makes id the holder of the Lease from now on, as client-go's elector writes it: a new
// holder increments the transitions and sets the acquire time.
func (c *cluster) hold(id string) {
	c.t.Helper()
	ctx := context.Background()
	leases := c.store.Client(nil).Leases(ns)
	now := metav1.NewMicroTime(c.clk.Now())
	dur := int32(15)
	l, err := leases.Get(ctx, lease, metav1.GetOptions{})
	if err != nil {
		zero := int32(0)
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: lease, Namespace: ns},
			Spec: coordinationv1.LeaseSpec{LeaseTransitions: &zero}}
		l.Spec.HolderIdentity, l.Spec.AcquireTime, l.Spec.RenewTime, l.Spec.LeaseDurationSeconds = &id, &now, &now, &dur
		if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
			c.t.Fatal(err)
		}
		return
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != id {
		n := *l.Spec.LeaseTransitions + 1
		l.Spec.LeaseTransitions, l.Spec.AcquireTime = &n, &now
	}
	l.Spec.HolderIdentity, l.Spec.RenewTime, l.Spec.LeaseDurationSeconds = &id, &now, &dur
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// replica is one vastwatch process's state store.
func (c *cluster) replica(id string, cms corev1client.ConfigMapsGetter, leases coordinationv1client.LeasesGetter) *kubestate.Store {
	c.t.Helper()
	if cms == nil {
		cms = c.store.ConfigMaps(nil)
	}
	if leases == nil {
		leases = c.store.Client(nil)
	}
	s, err := kubestate.New(kubestate.Config{Namespace: ns, Name: cmName, LeaseName: lease, Identity: id, API: realAPI, Clock: c.clk}, cms.ConfigMaps(ns), leases.Leases(ns))
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

func (c *cluster) data(key string) string {
	cm := c.store.ConfigMap(ns, cmName)
	if cm == nil {
		return ""
	}
	return cm.Data[key]
}

func fenced(err error) bool {
	var fe *kubestate.FencedError
	return errors.As(err, &fe)
}

func TestOnlyTheClaimingHolderOfTheLeaseWrites(t *testing.T) {
	ctx := context.Background()
	t.Run("a replica that does not hold the lease can neither claim nor write", func(t *testing.T) {
		c := newCluster(t)
		a := c.replica("a", nil, nil)
		if err := a.Claim(ctx); err == nil {
			t.Fatal("claimed without a lease")
		}
		c.hold("b")
		if err := a.Claim(ctx); !fenced(err) {
			t.Fatalf("claim while b holds the lease: %v", err)
		}
		if err := a.Write("journal.json", []byte(`{}`)); !fenced(err) {
			t.Fatalf("write without a claim: %v", err)
		}
		if c.store.ConfigMap(ns, cmName) != nil {
			t.Fatal("a replica that never led created the state")
		}
	})
	t.Run("the leader claims, creating the configmap, writes, and every replica reads", func(t *testing.T) {
		c := newCluster(t)
		c.hold("a")
		a, b := c.replica("a", nil, nil), c.replica("b", nil, nil)
		if _, err := b.Read("journal.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("read before anything was written: %v", err)
		}
		if err := a.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		cm := c.store.ConfigMap(ns, cmName)
		if cm == nil || !strings.HasPrefix(cm.Annotations[kubestate.TermAnnotation], "a/0/") || cm.Annotations[kubestate.APIAnnotation] != realAPI {
			t.Fatalf("claimed configmap %+v", cm)
		}
		if err := a.Write("journal.json", []byte(`{"v":1}`)); err != nil {
			t.Fatal(err)
		}
		if err := a.Write("spend.json", []byte(`{"v":2}`)); err != nil {
			t.Fatal(err)
		}
		for _, r := range []*kubestate.Store{a, b} {
			got, err := r.Read("journal.json")
			if err != nil || string(got) != `{"v":1}` {
				t.Fatalf("read %q %v", got, err)
			}
		}
		if _, err := b.Read("other.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a key never written: %v", err)
		}
		if c.data("spend.json") != `{"v":2}` {
			t.Fatal("the second document's write was lost")
		}
	})
	t.Run("a claim is refused when the configmap may not be created", func(t *testing.T) {
		c := newCluster(t)
		c.hold("a")
		f := &leasetest.Faults{}
		f.Forbidden.Store(true)
		err := c.replica("a", c.store.ConfigMaps(f), nil).Claim(ctx)
		if err == nil || !strings.Contains(err.Error(), "vw/vastwatch-state does not exist") {
			t.Fatalf("claim: %v", err)
		}
	})
	t.Run("the state of another API is refused", func(t *testing.T) {
		c := newCluster(t)
		c.hold("a")
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cmName, Namespace: ns,
			Annotations: map[string]string{kubestate.APIAnnotation: "simulated seed=1"}}, Data: map[string]string{"spend.json": "x"}}
		if _, err := c.store.ConfigMaps(nil).ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		err := c.replica("a", nil, nil).Claim(ctx)
		if err == nil || !strings.Contains(err.Error(), "simulated seed=1") || !strings.Contains(err.Error(), realAPI) {
			t.Fatalf("claim: %v", err)
		}
		err = c.replica("plan", nil, nil).CheckAPI(ctx)
		if err == nil || !strings.Contains(err.Error(), "simulated seed=1") || !strings.Contains(err.Error(), realAPI) {
			t.Fatalf("check by a reader: %v", err)
		}
		if c.data("spend.json") != "x" {
			t.Fatal("the other API's state was touched")
		}
	})
	t.Run("a reader's check passes an absent configmap and one of its API, and writes nothing", func(t *testing.T) {
		c := newCluster(t)
		c.hold("a")
		if err := c.replica("plan", nil, nil).CheckAPI(ctx); err != nil {
			t.Fatalf("no configmap: %v", err)
		}
		if cm := c.store.ConfigMap(ns, cmName); cm != nil {
			t.Fatalf("the check made the configmap: %+v", cm)
		}
		if err := c.replica("a", nil, nil).Claim(ctx); err != nil {
			t.Fatal(err)
		}
		before := c.store.ConfigMap(ns, cmName).ResourceVersion
		if err := c.replica("plan", nil, nil).CheckAPI(ctx); err != nil {
			t.Fatalf("the configmap of its API: %v", err)
		}
		if after := c.store.ConfigMap(ns, cmName).ResourceVersion; after != before {
			t.Fatalf("resourceVersion %s after the check, %s before", after, before)
		}
	})
	t.Run("an expired lease writes nothing", func(t *testing.T) {
		c := newCluster(t)
		c.hold("a")
		a := c.replica("a", nil, nil)
		if err := a.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		c.clk.Advance(16 * time.Second) // no renewal within the lease duration
		if err := a.Write("journal.json", []byte(`{}`)); !fenced(err) {
			t.Fatalf("write after the lease expired: %v", err)
		}
	})
	t.Run("a document too large for a configmap is refused before it is sent", func(t *testing.T) {
		c := newCluster(t)
		c.hold("a")
		a := c.replica("a", nil, nil)
		if err := a.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		noise := make([]byte, kubestate.MaxBytes) // incompressible
		r := rand.New(rand.NewPCG(1, 2))
		for i := range noise {
			noise[i] = byte(r.Uint32())
		}
		err := a.Write("journal.json", noise)
		if err == nil || !strings.Contains(err.Error(), "bytes") || c.data("journal.json") != "" {
			t.Fatalf("write of %d bytes: %v", kubestate.MaxBytes, err)
		}
	})
}

// A deposed leader's write fails even when its process has not noticed it was deposed: the
// Lease names another holder, or the successor's claim moved the resourceVersion on.
func TestADeposedLeadersWriteIsRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("the lease moved on", func(t *testing.T) {
		c := newCluster(t)
		c.hold("a")
		a, b := c.replica("a", nil, nil), c.replica("b", nil, nil)
		if err := a.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Write("journal.json", []byte(`{"by":"a"}`)); err != nil {
			t.Fatal(err)
		}
		c.hold("b")
		if err := a.Write("journal.json", []byte(`{"by":"a, deposed"}`)); !fenced(err) {
			t.Fatalf("deposed write: %v", err)
		}
		if err := b.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Read("journal.json"); err != nil || string(got) != `{"by":"a"}` {
			t.Fatalf("the successor reads %q %v", got, err)
		}
		if a.Claimed() {
			t.Fatal("a refused write must drop the claim")
		}
	})
	t.Run("the successor claimed between the lease check and the update", func(t *testing.T) {
		c := newCluster(t)
		c.hold("a")
		var b *kubestate.Store
		// a reads the Lease (still its own), then b takes the Lease and claims the state before
		// a's update arrives.
		takeover := false
		slow := &afterLeaseGet{LeasesGetter: c.store.Client(nil), after: func() {
			if takeover {
				takeover = false
				c.hold("b")
				if err := b.Claim(ctx); err != nil {
					t.Error(err)
				}
			}
		}}
		a := c.replica("a", nil, slow)
		b = c.replica("b", nil, nil)
		if err := a.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Write("spend.json", []byte(`{"by":"a"}`)); err != nil {
			t.Fatal(err)
		}
		conflicts := c.store.Conflicts()
		takeover = true
		if err := a.Write("spend.json", []byte(`{"by":"a, deposed"}`)); !fenced(err) {
			t.Fatalf("deposed write: %v", err)
		}
		if c.store.Conflicts() == conflicts {
			t.Fatal("positive control: the deposed write should have reached the API server and been refused there")
		}
		if c.data("spend.json") != `{"by":"a"}` {
			t.Fatalf("the deposed leader's write landed: %q", c.data("spend.json"))
		}
		if err := b.Write("spend.json", []byte(`{"by":"b"}`)); err != nil {
			t.Fatalf("the successor cannot write: %v", err)
		}
	})
}

// An update whose reply was lost may have been applied; the next write finds the ConfigMap
// still claimed by its term and goes on, instead of taking the conflict for a deposition.
func TestAWriteOfUnknownOutcomeIsFollowedByARead(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.hold("a")
	lossy := &lostReply{ConfigMapsGetter: c.store.ConfigMaps(nil)}
	a := c.replica("a", lossy, nil)
	if err := a.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	lossy.lose = true
	if err := a.Write("journal.json", []byte(`{"n":1}`)); err == nil || fenced(err) {
		t.Fatalf("a lost reply must be an error, not a deposition: %v", err)
	}
	if c.data("journal.json") != `{"n":1}` {
		t.Fatal("positive control: the update should have been applied")
	}
	lossy.lose = false
	if err := a.Write("journal.json", []byte(`{"n":2}`)); err != nil {
		t.Fatalf("the write after a lost reply: %v", err)
	}
	if c.data("journal.json") != `{"n":2}` {
		t.Fatalf("stored %q", c.data("journal.json"))
	}
}

// afterLeaseGet runs after after each Lease Get has answered.
type afterLeaseGet struct {
	coordinationv1client.LeasesGetter
	after func()
}

func (g *afterLeaseGet) Leases(namespace string) coordinationv1client.LeaseInterface {
	return &afterGet{LeaseInterface: g.LeasesGetter.Leases(namespace), after: g.after}
}

type afterGet struct {
	coordinationv1client.LeaseInterface
	after func()
}

func (g *afterGet) Get(ctx context.Context, name string, o metav1.GetOptions) (*coordinationv1.Lease, error) {
	l, err := g.LeaseInterface.Get(ctx, name, o)
	g.after()
	return l, err
}

// lostReply applies each ConfigMap update and, while lose is set, answers it with an error.
type lostReply struct {
	corev1client.ConfigMapsGetter
	lose bool
}

func (l *lostReply) ConfigMaps(namespace string) corev1client.ConfigMapInterface {
	return &lostUpdate{ConfigMapInterface: l.ConfigMapsGetter.ConfigMaps(namespace), l: l}
}

type lostUpdate struct {
	corev1client.ConfigMapInterface
	l *lostReply
}

func (u *lostUpdate) Update(ctx context.Context, cm *corev1.ConfigMap, o metav1.UpdateOptions) (*corev1.ConfigMap, error) {
	got, err := u.ConfigMapInterface.Update(ctx, cm, o)
	if err == nil && u.l.lose {
		return nil, context.DeadlineExceeded
	}
	return got, err
}

// A document too large to read comfortably as plain JSON is kept gzipped, and read back the
// same; once small again it is plain again.
func TestALargeDocumentIsKeptGzipped(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	c.hold("a")
	a, b := c.replica("a", nil, nil), c.replica("b", nil, nil)
	if err := a.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	for i := 0; doc.Len() <= kubestate.MaxBytes+kubestate.MaxBytes/4; i++ { // too large for a configmap as it is
		fmt.Fprintf(&doc, `{"nonce":"%012x","fleet":"inference","price":0.41,"outcome":"created","instance_id":%d},`, i, 24_000_000+i)
	}
	if err := a.Write("journal.json", []byte(doc.String())); err != nil {
		t.Fatal(err)
	}
	cm := c.store.ConfigMap(ns, cmName)
	if _, plain := cm.Data["journal.json"]; plain || len(cm.BinaryData["journal.json.gz"]) == 0 {
		t.Fatalf("a document of %d bytes is not kept gzipped: keys %v %v", doc.Len(), cm.Data, len(cm.BinaryData))
	}
	if got, err := b.Read("journal.json"); err != nil || string(got) != doc.String() {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if err := a.Write("journal.json", []byte(`{"small":true}`)); err != nil {
		t.Fatal(err)
	}
	cm = c.store.ConfigMap(ns, cmName)
	if cm.Data["journal.json"] != `{"small":true}` || len(cm.BinaryData) != 0 {
		t.Fatalf("a small document is not plain again: %v %d", cm.Data, len(cm.BinaryData))
	}
}
