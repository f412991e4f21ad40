package scaler

import (
	"cmp"
	"fmt"
	"slices"
)

// scaleUp brings a fleet below its target up to it, after the scale-up cooldown and above the
// credit floor: our own stopped instances come back first, cheapest first, before anything new
// is rented; then one create after another until the target or the first reason why not. A
// reason that blocks the fleet (rather than making it wait) is why its target is out of reach.
type scaleUp struct{}

func (scaleUp) applies(fp *fleetPlan) bool { return fp.active < fp.target }

func (scaleUp) plan(fp *fleetPlan) {
	detail := fmt.Sprintf("%d/%d", fp.active, fp.target)
	ups := 0
	reason, decision := "", ""
	switch {
	case fp.inCooldown(fp.st.LastScaleUp, fp.f.CooldownUp):
		reason, decision = ReasonCooldown, DecisionWait
	case fp.obs.User.Credit < fp.cfg.Account.CreditFloor:
		reason, decision = ReasonCreditFloor, DecisionBlocked
	default:
		ups = fp.startSpares(fp.target-fp.active, detail)
		for fp.active < fp.target {
			if reason, decision = fp.createOne(detail); reason != "" {
				break
			}
			fp.active++
			ups++
		}
	}
	if ups > 0 {
		fp.decide(DecisionScaleUp, ReasonBelowTarget, detail)
	}
	if reason != "" {
		fp.decide(decision, reason, fmt.Sprintf("%d/%d", fp.active, fp.target))
		if decision == DecisionBlocked {
			fp.blocked = append(fp.blocked, reason)
		}
	}
}

// startSpares starts up to need of the fleet's stopped instances, cheapest first, and returns
// how many it started. A cold one starts only within the budgets, since starting it commits
// its full price again.
func (fp *fleetPlan) startSpares(need int, detail string) int {
	slices.SortStableFunc(fp.spares, func(a, b *Managed) int { return cmp.Compare(runningPrice(a), runningPrice(b)) })
	started := 0
	for _, m := range fp.spares {
		if started == need || (m.Cold && !fp.coldStartFits(m)) {
			break
		}
		price := m.Price
		if m.Cold {
			price = m.runPrice
		}
		if !fp.emit(Action{Kind: KindStart, Reason: ReasonBelowTarget, Detail: detail,
			InstanceID: m.Instance.ID, MachineID: m.Instance.MachineID, Price: price}) {
			break
		}
		fp.commitStart(m)
		fp.handle(m)
		fp.active++
		started++
	}
	return started
}

// runningPrice is what m commits once running: a cold instance's price when started.
func runningPrice(m *Managed) float64 {
	if m.Cold {
		return m.runPrice
	}
	return m.Price
}
