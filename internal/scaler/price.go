package scaler

import (
	"math"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// eps absorbs float rounding in money comparisons; it is far below a cent per hour.
const eps = 1e-9

// instancePrice is an instance's committed $/h (docs/design.md §5): on-demand at dph for the
// fleet's disk; a bid at the bid we recorded plus storage. Without a record it never guesses low.
// An instance whose listed prices are not sane (negative, NaN, absurd) counts at the price
// journalled at its create; ok is false when there is none: its committed spend is unknown.
func instancePrice(in *vastapi.Instance, disk float64, rec *CreateRecord) (price float64, ok bool) {
	if !saneInstancePrices(in) || !sanePrice(disk) {
		if rec != nil && rec.Price > 0 && sanePrice(rec.Price) {
			return rec.Price, true
		}
		return 0, false
	}
	return listedPrice(in, disk, rec), true
}

// listedPrice is instancePrice from sane listed prices.
func listedPrice(in *vastapi.Instance, disk float64, rec *CreateRecord) float64 {
	if disk <= 0 {
		disk = in.DiskSpace
	}
	storage := in.StorageCost * disk / vastapi.HoursPerMonth
	if rec != nil && rec.Bid > 0 {
		return rec.Bid + storage
	}
	if in.IsBid {
		return max(in.DphTotal, in.MinBid+storage, in.DphBase+storage)
	}
	price := in.DphBase + storage
	if in.DphBase == 0 {
		price = in.DphTotal
	}
	if rec != nil && rec.Price > price {
		price = rec.Price
	}
	return price
}

// Burn is what an instance bills now (docs/design.md §5 "burn"): running or frozen (paused with
// its GPU still charged, docs/vast-api.md §4) at dph_total, any other non-destroyed state at its
// storage cost. The daemon sums it for vast_account_spend_dollars_per_hour.
// A figure that is not sane counts as nothing rather than as a negative or absurd burn.
func Burn(in *vastapi.Instance) float64 {
	if !saneInstancePrices(in) {
		return 0
	}
	if s := in.Status(); s == "running" || s == "frozen" {
		return in.DphTotal
	}
	if in.StorageTotalCost > 0 {
		return in.StorageTotalCost
	}
	return in.StorageCost * in.DiskSpace / vastapi.HoursPerMonth
}

// OfferPrice is what renting o costs the fleet in committed $/h, recomputed for the fleet's
// disk; for a bid market also the bid to send (min_bid × multiplier, capped by bid.max and by
// the fleet's max price). ok is false when no bid within the caps reaches min_bid.
func OfferPrice(f *policy.Fleet, o *vastapi.Offer) (price, bid float64, ok bool) {
	return rowPrice(f, o.DphBase, o.StorageCost, o.MinBid)
}

func rowPrice(f *policy.Fleet, base, storageCost, minBid float64) (price, bid float64, ok bool) {
	disk := f.Instance.DiskGB
	storage := storageCost * disk / vastapi.HoursPerMonth
	if f.Market == nil || f.Market.Type != vastapi.Bid {
		return base + storage, 0, true
	}
	mult, bidMax := 1.0, math.Inf(1)
	if f.Bid != nil {
		if f.Bid.Multiplier > 0 {
			mult = f.Bid.Multiplier
		}
		if f.Bid.MaxPerHour > 0 {
			bidMax = f.Bid.MaxPerHour
		}
	}
	bid = minBid * mult
	bid = min(bid, bidMax)
	if f.MaxPrice > 0 {
		bid = min(bid, f.MaxPrice-storage)
	}
	if bid+eps < minBid || bid < 0.001 {
		return 0, 0, false
	}
	return bid + storage, bid, true
}

// monthFits reports whether adding delta $/h to the fleet's committed spend keeps the projected
// month-end spend (month-to-date + committed $/h × hours left in the month) within the fleet's
// and the account's monthly budgets.
func (fp *fleetPlan) monthFits(delta float64) bool {
	if c := fp.f.Monthly; c > 0 && fp.monthFleets[fp.f.Name]+(fp.committed+delta)*fp.hoursLeft > c+eps {
		return false
	}
	if c := fp.cfg.Account.MonthlyBudget; c > 0 && fp.monthAccount+(fp.account+delta)*fp.hoursLeft > c+eps {
		return false
	}
	return true
}

// monthUnknown reports whether a monthly budget binds the fleet while the month-to-date spend
// is unknown.
func (p *planner) monthUnknown(f *policy.Fleet) bool {
	return p.st.MonthUnknown != "" && (f.Monthly > 0 || p.cfg.Account.MonthlyBudget > 0)
}
