package scaler

import (
	"fmt"
	"time"
)

// replaceListingEnd starts the replacement of the instance among cands whose host listing ends
// first, when it ends within the listing margin. It reports whether such an instance exists
// (a rebalance waits for it).
func (fp *fleetPlan) replaceListingEnd(cands []*Managed) bool {
	if fp.st.ListingMargin <= 0 {
		return false
	}
	var soonest *Managed
	var soonestEnd time.Time
	for _, m := range cands {
		end := listingEnd(m.Instance)
		if end.IsZero() || end.Sub(fp.now) > fp.st.ListingMargin {
			continue
		}
		if soonest == nil || end.Before(soonestEnd) {
			soonest, soonestEnd = m, end
		}
	}
	if soonest == nil {
		return false
	}
	id := soonest.Instance.ID
	detail := fmt.Sprintf("instance %d: listing ends %s", id, soonestEnd.UTC().Format(time.RFC3339))
	if why, _ := fp.createBlocked(1); why != "" {
		fp.decide(DecisionWait, ReasonListingEnding, detail+"; no replacement: "+why)
		return true
	}
	// The replacement's own listing must outlast the margin twice, or it would be replaced next.
	o, price, bid, why := fp.pickOffer(pick{minDuration: 2 * fp.st.ListingMargin, notMachine: soonest.Instance.MachineID})
	if o == nil {
		fp.decide(DecisionWait, ReasonListingEnding, detail+"; no replacement: "+why)
		return true
	}
	fp.emitCreate(o, price, bid, ReasonListingEnding, detail, id)
	fp.decide(DecisionReplace, ReasonListingEnding, fmt.Sprintf("%s; replacement on offer %d at $%.4f/h", detail, o.ID, price))
	return true
}
