package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vastwatch/vastwatch/internal/kubestate"
	"github.com/vastwatch/vastwatch/internal/leader"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// ConfigMapClient is the Kubernetes API the state needs with --leader-elect: the ConfigMaps of
// the Lease's namespace.
type ConfigMapClient = kubestate.ConfigMaps

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

// StateAPI names the API a state belongs to: the simulated market with its seed, or the API's
// URL. A state is never used against another (docs/design.md §7).
func StateAPI(apiURL string, sim SimOptions) string {
	if sim.Enabled {
		return fmt.Sprintf("simulated seed=%d", sim.Seed)
	}
	return strings.TrimRight(apiURL, "/")
}

// StateConfigMap is the name of the ConfigMap that holds the state beside the Lease lease.
func StateConfigMap(lease string) string { return lease + "-state" }

// openStateUnlessWatching opens the state, except for `vastwatch record` (Options.WatchOnly),
// which plans nothing and so neither reads nor writes one.
func (d *Daemon) openStateUnlessWatching() (err error) {
	if d.o.WatchOnly {
		return nil
	}
	if d.store, err = d.openState(); err != nil {
		d.removeTempState()
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

// openState picks and opens the state: with --leader-elect the ConfigMap beside the Lease (the
// state dir is then unused); otherwise the state dir, bound to its API, and under --simulate
// without one a temporary directory that Run removes at exit. nil: no state at all (creates
// blocked).
func (d *Daemon) openState() (stateStore, error) {
	o := &d.o
	api := StateAPI(o.APIURL, o.Sim)
	if d.lead.enabled() {
		s, err := kubestate.New(kubestate.Config{Namespace: o.Leader.Namespace, Name: StateConfigMap(o.Leader.LeaseName),
			LeaseName: o.Leader.LeaseName, Identity: d.lead.elector.Identity(), API: api, Clock: d.clk}, o.Leader.ConfigMaps, o.Leader.Client)
		if err != nil {
			return nil, err
		}
		d.logger.Info("state kept in a configmap beside the lease; --state.dir is not used",
			"configmap", o.Leader.Namespace+"/"+StateConfigMap(o.Leader.LeaseName), "api", api)
		return kubeState{s}, nil
	}
	if o.StateDir == "" && o.Sim.Enabled {
		dir, err := os.MkdirTemp("", "vastwatch-sim-state-")
		if err != nil {
			return nil, fmt.Errorf("simulated state dir: %w", err)
		}
		o.StateDir, d.tempState = dir, dir
		d.logger.Info("simulated state kept in a temporary directory, removed at exit (--state.dir keeps it)", "dir", dir)
	}
	if o.StateDir == "" {
		return nil, nil
	}
	adopted, err := scaler.BindStateDir(o.StateDir, api)
	var other *scaler.StateAPIError
	switch {
	case errors.As(err, &other):
		return nil, err
	case err != nil:
		// Unwritable: the scaler reports the same directory's journal as unusable and blocks
		// creates, as it always has.
		d.logger.Error("state dir not marked with its API", "dir", o.StateDir, "err", err)
	case adopted:
		d.logger.Warn("state dir had no mark of its API; it is now marked for this one", "dir", o.StateDir, "api", api)
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
		if o.Client, err = leader.NewLeases(cfg, o.Namespace); err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
	}
	if o.ConfigMaps == nil {
		if o.ConfigMaps, err = kubestate.NewClient(cfg, o.Namespace); err != nil {
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

// removeTempState removes the temporary state dir of a simulated run: its simulated market
// ends with the process, so its journal and spend book mean nothing after it.
func (d *Daemon) removeTempState() {
	if d.tempState == "" {
		return
	}
	if err := os.RemoveAll(d.tempState); err != nil {
		d.logger.Warn("simulated state dir not removed", "dir", d.tempState, "err", err)
	}
}
