package scaler

import "fmt"

// rebalance replaces the most expensive of the running instances older than min_age when an
// equivalent offer of the same market is cheaper by at least min_savings, make-before-break.
func (fp *fleetPlan) rebalance(running []*Managed) {
	rb := fp.f.Rebalance
	var victim *Managed
	for _, m := range running {
		start := startTime(m.Instance)
		if start.IsZero() || fp.now.Sub(start) < rb.MinAge {
			continue
		}
		if victim == nil || m.Price > victim.Price+eps {
			victim = m
		}
	}
	if victim == nil {
		return
	}
	id := victim.Instance.ID
	ceiling := victim.Price * (1 - rb.MinSavings)
	if why, _ := fp.createBlocked(1); why != "" {
		return // nothing to move now; the fleet's own decision already says why
	}
	o, price, bid, why := fp.pickOffer(pick{ceiling: ceiling, notMachine: victim.Instance.MachineID})
	if o == nil {
		if why == ReasonSavingsBelow || why == ReasonPriceCap || why == ReasonNoOffers {
			fp.decide(DecisionHold, ReasonSavingsBelow, fmt.Sprintf("instance %d at $%.4f/h: no offer at or below $%.4f/h (%.0f%% cheaper)",
				id, victim.Price, ceiling, rb.MinSavings*100))
			return
		}
		fp.decide(DecisionHold, why, fmt.Sprintf("rebalance of instance %d: an offer %.0f%% cheaper exists, but not within the budgets during the overlap",
			id, rb.MinSavings*100))
		return
	}
	detail := fmt.Sprintf("instance %d at $%.4f/h → offer %d at $%.4f/h", id, victim.Price, o.ID, price)
	fp.emitCreate(o, price, bid, ReasonRebalance, detail, id)
	fp.decide(DecisionReplace, ReasonRebalance, detail)
}
