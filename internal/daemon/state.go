package daemon

import (
	"context"
	"fmt"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/vastwatch/vastwatch/internal/kubestate"
	"github.com/vastwatch/vastwatch/internal/leader"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// ConfigMapClient is the Kubernetes API the state needs with --leader-elect: ConfigMaps only.
type ConfigMapClient = corev1client.ConfigMapsGetter

// stateStore is where the scaler keeps its journal and spend book (docs/design.md §7): the files
// of --state.dir, or with --leader-elect the ConfigMap beside the Lease.
type stateStore interface {
	scaler.Store
	// claim makes this replica the state's only writer for the term it now leads in; until it
	// has succeeded, a leader acts on nothing.
	claim(ctx context.Context) error
	// drop forgets the claim when the term ends.
	drop()
}

// dirState is the files of --state.dir: one process writes them, nothing to claim.
type dirState struct{ scaler.DirStore }

func (dirState) claim(context.Context) error { return nil }
func (dirState) drop()                       {}

// kubeState is the ConfigMap beside the Lease.
type kubeState struct{ *kubestate.Store }

func (k kubeState) claim(ctx context.Context) error { return k.Claim(ctx) }
func (k kubeState) drop()                           { k.Drop() }

// StateConfigMap is the name of the ConfigMap that holds the state beside the Lease lease.
func StateConfigMap(lease string) string { return lease + "-state" }

// openState picks the state: with --leader-elect the ConfigMap beside the Lease (the state dir
// is then unused); otherwise the state dir. nil: no state at all (creates blocked).
func (d *Daemon) openState() (stateStore, error) {
	o := &d.o
	if d.lead.enabled() {
		s, err := kubestate.New(kubestate.Config{Namespace: o.Leader.Namespace, Name: StateConfigMap(o.Leader.LeaseName),
			LeaseName: o.Leader.LeaseName, Identity: d.lead.elector.Identity(), Clock: d.clk}, o.Leader.ConfigMaps, o.Leader.Client)
		if err != nil {
			return nil, err
		}
		d.logger.Info("state kept in a configmap beside the lease; --state.dir is not used", "where", s.Where(""))
		return kubeState{s}, nil
	}
	if o.StateDir == "" {
		return nil, nil
	}
	return dirState{scaler.DirStore(o.StateDir)}, nil
}

// backend is what the scaler writes through: the ConfigMap, or nil for the files of the state
// dir, which the scaler opens itself (creating the directory, or blocking creates when it
// cannot).
func backend(s stateStore) scaler.Store {
	if k, ok := s.(kubeState); ok {
		return k
	}
	return nil
}

// kubeClients fills the Kubernetes clients the options leave nil (tests set them) from the
// kubeconfig or the pod's service account.
func kubeClients(o *LeaderOptions) error {
	if !o.Enabled || (o.Client != nil && o.ConfigMaps != nil) {
		return nil
	}
	cfg, err := leader.RESTConfig(o.Kubeconfig)
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	if o.Client == nil {
		if o.Client, err = leader.NewClientFor(cfg); err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
	}
	if o.ConfigMaps == nil {
		if o.ConfigMaps, err = kubestate.NewClient(cfg); err != nil {
			return fmt.Errorf("state configmap: %w", err)
		}
	}
	return nil
}

// stateReady claims the state for a new term (each gain of leadership sets reclaim) and
// rearms the scaler, which reads the state again as a fresh process would; false while the
// claim fails, and then the leader acts on nothing.
func (d *Daemon) stateReady(ctx context.Context) bool {
	if !d.reclaim.Swap(false) {
		return true
	}
	if d.store != nil {
		if err := d.store.claim(ctx); err != nil {
			d.reclaim.Store(true)
			d.logger.Error("leading, but the state cannot be claimed: acting on nothing until it is", "err", err)
			return false
		}
	}
	// A new term starts as a fresh process would: the state read again, reconcile, one grace,
	// then creates.
	d.scaler.Rearm()
	d.logger.Info("leading: state claimed; reconciling before any create")
	return true
}
