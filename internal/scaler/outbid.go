package scaler

import (
	"fmt"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// outbidInstance wins an outbid instance back with a higher bid when the fleet needs it and the
// bid fits, or replaces it after the outbid grace. A rebid instance is on its way back: it
// counts toward the target.
type outbidInstance struct{}

func (outbidInstance) applies(_ *fleetPlan, m *Managed) bool { return m.Phase == PhaseOutbid }

func (outbidInstance) plan(fp *fleetPlan, m *Managed) {
	switch fp.planOutbid(m, fp.activeBefore < fp.target) {
	case fateRebid:
		fp.booting = append(fp.booting, m)
		fp.activeBefore++
	case fateLimited:
		fp.limited = true
	}
}

// rebidPrice is the bid that wins an outbid instance back: its current min_bid × multiplier,
// capped by bid.max_dollars_per_hour and the fleet's max price (whole instance, $/h), with the
// committed $/h it makes (bid + storage for the fleet's disk). ok is false when no bid within
// the caps reaches min_bid or when it would not raise the current bid.
func rebidPrice(f *policy.Fleet, in *vastapi.Instance, current float64) (bid, price float64, ok bool) {
	price, bid, ok = rowPrice(f, in.DphBase, in.StorageCost, in.MinBid)
	if !ok || in.MinBid <= 0 || bid <= current+eps {
		return 0, 0, false
	}
	return bid, price, true
}

// planOutbid rebids an outbid instance when the fleet needs it, the current min_bid is within
// the caps and the new bid fits the fleet budget, the account cap and the monthly budgets;
// otherwise it waits out the outbid grace (min_bid may fall back; the disk is kept) and then
// destroys the instance (its machine avoided), the fleet replacing it meanwhile. An instance
// the fleet does not need (a replacement already counts) is not rebid.
func (fp *fleetPlan) planOutbid(m *Managed, needed bool) fate {
	id := m.Instance.ID
	current := m.Instance.DphBase
	if rec := fp.recordOf(id); rec != nil && rec.Bid > 0 {
		current = max(current, rec.Bid)
	}
	bid, price, ok := rebidPrice(fp.f, m.Instance, current)
	delta := price - m.Price
	accountCap := fp.cfg.Account.MaxSpendPerHour
	fits := needed && ok && (fp.f.Budget <= 0 || fp.committed+delta <= fp.f.Budget+eps) &&
		(accountCap <= 0 || fp.account+delta <= accountCap+eps) && fp.monthFits(delta)
	if fits {
		if !fp.emit(Action{Kind: KindRebid, Reason: ReasonRebid, InstanceID: id, MachineID: m.Instance.MachineID,
			Price: price, Bid: bid, Detail: fmt.Sprintf("min_bid $%.4f/h", m.Instance.MinBid)}) {
			return fateLimited
		}
		fp.committed += delta
		fp.account += delta
		fp.decide(DecisionRebid, ReasonRebid, fmt.Sprintf("instance %d: bid $%.4f/h → $%.4f/h (min_bid $%.4f/h)",
			id, current, bid, m.Instance.MinBid))
		return fateRebid
	}
	why := "min_bid above the caps"
	switch {
	case !needed:
		why = "not needed at the fleet's target"
	case ok:
		why = "the new bid does not fit the budgets"
	}
	since, seen := fp.st.OutbidSince[id]
	if !seen {
		since = fp.now
	}
	if fp.now.Sub(since) < fp.st.OutbidGrace {
		fp.decide(DecisionWait, ReasonOutbid, fmt.Sprintf("instance %d: %s; destroyed after %s outbid",
			id, why, fp.st.OutbidGrace))
		return fateKept
	}
	if !fp.remove(m, KindDestroy, ReasonOutbid, why) {
		return fateLimited
	}
	fp.decide(DecisionReplace, ReasonOutbid, fmt.Sprintf("instance %d: %s", id, why))
	return fateGone
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
