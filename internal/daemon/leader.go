package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/leader"
)

// LeaseClient is the Kubernetes API the election needs: the Leases of the election's namespace.
type LeaseClient = leader.Leases

// leadership gates acting on leadership. Without --leader-elect it always leads and never
// touches Kubernetes; with it, a Lease decides, and losing it cancels the acting context at once.
type leadership struct {
	elector *leader.Elector // nil: election off

	mu     sync.Mutex
	actCtx context.Context // live while leading; nil otherwise
	gained chan struct{}   // signalled on each win, so the loop acts without waiting a poll
	onGain func()
	onLoss func()
	holder string
}

func newLeadership(o LeaderOptions, clk clock.Clock, logger *slog.Logger) (*leadership, error) {
	l := &leadership{gained: make(chan struct{}, 1)}
	if !o.Enabled {
		return l, nil
	}
	client := o.Client
	if client == nil {
		var err error
		if client, err = leader.NewClient(o.Kubeconfig, o.Namespace); err != nil {
			return nil, fmt.Errorf("leader election: %w", err)
		}
	}
	e, err := leader.New(leader.Config{
		Namespace: o.Namespace, LeaseName: o.LeaseName, Identity: o.Identity,
		LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod,
		Clock: clk,
	}, client, logger)
	if err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	l.elector = e
	return l, nil
}

// enabled reports whether leader election is on.
func (l *leadership) enabled() bool { return l.elector != nil }

// acting returns the context actions run under while this replica leads, or nil when it does
// not. Without election it is always background.
func (l *leadership) acting() context.Context {
	if l.elector == nil {
		return context.Background()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.actCtx == nil || l.actCtx.Err() != nil || !l.elector.IsLeader() {
		return nil
	}
	return l.actCtx
}

// leaderName is who holds the lease, as far as this replica knows.
func (l *leadership) leaderName() string {
	if l.elector == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.holder
}

// run campaigns until ctx ends. onGain runs before the first action of each term (the scaler
// re-arms: reconcile and one grace before any create); onLoss as soon as the term ends.
func (l *leadership) run(ctx context.Context) error {
	if l.elector == nil {
		return nil
	}
	return l.elector.Run(ctx, leader.Callbacks{
		OnStartedLeading: func(lctx context.Context) {
			if l.onGain != nil {
				l.onGain()
			}
			l.mu.Lock()
			l.actCtx = lctx
			l.holder = l.elector.Identity()
			l.mu.Unlock()
			select {
			case l.gained <- struct{}{}:
			default:
			}
			<-lctx.Done()
		},
		OnStoppedLeading: func() {
			l.mu.Lock()
			l.actCtx = nil
			l.mu.Unlock()
			if l.onLoss != nil {
				l.onLoss()
			}
		},
		OnNewLeader: func(id string) {
			l.mu.Lock()
			l.holder = id
			l.mu.Unlock()
		},
	})
}
