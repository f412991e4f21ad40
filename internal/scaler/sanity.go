package scaler

import (
	"fmt"
	"log/slog"
	"math"
	"sort"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// The API's data is not trusted with money (docs/design.md §4 "Observe"): a reply from a broken
// or hostile host can carry anything its fields can hold.

// MaxSanePrice bounds every price the API may report: whole-instance $/h for dph_base,
// dph_total and min_bid, $/GB/month for storage_cost. No machine on the market costs near it (the
// API itself caps a bid at $128/h); a larger figure, like a negative one, is a broken reply.
const MaxSanePrice = 1000.0

// sanePrice reports whether x is a price vastwatch may count: a number from 0 to MaxSanePrice.
func sanePrice(x float64) bool { return x >= 0 && x <= MaxSanePrice } // NaN fails both

// saneOffer reports whether every price of o is sane; an offer that is not is never rented,
// nor counted in the market's statistics.
func saneOffer(o *vastapi.Offer) bool {
	return sanePrice(o.DphBase) && sanePrice(o.DphTotal) && sanePrice(o.StorageCost) &&
		sanePrice(o.MinBid) && !math.IsNaN(o.DiskSpace) && !math.IsInf(o.DiskSpace, 0)
}

// saneInstancePrices reports whether every price of in is sane.
func saneInstancePrices(in *vastapi.Instance) bool {
	return sanePrice(in.DphBase) && sanePrice(in.DphTotal) && sanePrice(in.StorageCost) &&
		sanePrice(in.MinBid) && sanePrice(in.StorageTotalCost) && in.DiskSpace >= 0 && !math.IsInf(in.DiskSpace, 0)
}

// saneInstances keeps the first row of each instance id and drops rows without an id (0 or
// negative), noting each in obs.Dropped: an instance listed twice counted twice toward its
// fleet, and the planner removed the "surplus", its only instance. The kept rows are in place.
func (obs *Observation) saneInstances(ins []vastapi.Instance) []vastapi.Instance {
	seen := make(map[int64]bool, len(ins))
	out := ins[:0]
	for i := range ins {
		id := ins[i].ID
		switch {
		case id <= 0:
			obs.drop("instance row with id %d ignored (label %q)", id, ins[i].Label.Or(""))
		case seen[id]:
			obs.drop("instance %d listed more than once; the first row kept", id)
		default:
			seen[id] = true
			out = append(out, ins[i])
		}
	}
	clear(ins[len(out):])
	return out
}

// drop notes a row left out of the observation.
func (obs *Observation) drop(format string, args ...any) {
	obs.Dropped = append(obs.Dropped, fmt.Sprintf(format, args...))
}

// LogObservation logs what a complete observation left out: each failed market search, and each
// row dropped as broken.
func LogObservation(log *slog.Logger, obs *Observation) {
	names := make([]string, 0, len(obs.Failed))
	for name := range obs.Failed {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		log.Warn("market search failed; its fleets hold this cycle", "market", name, "err", obs.Failed[name])
	}
	for _, d := range obs.Dropped {
		log.Warn("broken row of the API's reply left out", "row", d)
	}
}

// priceUnknown reports whether the fleet's committed spend, or the account's under an
// account-wide budget, is unknown: an instance counted in it lists no sane price and none was
// journalled. No create then, since no budget check could hold.
func (fp *fleetPlan) priceUnknown() bool {
	if fp.unpriced[fp.f.Name] {
		return true
	}
	a := fp.cfg.Account
	return len(fp.unpriced) > 0 && (a.MaxSpendPerHour > 0 || a.MonthlyBudget > 0)
}
