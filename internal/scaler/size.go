package scaler

import (
	"fmt"
	"time"
)

// sizeRule is one answer to where the fleet stands against its target, in the manner of
// nomad-autoscaler's strategies: exactly one applies each cycle, and it plans the fleet's
// size actions and says its decision.
type sizeRule interface {
	applies(fp *fleetPlan) bool
	plan(fp *fleetPlan)
}

var sizeRules = []sizeRule{scaleUp{}, holdForPending{}, scaleDown{}, holdAtTarget{}}

// size plans the fleet's size by the one size rule that applies.
func (fp *fleetPlan) size() {
	for _, r := range sizeRules {
		if r.applies(fp) {
			r.plan(fp)
			return
		}
	}
}

// holdForPending holds a fleet over its target only through creates not listed yet: nothing
// listed is removed to make room for an instance that may never appear; once it is listed, the
// surplus goes.
type holdForPending struct{}

func (holdForPending) applies(fp *fleetPlan) bool {
	return fp.active > fp.target && len(fp.booting)+len(fp.running) <= fp.target
}

func (holdForPending) plan(fp *fleetPlan) {
	fp.decide(DecisionHold, ReasonPendingCreate, fmt.Sprintf("%d/%d with %d pending", fp.active, fp.target, len(fp.pend)))
}

// holdAtTarget holds a fleet at its target, saying so when creates are still pending.
type holdAtTarget struct{}

func (holdAtTarget) applies(fp *fleetPlan) bool { return fp.active == fp.target }

func (holdAtTarget) plan(fp *fleetPlan) {
	if len(fp.pend) > 0 {
		fp.decide(DecisionHold, ReasonPendingCreate, fmt.Sprintf("%d pending", len(fp.pend)))
		return
	}
	fp.decide(DecisionHold, ReasonAtTarget, fmt.Sprintf("%d/%d", fp.active, fp.target))
}

// inCooldown reports whether the fleet's last scale in one direction (last, by fleet) was less
// than that direction's cooldown d ago.
func (fp *fleetPlan) inCooldown(last map[string]time.Time, d time.Duration) bool {
	t, ok := last[fp.f.Name]
	return ok && d > 0 && fp.now.Sub(t) < d
}
