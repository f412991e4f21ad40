package leader

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

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
	// released and nobody holds it. It runs on Run's goroutine and must not block.
	OnNewLeader func(identity string)
}

// Elector campaigns for one Lease. IsLeader may be called from any goroutine.
type Elector struct {
	cfg     Config
	leases  Leases
	clock   clock.Clock
	log     *slog.Logger
	running atomic.Bool

	mu     sync.Mutex
	camp   *campaign // nil between campaigns
	leader string    // last holder observed
}

// campaign is one run of the election loop: acquire, renew until that fails, release.
type campaign struct {
	cb     Callbacks
	cancel context.CancelFunc // ends the campaign: the loop stops renewing and releases
	closed bool               // the loop ended; a late lead must not start a term
	// lastWrite is when the last successful write naming us holder was sent. Followers start
	// their lease-duration wait no earlier than that, so we may act until lastWrite+RenewDeadline.
	lastWrite time.Time
	term      *term

	// Owned by Run's goroutine alone, like client-go's observed record.
	lease      *coordinationv1.Lease    // last read or written: its resourceVersion is the one to replace
	observed   coordinationv1.LeaseSpec // the holder's record as last observed
	observedAt time.Time                // by our clock, when observed changed last
	reported   string                   // holder last passed to OnNewLeader
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
func New(cfg Config, leases Leases, logger *slog.Logger) (*Elector, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if leases == nil {
		return nil, errors.New("leader election: no kubernetes client")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("lease", cfg.Namespace+"/"+cfg.LeaseName, "identity", cfg.Identity)
	return &Elector{cfg: cfg, leases: leases, clock: cfg.Clock, log: logger}, nil
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
// has failed for RenewDeadline, a renewal finds the lease naming another holder, the lease is
// released, or Run's ctx ends.
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
	for ctx.Err() == nil {
		e.campaign(ctx, cb)
		// A campaign that ends at once (the API server refusing us) must not spin. Sleep
		// returns early, with ctx's error, once ctx ends; the loop then ends too.
		_ = e.clock.Sleep(ctx, e.cfg.RetryPeriod)
	}
	return nil
}

// campaign acquires the lease, leads while renewing it, and releases it once the term is
// over and OnStartedLeading has returned.
func (e *Elector) campaign(ctx context.Context, cb Callbacks) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &campaign{cb: cb, cancel: cancel}
	e.mu.Lock()
	e.camp = c
	e.mu.Unlock()

	acquired := e.acquire(ctx, c)
	if acquired {
		e.lead(ctx, c)
		e.renew(ctx, c)
	}

	e.mu.Lock()
	c.closed = true
	t := c.term
	e.mu.Unlock()
	e.stop(c, "campaign ended")
	if t != nil {
		<-t.done
	}
	if acquired {
		e.release(ctx, c)
	}
	e.mu.Lock()
	e.camp = nil
	e.mu.Unlock()
}

// lead starts a term, with OnStartedLeading in its own goroutine, unless the campaign ended or
// its last write is already too old.
func (e *Elector) lead(ctx context.Context, c *campaign) {
	e.mu.Lock()
	defer e.mu.Unlock()
	deadline := c.lastWrite.Add(e.cfg.RenewDeadline)
	now := e.clock.Now()
	if c.closed || c.term != nil || ctx.Err() != nil || !now.Before(deadline) {
		return
	}
	tctx, tcancel := context.WithCancel(ctx)
	t := &term{ctx: tctx, cancel: tcancel, deadline: deadline, done: make(chan struct{})}
	t.timer = e.clock.AfterFunc(deadline.Sub(now), func() { e.expire(c, t) })
	c.term = t
	go func() {
		defer close(t.done)
		e.log.Info("leading")
		if c.cb.OnStartedLeading != nil {
			c.cb.OnStartedLeading(tctx)
		}
	}()
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

// stop ends the campaign's term, if one is running, and the campaign itself: the loop must
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

// report passes a change of the observed holder to OnNewLeader, as client-go does after each
// attempt.
func (e *Elector) report(c *campaign) {
	id := holderOf(&c.observed)
	if id == c.reported {
		return
	}
	c.reported = id
	e.mu.Lock()
	e.leader = id
	e.mu.Unlock()
	e.log.Info("leader observed", "leader", id)
	if c.cb.OnNewLeader != nil {
		c.cb.OnNewLeader(id)
	}
}
