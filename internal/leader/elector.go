package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// Callbacks are the daemon's hooks; each may be nil.
type Callbacks struct {
	// OnStartedLeading runs, in its own goroutine, each time this replica wins the lease. Its
	// ctx is cancelled the moment leadership ends (IsLeader is false by then); Run does not
	// campaign again, nor return, before it has returned.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading runs once after each OnStartedLeading, as soon as leadership ends,
	// possibly while OnStartedLeading is still returning.
	OnStoppedLeading func()
	// OnNewLeader runs when another holder of the lease is observed; "" means the lease was
	// released and nobody holds it.
	OnNewLeader func(identity string)
}

// Elector campaigns for one Lease. IsLeader may be called from any goroutine.
type Elector struct {
	cfg     Config
	client  coordinationv1client.CoordinationV1Interface
	clock   clock.Clock
	log     *slog.Logger
	running atomic.Bool

	mu     sync.Mutex
	camp   *campaign // nil between campaigns
	leader string    // last holder observed
}

// campaign is one run of client-go's elector: acquire, renew until that fails, release.
type campaign struct {
	cb     Callbacks
	cancel context.CancelFunc // ends the campaign: client-go stops renewing and releases
	closed bool               // client-go returned; a late OnStartedLeading must not lead
	// lastWrite is when the last successful write naming us holder was sent. Followers start
	// their lease-duration wait no earlier than that, so we may act until lastWrite+RenewDeadline.
	lastWrite time.Time
	term      *term
}

// term is one stretch of leadership within a campaign.
type term struct {
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time
	timer    clock.Timer
	stopped  bool
	done     chan struct{} // closed when OnStartedLeading has returned
}

// New checks cfg (after filling its defaults) and returns an Elector that has not yet
// contacted the API server.
func New(cfg Config, client coordinationv1client.CoordinationV1Interface, logger *slog.Logger) (*Elector, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		return nil, errors.New("leader election: no kubernetes client")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("lease", cfg.Namespace+"/"+cfg.LeaseName, "identity", cfg.Identity)
	return &Elector{cfg: cfg, client: client, clock: cfg.Clock, log: logger}, nil
}

// Identity is the name this replica holds the lease under.
func (e *Elector) Identity() string { return e.cfg.Identity }

// Leader is the holder last observed, "" before the first observation or after a release.
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

// IsLeader is true only while this replica leads: from winning the lease until a renewal
// has failed for RenewDeadline, the lease is released, or Run's ctx ends.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.camp == nil || e.camp.term == nil {
		return false
	}
	t := e.camp.term
	return !t.stopped && t.ctx.Err() == nil && e.clock.Now().Before(t.deadline)
}

// Run campaigns for the lease until ctx ends, campaigning again after each loss, and
// returns nil once ctx has ended and any OnStartedLeading has returned. On ctx's end a held
// lease is released so that another replica takes over at once.
func (e *Elector) Run(ctx context.Context, cb Callbacks) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("leader election: Run is already running")
	}
	defer e.running.Store(false)
	// client-go logs through the logger in its ctx; send that to ours.
	ctx = klog.NewContext(ctx, logr.FromSlogHandler(e.log.Handler()))
	for ctx.Err() == nil {
		if err := e.campaign(ctx, cb); err != nil {
			return err
		}
		// A campaign that ends at once (the API server refusing us) must not spin. Sleep
		// returns early, with ctx's error, once ctx ends; the loop then ends too.
		_ = e.clock.Sleep(ctx, e.cfg.RetryPeriod)
	}
	return nil
}

func (e *Elector) campaign(ctx context.Context, cb Callbacks) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &campaign{cb: cb, cancel: cancel}
	lock := &watchedLock{
		Interface: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.LeaseName},
			Client:     e.client,
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.cfg.Identity},
		},
		e: e, c: c,
	}
	// client-go's elector reads the time package (k8s.io/utils/clock.RealClock) for lease
	// expiry, retries and its renew deadline, and offers no way to inject a clock. In
	// production that is the wall clock, like cfg.Clock; in tests both run inside a
	// testing/synctest bubble, where the time package's clock is the bubble's fake time, so
	// the Elector's deadlines and client-go's still agree.
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            e.cfg.LeaseName,
		LeaseDuration:   e.cfg.LeaseDuration,
		RenewDeadline:   e.cfg.RenewDeadline,
		RetryPeriod:     e.cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) { e.lead(lctx, c) },
			OnStoppedLeading: func() { e.stop(c, "lease lost") },
			OnNewLeader:      func(id string) { e.observe(id, cb) },
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	e.mu.Lock()
	e.camp = c
	e.mu.Unlock()

	le.Run(ctx)

	e.mu.Lock()
	c.closed = true
	t := c.term
	e.mu.Unlock()
	e.stop(c, "campaign ended")
	if t != nil {
		<-t.done
	}
	e.mu.Lock()
	e.camp = nil
	e.mu.Unlock()
	return nil
}

// lead starts a term unless the campaign ended or its last renewal is already too old.
func (e *Elector) lead(lctx context.Context, c *campaign) {
	e.mu.Lock()
	deadline := c.lastWrite.Add(e.cfg.RenewDeadline)
	now := e.clock.Now()
	if c.closed || c.term != nil || lctx.Err() != nil || !now.Before(deadline) {
		c.cancel()
		e.mu.Unlock()
		return
	}
	tctx, tcancel := context.WithCancel(lctx)
	t := &term{ctx: tctx, cancel: tcancel, deadline: deadline, done: make(chan struct{})}
	t.timer = e.clock.AfterFunc(deadline.Sub(now), func() { e.expire(c, t) })
	c.term = t
	e.mu.Unlock()

	defer close(t.done)
	e.log.Info("leading")
	if c.cb.OnStartedLeading != nil {
		c.cb.OnStartedLeading(tctx)
	}
}

// renewed moves the term's deadline after a successful write that was sent at sent.
func (e *Elector) renewed(c *campaign, sent time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if sent.After(c.lastWrite) {
		c.lastWrite = sent
	}
	if t := c.term; t != nil && !t.stopped {
		t.deadline = c.lastWrite.Add(e.cfg.RenewDeadline)
		t.timer.Reset(t.deadline.Sub(e.clock.Now()))
	}
}

// expire ends the term when its deadline passed without a renewal moving it.
func (e *Elector) expire(c *campaign, t *term) {
	e.mu.Lock()
	if d := t.deadline.Sub(e.clock.Now()); d > 0 && !t.stopped {
		t.timer.Reset(d)
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	e.stop(c, "no renewal within the renew deadline")
}

// stop ends the campaign's term, if one is running, and the campaign itself: client-go must
// not go on renewing a lease we no longer act on.
func (e *Elector) stop(c *campaign, reason string) {
	e.mu.Lock()
	c.cancel()
	t := c.term
	if t == nil || t.stopped {
		e.mu.Unlock()
		return
	}
	t.stopped = true
	t.cancel()
	t.timer.Stop()
	e.mu.Unlock()
	e.log.Info("stopped leading", "reason", reason)
	if c.cb.OnStoppedLeading != nil {
		c.cb.OnStoppedLeading()
	}
}

func (e *Elector) observe(id string, cb Callbacks) {
	e.mu.Lock()
	e.leader = id
	e.mu.Unlock()
	e.log.Info("leader observed", "leader", id)
	if cb.OnNewLeader != nil {
		cb.OnNewLeader(id)
	}
}
