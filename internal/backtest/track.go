package backtest

import (
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// fleetTrack adds up one fleet's run poll by poll.
type fleetTrack struct {
	rep  FleetReport
	cfg  *policy.Fleet
	disk float64
	// market is the offers' prices for the fleet at the last poll, under its cap, sorted: the
	// candidates of the bound over the interval that poll starts.
	market []float64
	// ran is each instance's running seconds at the last poll.
	ran       map[int64]float64
	polls     int
	atTarget  int
	samples   []Point
	lastAt    time.Time
	lastCount int // running at the last poll, for a sample at the end
	lastWant  int
}

func newFleetTrack(f *policy.Fleet) *fleetTrack {
	t := &fleetTrack{cfg: f, disk: f.Instance.DiskGB, ran: map[int64]float64{}}
	t.rep = FleetReport{Name: f.Name, BlockedSeconds: map[string]float64{}}
	if f.Market != nil {
		t.rep.Market = f.Market.Name
	}
	return t
}

// price is what the fleet would pay for o: its bid (min_bid) on a bid market, else its
// on-demand price, with storage for the fleet's disk. ok is false for an offer the fleet
// cannot take at all: not enough disk, or above its price cap.
func (t *fleetTrack) price(o *vastapi.Offer) (float64, bool) {
	storage := o.StoragePerHour(t.disk)
	p := o.DphBase + storage
	if t.cfg.Market != nil && t.cfg.Market.Type == vastapi.Bid {
		p = o.MinBid + storage
	}
	if o.DiskSpace < t.disk || (t.cfg.MaxPrice > 0 && p > t.cfg.MaxPrice) {
		return 0, false
	}
	return p, true
}

// interval closes the interval from the last poll to now: the bound for the running seconds
// the fleet's instances had in it, on the market of the last poll and the instances' own
// prices.
func (t *fleetTrack) interval(now time.Time, bills []vastsim.Bill) {
	span := now.Sub(t.lastAt).Seconds()
	secs := 0.0
	cands := slices.Clone(t.market)
	for _, b := range bills {
		d := b.RunningSeconds - t.ran[b.ID]
		t.ran[b.ID] = b.RunningSeconds
		if d > 0 {
			secs += d
			cands = append(cands, b.DollarsPerHour+b.StoragePerHour)
		}
	}
	if !t.lastAt.IsZero() {
		t.rep.BoundDollars += fill(cands, secs, span)
	}
}

// poll takes one cycle's report: the fleet's state, its actions, the market it saw.
func (t *fleetTrack) poll(rep *scaler.CycleReport, interval time.Duration) {
	t.polls++
	if fs := rep.Plan.Fleet(t.cfg.Name); fs != nil {
		t.lastWant, t.lastCount = fs.Target, fs.Counts[scaler.PhaseRunning]
		if t.lastCount >= t.lastWant {
			t.atTarget++
		}
		for _, why := range fs.Blocked {
			t.rep.BlockedSeconds[why] += interval.Seconds()
		}
	}
	for _, o := range rep.Outcomes {
		if o.Action.Fleet != t.cfg.Name || o.Result != scaler.ResultOK {
			continue
		}
		switch o.Action.Kind {
		case scaler.KindCreate:
			t.rep.Creates++
		case scaler.KindDestroy:
			t.rep.Destroys++
			if replaced[o.Action.Reason] {
				t.rep.Replacements++
			}
		}
	}
	t.market = t.market[:0]
	if t.cfg.Market != nil {
		offers := rep.Observation.Offers[t.cfg.Market.Name]
		for i := range offers {
			if p, ok := t.price(&offers[i]); ok {
				t.market = append(t.market, p)
			}
		}
	}
	slices.Sort(t.market)
}

// replaced are the reasons an instance is removed to be replaced, not to shrink the fleet.
var replaced = map[string]bool{scaler.ReasonFailed: true, scaler.ReasonOutbid: true, scaler.ReasonFailedCreate: true,
	scaler.ReasonListingEnding: true, scaler.ReasonRebalance: true}

// sample notes a point of the series.
func (t *fleetTrack) sample(at time.Time, cost float64) {
	p := Point{At: at, Desired: t.lastWant, Running: t.lastCount, CostDollars: cost}
	p.P10, p.P50, p.P90 = percentiles(t.market)
	t.samples = append(t.samples, p)
}
