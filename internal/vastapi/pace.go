package vastapi

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// pacer keeps a minimum spacing between calls of each "METHOD template", so a busy daemon never
// trips the API's rate limiter by itself. Callers reserve the next free slot under a lock and
// then wait for it on the clock, so concurrent callers queue in order without holding the lock.
type pacer struct {
	clock     clock.Clock
	intervals map[string]time.Duration

	mu   sync.Mutex
	next map[string]time.Time
}

func newPacer(clk clock.Clock, intervals map[string]time.Duration) *pacer {
	return &pacer{clock: clk, intervals: maps.Clone(intervals), next: make(map[string]time.Time)}
}

// wait blocks until key's next slot, or ctx ends.
func (p *pacer) wait(ctx context.Context, key string) error {
	iv := p.intervals[key]
	if iv <= 0 {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	now := p.clock.Now()
	slot := p.next[key]
	if slot.Before(now) {
		slot = now
	}
	p.next[key] = slot.Add(iv)
	p.mu.Unlock()
	return p.clock.Sleep(ctx, slot.Sub(now))
}
