package scaler

import (
	"fmt"
	"time"
)

// expireStopped destroys the fleet's stopped instances, once stopped longer than stopped_ttl,
// while the fleet is at or over its target (docs/design.md §8): a stopped instance bills its
// storage, and the fleet does not need it back.
func (fp *fleetPlan) expireStopped() {
	if fp.active < fp.target || fp.f.StoppedTTL <= 0 {
		return
	}
	for _, m := range fp.spares {
		if fp.handled[m] || m.Cold {
			continue // the cold pool is kept on purpose
		}
		since, ok := fp.stoppedSince(m.Instance.ID)
		if !ok || fp.now.Sub(since) <= fp.f.StoppedTTL {
			continue
		}
		if !fp.remove(m, KindDestroy, ReasonStoppedTTL, "stopped since "+since.UTC().Format(time.RFC3339)) {
			fp.limited = true
			break
		}
		fp.decide(DecisionCleanup, ReasonStoppedTTL, fmt.Sprintf("instance %d", m.Instance.ID))
	}
}

// stoppedSince is when instance id was first seen stopped, or stopped by us if that was
// earlier: our own stop is journalled, so its time survives a restart, unlike the memory.
func (p *planner) stoppedSince(id int64) (time.Time, bool) {
	since, ok := p.st.StoppedSince[id]
	if t, byUs := p.st.StoppedByUs[id]; byUs && (!ok || t.Before(since)) {
		since, ok = t, true
	}
	return since, ok
}
