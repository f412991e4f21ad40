package scaler

import (
	"fmt"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// outbidPlan is what became of an outbid instance (or a replaced one) in the plan.
type outbidPlan int

const (
	outbidWait    outbidPlan = iota // kept as it is this cycle
	outbidRebid                     // rebid: on its way back
	outbidGone                      // destroyed
	outbidLimited                   // an action was due but max_actions_per_cycle was reached
)

// RebidPrice is the bid that wins an outbid instance back: its current min_bid × multiplier,
// capped by bid.max_dollars_per_hour and the fleet's max price (whole instance, $/h), with the
// committed $/h it makes (bid + storage for the fleet's disk). ok is false when no bid within the
// caps reaches min_bid or when it would not raise the current bid.
func rebidPrice(fp *fleetPlan, m *Managed, current float64) (bid, price float64, ok bool) {
	in := m.Instance
	price, bid, ok = rowPrice(fp.f, in.DphBase, in.StorageCost, in.MinBid)
	if !ok || in.MinBid <= 0 || bid <= current+eps {
		return 0, 0, false
	}
	return bid, price, true
}

// planOutbid rebids an outbid instance when the fleet needs it, the current min_bid is within
// the caps and the new bid fits the fleet budget, the account cap and the monthly budgets; otherwise it waits out the
// outbid grace (min_bid may fall back; the disk is kept) and then destroys the instance (its
// machine avoided), the fleet replacing it meanwhile. An instance the fleet does not need (a
// replacement already counts) is not rebid.
func (p *planner) planOutbid(fp *fleetPlan, m *Managed, needed bool) outbidPlan {
	name, id := fp.f.Name, m.Instance.ID
	current := m.Instance.DphBase
	if rec := p.recordOf(id); rec != nil && rec.Bid > 0 {
		current = max(current, rec.Bid)
	}
	bid, price, ok := rebidPrice(fp, m, current)
	delta := price - m.Price
	accountCap := p.cfg.Account.MaxSpendPerHour
	fits := needed && ok && (fp.f.Budget <= 0 || fp.committed+delta <= fp.f.Budget+eps) &&
		(accountCap <= 0 || p.account+delta <= accountCap+eps) && p.monthFits(fp, delta)
	if fits {
		if !p.emit(fp, Action{Kind: KindRebid, Reason: ReasonRebid, InstanceID: id, MachineID: m.Instance.MachineID,
			Price: price, Bid: bid, Detail: fmt.Sprintf("min_bid $%.4f/h", m.Instance.MinBid)}) {
			return outbidLimited
		}
		fp.committed += delta
		p.account += delta
		p.decide(name, DecisionRebid, ReasonRebid, fmt.Sprintf("instance %d: bid $%.4f/h → $%.4f/h (min_bid $%.4f/h)",
			id, current, bid, m.Instance.MinBid))
		return outbidRebid
	}
	why := "min_bid above the caps"
	switch {
	case !needed:
		why = "not needed at the fleet's target"
	case ok:
		why = "the new bid does not fit the budgets"
	}
	since, seen := p.st.OutbidSince[id]
	if !seen {
		since = p.now
	}
	if p.now.Sub(since) < p.st.OutbidGrace {
		p.decide(name, DecisionWait, ReasonOutbid, fmt.Sprintf("instance %d: %s; destroyed after %s outbid",
			id, why, p.st.OutbidGrace))
		return outbidWait
	}
	if !p.remove(fp, m, KindDestroy, ReasonOutbid, why) {
		return outbidLimited
	}
	p.decide(name, DecisionReplace, ReasonOutbid, fmt.Sprintf("instance %d: %s", id, why))
	return outbidGone
}

// recordOf is the journal's create record of instance id, or nil.
func (p *planner) recordOf(id int64) *CreateRecord {
	for i := range p.st.Creates {
		if p.st.Creates[i].InstanceID == id {
			return &p.st.Creates[i]
		}
	}
	return nil
}

// listingEnd is when the host's listing of the instance ends, or zero when unknown.
func listingEnd(in *vastapi.Instance) time.Time {
	if !in.EndDate.Valid || in.EndDate.V <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(in.EndDate.V), 0)
}

// finishReplacement handles an old instance whose replacement r is in flight (r nil: a create
// not listed yet): once r runs, or at the end of the old instance's listing, the old instance is
// destroyed; until then it waits.
func (p *planner) finishReplacement(fp *fleetPlan, old, r *Managed) outbidPlan {
	name, id := fp.f.Name, old.Instance.ID
	end := listingEnd(old.Instance)
	reason := ReasonRebalance
	if !end.IsZero() && p.st.ListingMargin > 0 && end.Sub(p.now) <= p.st.ListingMargin {
		reason = ReasonListingEnding
	}
	var detail string
	switch {
	case r != nil && r.Phase == PhaseRunning:
		detail = fmt.Sprintf("instance %d replaced by %d, now running", id, r.Instance.ID)
	case !end.IsZero() && !p.now.Before(end):
		reason = ReasonListingEnding
		detail = fmt.Sprintf("instance %d: listing ended, replacement not running yet", id)
	default:
		what := "create pending"
		if r != nil {
			what = fmt.Sprintf("instance %d %s", r.Instance.ID, r.Phase)
		}
		p.decide(name, DecisionWait, ReasonReplacing, fmt.Sprintf("instance %d (%s): replacement %s", id, reason, what))
		return outbidWait
	}
	retire := p.retire
	if !end.IsZero() && !p.now.Before(end) {
		retire = p.remove // the listing has ended: no time to drain
	}
	if !retire(fp, old, KindDestroy, reason, detail) {
		return outbidLimited
	}
	p.decide(name, DecisionReplace, reason, detail)
	return outbidGone
}

// replacementBlocked says why no replacement create can be planned now, or "".
func (p *planner) replacementBlocked(fp *fleetPlan) string {
	f := fp.f
	switch {
	case p.st.CreatesBlocked != "":
		return ReasonJournal
	case f.Market == nil || f.Market.Type == vastapi.Reserved:
		return ReasonReservedMarket
	case p.now.Before(p.st.CreatesNotBefore):
		return ReasonReconciling
	case fp.count >= f.Max+1: // a surge of at most one over max
		return ReasonMaxInstances
	case p.obs.User.Credit < p.cfg.Account.CreditFloor:
		return ReasonCreditFloor
	case fp.actions >= fp.limit:
		return ReasonMaxActions
	case p.monthUnknown(f):
		return ReasonMonthlyBudget
	}
	return ""
}

// planListingEnd starts the replacement of the instance whose host listing ends first, when it
// ends within the listing margin. It reports whether such an instance exists (the rebalance
// waits for it).
func (p *planner) planListingEnd(fp *fleetPlan, cands []*Managed) bool {
	if p.st.ListingMargin <= 0 {
		return false
	}
	var soonest *Managed
	var soonestEnd time.Time
	for _, m := range cands {
		end := listingEnd(m.Instance)
		if end.IsZero() || end.Sub(p.now) > p.st.ListingMargin {
			continue
		}
		if soonest == nil || end.Before(soonestEnd) {
			soonest, soonestEnd = m, end
		}
	}
	if soonest == nil {
		return false
	}
	name, id := fp.f.Name, soonest.Instance.ID
	detail := fmt.Sprintf("instance %d: listing ends %s", id, soonestEnd.UTC().Format(time.RFC3339))
	if why := p.replacementBlocked(fp); why != "" {
		p.decide(name, DecisionWait, ReasonListingEnding, detail+"; no replacement: "+why)
		return true
	}
	// The replacement's own listing must outlast the margin twice, or it would be replaced next.
	o, price, bid, why := p.pickOffer(fp, pick{minDuration: 2 * p.st.ListingMargin, notMachine: soonest.Instance.MachineID})
	if o == nil {
		p.decide(name, DecisionWait, ReasonListingEnding, detail+"; no replacement: "+why)
		return true
	}
	p.emitCreate(fp, o, price, bid, ReasonListingEnding, detail, id)
	p.decide(name, DecisionReplace, ReasonListingEnding, fmt.Sprintf("%s; replacement on offer %d at $%.4f/h", detail, o.ID, price))
	return true
}

// planRebalance replaces the most expensive running instance older than min_age when an
// equivalent offer of the same market is cheaper by at least min_savings, make-before-break.
func (p *planner) planRebalance(fp *fleetPlan, running []*Managed) {
	rb := fp.f.Rebalance
	var victim *Managed
	for _, m := range running {
		start := startTime(m.Instance)
		if start.IsZero() || p.now.Sub(start) < rb.MinAge {
			continue
		}
		if victim == nil || m.Price > victim.Price+eps {
			victim = m
		}
	}
	if victim == nil {
		return
	}
	name, id := fp.f.Name, victim.Instance.ID
	ceiling := victim.Price * (1 - rb.MinSavings)
	if why := p.replacementBlocked(fp); why != "" {
		return // nothing to move now; the fleet's own decision already says why
	}
	o, price, bid, why := p.pickOffer(fp, pick{ceiling: ceiling, notMachine: victim.Instance.MachineID})
	if o == nil {
		if why == ReasonSavingsBelow || why == ReasonPriceCap || why == ReasonNoOffers {
			p.decide(name, DecisionHold, ReasonSavingsBelow, fmt.Sprintf("instance %d at $%.4f/h: no offer at or below $%.4f/h (%.0f%% cheaper)",
				id, victim.Price, ceiling, rb.MinSavings*100))
			return
		}
		p.decide(name, DecisionHold, why, fmt.Sprintf("rebalance of instance %d: an offer %.0f%% cheaper exists, but not within the budgets during the overlap",
			id, rb.MinSavings*100))
		return
	}
	detail := fmt.Sprintf("instance %d at $%.4f/h → offer %d at $%.4f/h", id, victim.Price, o.ID, price)
	p.emitCreate(fp, o, price, bid, ReasonRebalance, detail, id)
	p.decide(name, DecisionReplace, ReasonRebalance, detail)
}
