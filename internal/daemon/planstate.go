package daemon

import (
	"cmp"
	"context"
	"fmt"

	"github.com/vastwatch/vastwatch/internal/kubestate"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// planIdentity names `vastwatch plan` to the state's ConfigMap; it never claims or writes.
const planIdentity = "vastwatch-plan"

// PlanState opens, to read only, the state `vastwatch run` keeps with the same flags: with
// --leader-elect the ConfigMap beside the Lease, otherwise the state dir. Either is refused
// when it holds the state of another API than api. nil: no state (stateDir "" without
// --leader-elect), and the plan then blocks creates as a daemon without one would.
func PlanState(ctx context.Context, o LeaderOptions, stateDir, api string, getenv func(string) string) (scaler.Store, error) {
	if !o.Enabled {
		if err := scaler.CheckStateDir(stateDir, api); err != nil {
			return nil, err
		}
		if stateDir == "" {
			return nil, nil
		}
		return readOnlyState{scaler.DirStore(stateDir)}, nil
	}
	o.Namespace = cmp.Or(o.Namespace, getenv("POD_NAMESPACE"), "default")
	if err := kubeClients(&o); err != nil {
		return nil, err
	}
	s, err := kubestate.New(kubestate.Config{Namespace: o.Namespace, Name: StateConfigMap(o.LeaseName),
		LeaseName: o.LeaseName, Identity: planIdentity, API: api}, o.ConfigMaps, o.Client)
	if err != nil {
		return nil, err
	}
	if err := s.CheckAPI(ctx); err != nil {
		return nil, err
	}
	return readOnlyState{s}, nil
}

// readOnlyState refuses every write: what reads the state for a plan changes nothing of it.
type readOnlyState struct{ scaler.Store }

func (r readOnlyState) Write(name string, _ []byte) error {
	return fmt.Errorf("%s: read only here: only the daemon writes its state", r.Where(name))
}
