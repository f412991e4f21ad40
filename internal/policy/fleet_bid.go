package policy

import (
	"strconv"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// bid checks the fleet's bid settings: present exactly when its market is of type bid (m is
// nil when the market itself failed, and then that problem stands alone), a multiplier of
// min_bid from 1 to MaxBidMultiplier, and a positive cap. Nil when the fleet has none.
func (c *fleetCheck) bid(fb *fileBid, m *Market) *BidPolicy {
	p := c.p.dot(fleetBid)
	if m != nil {
		switch {
		case m.Type == vastapi.Bid && fb == nil:
			c.fail(p, "required because market %s is of type bid; allowed: {multiplier: 1.1, max_dollars_per_hour: 0.40}", strconv.Quote(m.Name))
		case m.Type != vastapi.Bid && fb != nil:
			c.fail(p, "set, but market %s is of type %s; allowed: bid settings only on fleets of bid markets", strconv.Quote(m.Name), m.Type)
		}
	}
	if fb == nil {
		return nil
	}
	if fb.Multiplier < 1 || fb.Multiplier > MaxBidMultiplier {
		c.fail(p.dot(bidMultiplier), "%s is outside 1..%d; allowed: from 1 to %d (the bid is min_bid × multiplier)", money(fb.Multiplier), MaxBidMultiplier, MaxBidMultiplier)
	}
	switch {
	case !c.isSet(p.dot(bidMaxPerHour)):
		c.fail(p.dot(bidMaxPerHour), "required; allowed: the highest bid for one whole instance in $/h, e.g. 0.40")
	case fb.MaxPerHour <= 0:
		c.fail(p.dot(bidMaxPerHour), "%s is not positive; allowed: the highest bid for one whole instance in $/h, e.g. 0.40", money(fb.MaxPerHour))
	}
	return &BidPolicy{Multiplier: fb.Multiplier, MaxPerHour: fb.MaxPerHour}
}
