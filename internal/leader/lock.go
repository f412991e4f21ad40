package leader

import (
	"context"
	"fmt"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// watchedLock sits between client-go's elector and the Lease. It tells the Elector when a
// renewal succeeded (the term's deadline moves) and when client-go releases the lease (the
// term ends first, and the release waits for OnStartedLeading to return, as client-go asks
// of ReleaseOnCancel users). client-go calls it from one goroutine only.
type watchedLock struct {
	resourcelock.Interface
	e *Elector
	c *campaign
	// seenHolder is the holder the last Get returned. client-go releases when the holder it
	// last observed is us, which may be stale; releasing a lease someone else now holds would
	// hand it to a third replica while the second still leads.
	seenHolder string
}

func (l *watchedLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	rec, raw, err := l.Interface.Get(ctx)
	if err == nil {
		l.seenHolder = rec.HolderIdentity
	}
	return rec, raw, err
}

func (l *watchedLock) Create(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	return l.write(ctx, rec, l.Interface.Create)
}

func (l *watchedLock) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	return l.write(ctx, rec, l.Interface.Update)
}

func (l *watchedLock) write(ctx context.Context, rec resourcelock.LeaderElectionRecord, do func(context.Context, resourcelock.LeaderElectionRecord) error) error {
	if rec.HolderIdentity == l.Identity() {
		sent := l.e.clock.Now()
		if err := do(ctx, rec); err != nil {
			return err
		}
		l.e.renewed(l.c, sent)
		return nil
	}
	// Anything else is client-go's release.
	l.e.stop(l.c, "releasing the lease")
	if l.seenHolder != l.Identity() {
		return fmt.Errorf("release lease: held by %q, not by us", l.seenHolder)
	}
	l.e.mu.Lock()
	t := l.c.term
	l.e.mu.Unlock()
	if t != nil {
		select {
		case <-t.done:
		case <-ctx.Done():
			return fmt.Errorf("release lease: leader callback still running: %w", ctx.Err())
		}
	}
	return do(ctx, rec)
}
