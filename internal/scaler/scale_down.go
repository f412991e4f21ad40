package scaler

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// scaleDown retires a fleet's surplus over its target, after the scale-down cooldown, in the
// removal order of docs/design.md §8: booting instances (newest first), then, when the fleet
// destroys, its stopped spares, then the most expensive running ones. Only listed instances
// count as surplus (holdForPending covers the rest); a fleet that drains drains them first.
type scaleDown struct{}

func (scaleDown) applies(fp *fleetPlan) bool {
	return fp.active > fp.target && len(fp.booting)+len(fp.running) > fp.target
}

func (scaleDown) plan(fp *fleetPlan) {
	if fp.inCooldown(fp.st.LastScaleDown, fp.f.CooldownDown) {
		fp.decide(DecisionWait, ReasonCooldown, fmt.Sprintf("%d/%d", fp.active, fp.target))
		return
	}
	excess := min(fp.active, len(fp.booting)+len(fp.running)) - fp.target
	slices.SortStableFunc(fp.booting, func(a, b *Managed) int {
		return cmp.Compare(b.Instance.StartDate, a.Instance.StartDate)
	})
	slices.SortStableFunc(fp.running, func(a, b *Managed) int {
		return cmp.Or(cmp.Compare(b.Price, a.Price), cmp.Compare(b.Instance.StartDate, a.Instance.StartDate))
	})
	kind := KindDestroy
	if fp.f.ScaleDown == policy.ScaleDownStop {
		kind = KindStop
	}
	victims := slices.Concat(fp.booting, fp.running)
	if kind == KindDestroy {
		victims = slices.Concat(fp.booting, fp.spares, fp.running)
	}
	downs := 0
	for _, m := range victims {
		if excess == 0 {
			break
		}
		if !fp.retire(m, kind, ReasonAboveTarget, fmt.Sprintf("%d/%d", fp.active, fp.target)) {
			fp.limited = true
			break
		}
		fp.handle(m)
		if m.Phase != PhaseStopped {
			excess--
			fp.active--
		}
		downs++
	}
	if downs > 0 {
		fp.decide(DecisionScaleDown, ReasonAboveTarget, fmt.Sprintf("%d/%d", fp.active+downs, fp.target))
	}
}
