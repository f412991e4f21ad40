package scaler

import (
	"fmt"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Make-before-break moves (docs/design.md §8): a replacement is created first, and the old
// instance goes once the replacement runs, or at the end of the old one's listing. The old
// instance no longer counts toward the target; its replacement does. One move is in flight per
// fleet at most, and its create may take the fleet one over max.

// inFlight maps each listed old instance to its replacement: a listed instance pending or
// running that replaces it, or nil for a create not listed yet. An old instance no longer
// listed is gone: its replacement is an ordinary member now.
func inFlight(managed []*Managed, pend []*CreateRecord) map[int64]*Managed {
	listed := make(map[int64]bool, len(managed))
	for _, m := range managed {
		listed[m.Instance.ID] = true
	}
	var inflight map[int64]*Managed // nil while no move is in flight, as in most cycles
	add := func(old int64, r *Managed) {
		if inflight == nil {
			inflight = map[int64]*Managed{}
		}
		inflight[old] = r
	}
	for _, c := range pend {
		if c.Replaces != 0 && listed[c.Replaces] {
			add(c.Replaces, nil)
		}
	}
	for _, m := range managed {
		if m.Replaces != 0 && listed[m.Replaces] && (m.Phase == PhasePending || m.Phase == PhaseRunning) {
			add(m.Replaces, m)
		}
	}
	return inflight
}

// move starts the fleet's next make-before-break move when none is in flight: a host listing
// about to end first, then rebalancing to a cheaper equivalent offer when the fleet is
// otherwise settled (at target, nothing pending or booting).
func (fp *fleetPlan) move() {
	if len(fp.inflight) != 0 {
		return
	}
	settled := fp.active == fp.target && len(fp.pend) == 0 && len(fp.booting) == 0
	if !fp.replaceListingEnd(slices.Concat(fp.running, fp.booting)) && settled && fp.f.Rebalance != nil {
		fp.rebalance(fp.running)
	}
}

// replacedInstance finishes a move: the old instance of a replacement in flight.
type replacedInstance struct{}

func (replacedInstance) applies(fp *fleetPlan, m *Managed) bool {
	_, old := fp.inflight[m.Instance.ID]
	return old && (m.Phase == PhasePending || m.Phase == PhaseRunning)
}

func (replacedInstance) plan(fp *fleetPlan, m *Managed) {
	if fp.finishReplacement(m, fp.inflight[m.Instance.ID]) == fateLimited {
		fp.limited = true
	}
}

// listingEnd is when the host's listing of the instance ends, or zero when unknown.
func listingEnd(in *vastapi.Instance) time.Time {
	if !in.EndDate.Valid || in.EndDate.V <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(in.EndDate.V), 0)
}

// finishReplacement handles an old instance whose replacement r is in flight (r nil: a create
// not listed yet): once r runs, or at the end of the old instance's listing, the old instance
// is destroyed; until then it waits.
func (fp *fleetPlan) finishReplacement(old, r *Managed) fate {
	id := old.Instance.ID
	end := listingEnd(old.Instance)
	reason := ReasonRebalance
	if !end.IsZero() && fp.st.ListingMargin > 0 && end.Sub(fp.now) <= fp.st.ListingMargin {
		reason = ReasonListingEnding
	}
	var detail string
	switch {
	case r != nil && r.Phase == PhaseRunning:
		detail = fmt.Sprintf("instance %d replaced by %d, now running", id, r.Instance.ID)
	case !end.IsZero() && !fp.now.Before(end):
		reason = ReasonListingEnding
		detail = fmt.Sprintf("instance %d: listing ended, replacement not running yet", id)
	default:
		what := "create pending"
		if r != nil {
			what = fmt.Sprintf("instance %d %s", r.Instance.ID, r.Phase)
		}
		fp.decide(DecisionWait, ReasonReplacing, fmt.Sprintf("instance %d (%s): replacement %s", id, reason, what))
		return fateKept
	}
	retire := fp.retire
	if !end.IsZero() && !fp.now.Before(end) {
		retire = fp.remove // the listing has ended: no time to drain
	}
	if !retire(old, KindDestroy, reason, detail) {
		return fateLimited
	}
	fp.decide(DecisionReplace, reason, detail)
	return fateGone
}
