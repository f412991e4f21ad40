package scaler

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// scaleDown retires a fleet's surplus over its target, after the scale-down cooldown, in the
// removal order of docs/design.md §8: booting instances (newest first), then, when the fleet
// destroys, its stopped spares (not its cold pool), then the most expensive running ones,
// which a fleet with a cold pool stops into it while it has room. Only listed instances count
// as surplus (holdForPending covers the rest); a fleet that drains drains them first.
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
		victims = slices.Concat(fp.booting, notCold(fp.spares), fp.running)
	}
	downs, stopped := 0, len(fp.spares)
	for _, m := range victims {
		if excess == 0 {
			break
		}
		k := kind
		if m.Phase == PhaseRunning && intoCold(fp.f, stopped) {
			k = KindStop
		}
		if !fp.retire(m, k, ReasonAboveTarget, fmt.Sprintf("%d/%d", fp.active, fp.target)) {
			fp.limited = true
			break
		}
		switch {
		case k == KindStop && fp.f.Cold > 0:
			if fp.f.Drain == nil {
				fp.intoColdPool(m) // a drained one commits less once its drain ends
			}
			stopped++
		case m.Phase == PhaseStopped:
			stopped--
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
