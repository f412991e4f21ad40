package leader

import (
	"context"
	"math/rand/v2"
	"reflect"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// JitterFactor is client-go's: an attempt to acquire the lease follows the previous one after
// the retry period plus up to JitterFactor retry periods more, at random, so that candidates
// started together do not keep colliding.
const JitterFactor = 1.2

// The election loop follows client-go's tools/leaderelection (non-coordinated, release on
// cancel), with the Elector's clock for every time it reads:
//   - acquire: read the Lease; create it when absent (AlreadyExists: another won the race);
//     take it only when we hold it, nobody does, or its record has not changed for its lease
//     duration by our clock since we first observed that record (never the remote renewTime:
//     the clocks of two replicas need not agree); replace it at the resourceVersion read
//     (Conflict: another won). Retry every jittered retry period.
//   - renew: every retry period, the same attempt, bounded by lastWrite+RenewDeadline; the
//     term ends when that passes (expire) or a read shows another holder.
//   - release: once the term is over and OnStartedLeading has returned, and only if a fresh
//     read still names us: holder "", lease duration 1 s, so that a follower takes over at once.

// acquire tries until it wins the lease, with a write fresh enough to lead on, or ctx ends.
func (e *Elector) acquire(ctx context.Context, c *campaign) bool {
	e.log.Info("campaigning for the lease")
	for {
		won := e.tryAcquireOrRenew(ctx, c)
		e.report(c)
		if won && e.fresh(c) {
			return true
		}
		if ctx.Err() != nil {
			return won // a write that got through before ctx ended is released by campaign
		}
		wait := e.cfg.RetryPeriod + time.Duration(rand.Float64()*JitterFactor*float64(e.cfg.RetryPeriod))
		if e.clock.Sleep(ctx, wait) != nil {
			return false
		}
	}
}

// fresh reports whether the last write naming us was sent within the renew deadline.
func (e *Elector) fresh(c *campaign) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock.Now().Before(c.lastWrite.Add(e.cfg.RenewDeadline))
}

// renew keeps the lease every retry period until ctx ends or the term does (stop cancels ctx).
func (e *Elector) renew(ctx context.Context, c *campaign) {
	for {
		if e.clock.Sleep(ctx, e.cfg.RetryPeriod) != nil {
			return
		}
		e.mu.Lock()
		left := c.lastWrite.Add(e.cfg.RenewDeadline).Sub(e.clock.Now())
		e.mu.Unlock()
		if left <= 0 {
			e.stop(c, "no renewal within the renew deadline")
			return
		}
		actx, cancel := e.withTimeout(ctx, left)
		e.tryAcquireOrRenew(actx, c)
		cancel()
		e.report(c)
		if h := holderOf(&c.observed); h != e.cfg.Identity {
			e.stop(c, "the lease names another holder")
			return
		}
	}
}

// tryAcquireOrRenew is one attempt to hold the lease: client-go's tryAcquireOrRenew.
func (e *Elector) tryAcquireOrRenew(ctx context.Context, c *campaign) bool {
	now := e.clock.Now()
	// While we hold it, replace the lease we last wrote without reading it first; a refusal
	// (another wrote it since) falls back to reading it.
	if c.lease != nil && holderOf(&c.observed) == e.cfg.Identity && e.valid(c, now) {
		if e.write(ctx, c, c.lease, now) == nil {
			return true
		}
	}
	l, err := e.leases.Get(ctx, e.cfg.LeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.LeaseName}}
		return e.write(ctx, c, l, now) == nil
	}
	if err != nil {
		e.log.Warn("reading the lease failed", "err", err)
		return false
	}
	c.lease = l
	if c.observedAt.IsZero() || !reflect.DeepEqual(c.observed, l.Spec) {
		c.observed, c.observedAt = *l.Spec.DeepCopy(), e.clock.Now()
	}
	if h := holderOf(&l.Spec); h != "" && h != e.cfg.Identity && e.valid(c, now) {
		return false // held, and its holder renewed it within its lease duration as we saw it
	}
	return e.write(ctx, c, l, now) == nil
}

// valid reports whether the observed record's lease duration has not yet passed since we
// observed it. A record without a duration is given ours.
func (e *Elector) valid(c *campaign, now time.Time) bool {
	d := e.cfg.LeaseDuration
	if s := c.observed.LeaseDurationSeconds; s != nil && *s > 0 {
		d = time.Duration(*s) * time.Second
	}
	return c.observedAt.Add(d).After(now)
}

// write names us holder of l (created when it has no resourceVersion, else replaced at it).
// A change of holder counts a transition and sets the acquire time.
func (e *Elector) write(ctx context.Context, c *campaign, l *coordinationv1.Lease, now time.Time) error {
	id, dur, at := e.cfg.Identity, int32(e.cfg.LeaseDuration/time.Second), metav1.NewMicroTime(now)
	next := l.DeepCopy()
	next.Spec = coordinationv1.LeaseSpec{HolderIdentity: &id, LeaseDurationSeconds: &dur,
		AcquireTime: &at, RenewTime: &at, LeaseTransitions: new(int32)}
	create := l.ResourceVersion == ""
	switch old := l.Spec; {
	case create:
	case holderOf(&old) == id:
		if old.AcquireTime != nil {
			next.Spec.AcquireTime = old.AcquireTime
		}
		if old.LeaseTransitions != nil {
			*next.Spec.LeaseTransitions = *old.LeaseTransitions
		}
	case old.LeaseTransitions != nil:
		*next.Spec.LeaseTransitions = *old.LeaseTransitions + 1
	}
	sent := e.clock.Now()
	var out *coordinationv1.Lease
	var err error
	if create {
		out, err = e.leases.Create(ctx, next, metav1.CreateOptions{})
	} else {
		out, err = e.leases.Update(ctx, next, metav1.UpdateOptions{})
	}
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			e.log.Debug("another replica wrote the lease first", "err", err)
		} else {
			e.log.Warn("writing the lease failed", "err", err)
		}
		return err
	}
	c.lease = out
	c.observed, c.observedAt = *out.Spec.DeepCopy(), e.clock.Now()
	e.renewed(c, sent)
	return nil
}

// release hands the lease back if a fresh read still names us: client-go's release, bounded
// by the renew deadline, with a conflict read again.
func (e *Elector) release(ctx context.Context, c *campaign) {
	ctx, cancel := e.withTimeout(context.WithoutCancel(ctx), e.cfg.RenewDeadline)
	defer cancel()
	for ctx.Err() == nil {
		l, err := e.leases.Get(ctx, e.cfg.LeaseName, metav1.GetOptions{})
		if err != nil {
			e.log.Warn("lease not released: reading it failed", "err", err)
			return
		}
		if h := holderOf(&l.Spec); h != e.cfg.Identity {
			// Releasing a lease another replica took meanwhile would hand it to a third
			// while the second still leads.
			e.log.Info("lease not released: held by another", "holder", h)
			return
		}
		none, one, at := "", int32(1), metav1.NewMicroTime(e.clock.Now())
		next := l.DeepCopy()
		next.Spec = coordinationv1.LeaseSpec{HolderIdentity: &none, LeaseDurationSeconds: &one,
			AcquireTime: &at, RenewTime: &at, LeaseTransitions: l.Spec.LeaseTransitions}
		_, err = e.leases.Update(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			e.log.Warn("lease not released", "err", err)
			return
		}
		e.log.Info("lease released")
		return
	}
}

// withTimeout is context.WithTimeout by the Elector's clock.
func (e *Elector) withTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	t := e.clock.AfterFunc(d, cancel)
	return ctx, func() {
		t.Stop()
		cancel()
	}
}

func holderOf(s *coordinationv1.LeaseSpec) string {
	if s.HolderIdentity == nil {
		return ""
	}
	return *s.HolderIdentity
}
