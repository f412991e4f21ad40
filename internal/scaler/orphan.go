package scaler

import (
	"fmt"
	"slices"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// planOrphans removes managed instances whose fleet left the config, only when the config
// says `orphans: destroy` (docs/design.md §6); otherwise each such fleet's are kept and said so.
// A renamed fleet orphans all its instances at once, so removing them is bounded like a fleet's
// scale-down: at most cfg.MaxOrphanActions() removals a cycle, each after a drain when
// orphan_drain is set; an orphan already draining finishes its drain first.
func (p *planner) planOrphans() {
	if p.cfg.Orphans != policy.OrphansDestroy {
		for name, n := range p.res.Orphans {
			p.decide(name, DecisionHold, ReasonOrphan, fmt.Sprintf("%d kept", n))
		}
		return
	}
	names := make([]string, 0, len(p.res.Orphans))
	for name := range p.res.Orphans {
		names = append(names, name)
	}
	slices.Sort(names)
	left := p.cfg.MaxOrphanActions()
	for _, name := range names {
		fp := p.orphanPlan(name, left)
		fp.removeOrphans()
		left -= fp.actions
	}
}

// orphanPlan is a fleet plan for the orphans of the fleet name left the config: its drain is
// orphan_drain, its limit what is left of the cycle's orphan removals.
func (p *planner) orphanPlan(name string, limit int) *fleetPlan {
	f := &policy.Fleet{Name: name, Drain: p.cfg.OrphanDrain}
	return &fleetPlan{planner: p, f: f, limit: max(limit, 0), managed: p.byFleet[name],
		perMachine: map[int64]int{}, perHost: map[int64]int{}, perCountry: map[string]int{}}
}

// removeOrphans destroys the fleet's orphans, or drains them first, within the plan's limit.
func (fp *fleetPlan) removeOrphans() {
	for _, m := range fp.managed {
		if !m.Orphan {
			continue
		}
		if m.Phase == PhaseDraining {
			// However it began, the drain of an orphan now ends in its destroy.
			d := *m.Drain
			d.Then, d.Reason = KindDestroy, ReasonOrphan
			m.Drain = &d
			if !fp.planDrained(m) {
				fp.limited = true
			}
			continue
		}
		detail := fmt.Sprintf("instance %d", m.Instance.ID)
		if !fp.retire(m, KindDestroy, ReasonOrphan, detail) {
			fp.limited = true
			continue
		}
		if fp.f.Drain != nil {
			detail += ": drained first (orphan_drain)"
		}
		fp.decide(DecisionCleanup, ReasonOrphan, detail)
	}
	if fp.limited {
		fp.decide(DecisionWait, ReasonMaxActions, fmt.Sprintf("orphans: %d actions a cycle", fp.cfg.MaxOrphanActions()))
	}
}
