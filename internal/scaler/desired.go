package scaler

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// Autoscaling's decision and reason (docs/metrics.md).
const (
	// DecisionFallback: an autoscaled fleet's demand has had no good value for stale_after;
	// its demand counts as size.target, and never below what the fleet runs.
	DecisionFallback = "fallback"
	// ReasonDemandUnavailable says why: the demand query gives no value.
	ReasonDemandUnavailable = "demand_unavailable"
)

// Desired is where a fleet's target came from this cycle (docs/design.md §8): each source's
// desired size, their combination, and the target once stabilised. A plain fleet has only its
// schedule.
type Desired struct {
	Autoscaled bool
	// Schedule is the plain fleet's scheduled target, or the autoscaled fleet's scheduled
	// floor (min).
	Schedule int
	// Demand is ceil(value / per_instance), or the fallback while the demand is stale.
	HasDemand   bool
	Demand      int
	DemandValue float64
	DemandAt    time.Time
	DemandStale bool
	DemandErr   string
	// Price is the largest count the price curve allows over the fleet's instances and the
	// market's eligible offers.
	HasPrice bool
	Price    int
	// Raw is the sources combined (the smaller) and clamped to the floor and max; Final is the
	// target after the stabilisation windows.
	Raw, Final int
}

// DesiredSample is one cycle's raw desired size, kept for the stabilisation windows.
type DesiredSample struct {
	At  time.Time
	Raw int
}

// desired computes the fleet's target: the schedule's for a plain fleet; for an autoscaled one
// its sources combined, clamped and stabilised. current is what counts toward the target now.
func (fp *fleetPlan) desired(current int) Desired {
	f := fp.f
	if f.Autoscale == nil {
		t := f.TargetAt(fp.now)
		return Desired{Schedule: t, Raw: t, Final: t}
	}
	a := f.Autoscale
	d := Desired{Autoscaled: true, Schedule: f.MinAt(fp.now)}
	raw := math.MaxInt
	if a.Demand != nil {
		fp.demandSource(&d, current)
		raw = d.Demand
	}
	if len(a.PriceCurve) > 0 {
		d.HasPrice, d.Price = true, fp.priceDesired()
		raw = min(raw, d.Price)
	}
	d.Raw = max(d.Schedule, min(raw, f.Max))
	d.Final = stabilize(fp.now, a, fp.st.DesiredHistory[f.Name], d.Raw, current)
	d.Final = max(d.Schedule, min(d.Final, f.Max))
	return d
}

// demandSource fills the demand's desired size. A stale demand falls back to size.target, and
// never below current: missing data never scales a fleet down.
func (fp *fleetPlan) demandSource(d *Desired, current int) {
	dm := fp.f.Autoscale.Demand
	rd := fp.st.Demand[fp.f.Name]
	d.HasDemand, d.DemandValue, d.DemandAt, d.DemandErr = true, rd.Value, rd.At, rd.Err
	if rd.Stale(fp.now, dm.StaleAfter) {
		d.DemandStale = true
		d.Demand = max(fp.f.Target, current)
		age := "never read"
		if !rd.At.IsZero() {
			age = "last good value " + fp.now.Sub(rd.At).Round(time.Second).String() + " ago"
		}
		fp.decide(DecisionFallback, ReasonDemandUnavailable, fmt.Sprintf("%s; counting %d (size.target %d, never below the %d counted now)", age, d.Demand, fp.f.Target, current))
		return
	}
	d.Demand = int(math.Ceil(max(0, rd.Value)/dm.PerInstance - eps))
}

// stabilize applies the windows (Kubernetes HPA's rule): a scale-up acts on the lowest raw
// desired seen over the scale-up window, a scale-down on the highest over the scale-down
// window, and a scale-down waits until the history covers that window (after a restart, a
// whole window), so a dip in demand shorter than the window removes nothing.
func stabilize(now time.Time, a *policy.Autoscale, history []DesiredSample, raw, current int) int {
	up, down := raw, raw
	covered := a.StabilizeDown == 0
	for _, s := range history {
		age := now.Sub(s.At)
		if age <= a.StabilizeUp {
			up = min(up, s.Raw)
		}
		if age <= a.StabilizeDown {
			down = max(down, s.Raw)
		}
		covered = covered || age >= a.StabilizeDown
	}
	switch {
	case up > current:
		return up
	case down < current && covered:
		return down
	}
	return current
}

// priceDesired is the largest n such that the k-th cheapest of the fleet's instances (at the
// prices they commit running) and the market's eligible offers (repriced for the fleet's disk)
// costs no more than the curve's price for rank k, for every k up to n.
func (fp *fleetPlan) priceDesired() int {
	a := fp.f.Autoscale
	ceiling := a.PriceCurve[0].MaxPrice
	prices := fp.instancePrices()
	prices = append(prices, fp.offerPrices(ceiling)...)
	slices.Sort(prices)
	n := 0
	for k, price := range prices {
		limit, ok := a.CurvePrice(k + 1)
		if !ok || price > limit+eps {
			break
		}
		n = k + 1
	}
	return n
}

// instancePrices are what the fleet's instances could commit running: booting and running
// ones and pending creates at what they commit, its cold pool at the price it starts at, and
// outbid ones at the bid that would win them back within the caps.
func (fp *fleetPlan) instancePrices() []float64 {
	var out []float64
	for _, m := range fp.managed {
		if _, old := fp.inflight[m.Instance.ID]; old {
			continue
		}
		switch {
		case m.Phase == PhasePending || m.Phase == PhaseRunning:
			out = append(out, m.Price)
		case m.Cold:
			out = append(out, m.runPrice)
		case m.Phase == PhaseOutbid:
			if _, price, ok := rebidPrice(fp.f, m.Instance, 0); ok {
				out = append(out, price)
			}
		}
	}
	for _, c := range fp.pend {
		out = append(out, c.Price)
	}
	return out
}

// offerPrices are the prices of the market's offers the fleet could rent now, repriced for its
// disk, under ceiling (no curve rank pays more): within its price cap, listed long enough, not
// on an avoided machine; offers that share a GPU count once (the cheapest).
func (fp *fleetPlan) offerPrices(ceiling float64) []float64 {
	f := fp.f
	offers := fp.obs.Offers[f.Market.Name]
	type cand struct {
		price float64
		i     int
	}
	var cands []cand
	for i, r := range fp.rows(f.Market.Name) {
		if !fp.rentable(&r) {
			continue
		}
		price, _, ok := rowPrice(f, r.base, r.storage, r.minBid)
		if !ok || price > ceiling+eps || (f.MaxPrice > 0 && price > f.MaxPrice+eps) {
			continue
		}
		cands = append(cands, cand{price, i})
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.price < b.price:
			return -1
		case a.price > b.price:
			return 1
		}
		return 0
	})
	taken := map[int64]bool{}
	out := make([]float64, 0, len(cands))
	for _, c := range cands {
		o := &offers[c.i]
		if slices.ContainsFunc(o.GPUIDs, func(g int64) bool { return taken[g] }) {
			continue
		}
		for _, g := range o.GPUIDs {
			taken[g] = true
		}
		out = append(out, c.price)
	}
	return out
}

// rentable reports whether the fleet could rent the offer of r as far as the offer itself
// goes: enough disk, a listing that lasts min_duration, a machine not avoided for the fleet.
func (fp *fleetPlan) rentable(r *offerRow) bool {
	f := fp.f
	if disk := f.Instance.DiskGB; disk > 0 && r.disk > 0 && r.disk+eps < disk {
		return false
	}
	if f.MinDuration > 0 && r.end > 0 && r.end < float64(fp.now.Add(f.MinDuration).Unix()) {
		return false
	}
	_, avoided := fp.avoid.kept[r.machine] // avoided for this fleet, within its bound
	return !avoided
}
