package scaler_test

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/config"

	"github.com/vastwatch/vastwatch/internal/demand"
	"github.com/vastwatch/vastwatch/internal/demand/promtest"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// withDemand has the world's scaler read demand from Prometheus on its fake clock.
func withDemand(_ *vastsim.Options, o *scaler.Options) { o.Demand = demand.New(o.Clock, 5*time.Second) }

// actionsOf are rep's actions of kind k for fleet.
func actionsOf(rep scaler.CycleReport, fleet string, k scaler.Kind) []scaler.Action {
	var out []scaler.Action
	for _, a := range rep.Plan.Actions {
		if a.Fleet == fleet && a.Kind == k {
			out = append(out, a)
		}
	}
	return out
}

func statusCount(ins []vastapi.Instance, status string) int {
	n := 0
	for _, in := range ins {
		if in.Status() == status {
			n++
		}
	}
	return n
}

// The serving story end to end on the simulator: load rises and the fleet follows at once
// (scale_up cooldown 1m, one poll); load falls and nothing is removed for the 10-minute
// window, then the fleet shrinks through drains, two into its cold pool; the next rise starts
// the cold pool before renting anything.
func TestSimDemandDrivesTheFleetThroughTheWindowDrainsAndTheColdPool(t *testing.T) {
	prom := promtest.New()
	defer prom.Close()
	f := testFleet("llm", simMarket(t), simSized(1), func(f *policy.Fleet) {
		f.Min, f.Max, f.Budget, f.MaxActionsPerCycle = 0, 6, 30, 4
		f.CooldownUp, f.CooldownDown = time.Minute, time.Minute
		f.Cold = 2
		f.Drain = &policy.Drain{Delay: 2 * time.Minute, Timeout: 5 * time.Minute}
		f.Autoscale = &policy.Autoscale{StabilizeDown: 10 * time.Minute, Demand: &policy.Demand{
			URL: policy.PlainValue(prom.URL), HTTP: config.DefaultHTTPClientConfig, Query: "sum(queue_depth)",
			PerInstance: 10, StaleAfter: 5 * time.Minute}}
	})
	w := newWorld(t, 7, simConfig(f), withDemand)

	prom.SetScalar(35)
	// The first cycle reconciles (the start grace); the second rents all four at once.
	w.mustStep()
	rep := w.mustStep()
	if got := len(actionsOf(rep, "llm", scaler.KindCreate)); got != 4 {
		t.Fatalf("load 35 at 10 per instance: %d creates in the first cycle after the start grace, want 4", got)
	}
	w.settle("llm", 4)

	prom.SetScalar(0)
	for i := range 9 {
		rep := w.mustStep()
		for _, a := range rep.Plan.Actions {
			if a.Fleet == "llm" && a.Reason == scaler.ReasonAboveTarget {
				t.Fatalf("minute %d of the 10-minute window: %s", i+1, a)
			}
		}
		if d := rep.Plan.Fleet("llm").Desired; d.Raw != 0 || d.Final != 4 {
			t.Fatalf("minute %d: desired %+v, want raw 0 held at 4", i+1, d)
		}
	}
	drains := 0
	for range 8 {
		rep := w.mustStep()
		drains += len(actionsOf(rep, "llm", scaler.KindDrain))
	}
	ins := w.ours("llm")
	if drains < 4 || len(ins) != 2 || statusCount(ins, "stopped") != 2 {
		t.Fatalf("after the window: %d drains, %d instances (%d stopped), want 4 drains and a cold pool of 2 stopped",
			drains, len(ins), statusCount(ins, "stopped"))
	}
	rep = w.mustStep()
	cold := 0
	for _, iv := range scaler.NewView(w.cfg, &rep, nil).Instances {
		if iv.State == scaler.StateCold {
			cold++
		}
	}
	if cold != 2 {
		t.Fatalf("%d instances shown cold, want 2", cold)
	}

	prom.SetScalar(20)
	rep = w.mustStep()
	starts := actionsOf(rep, "llm", scaler.KindStart)
	if len(starts) != 2 || len(actionsOf(rep, "llm", scaler.KindCreate)) != 0 {
		t.Fatalf("load 20: actions %v, want the cold pool's two starts and no rental", rep.Plan.Actions)
	}
	for _, a := range starts {
		if !slices.ContainsFunc(ins, func(in vastapi.Instance) bool { return in.ID == a.InstanceID }) {
			t.Fatalf("started %d, not one of the cold pool", a.InstanceID)
		}
	}
	w.settle("llm", 2)
}

// Missing data never scales a fleet down: Prometheus failing for longer than stale_after
// falls back to size.target but keeps what runs.
func TestSimDemandOutageNeverScalesDown(t *testing.T) {
	prom := promtest.New()
	defer prom.Close()
	f := testFleet("llm", simMarket(t), simSized(1), func(f *policy.Fleet) {
		f.Min, f.Max, f.Budget, f.MaxActionsPerCycle = 0, 6, 30, 4
		f.CooldownUp, f.CooldownDown = 0, 0
		f.Autoscale = &policy.Autoscale{Demand: &policy.Demand{URL: policy.PlainValue(prom.URL),
			HTTP: config.DefaultHTTPClientConfig, Query: "q", PerInstance: 10, StaleAfter: 3 * time.Minute}}
	})
	w := newWorld(t, 8, simConfig(f), withDemand)
	prom.SetScalar(30)
	w.mustStep()
	w.settle("llm", 3)
	prom.Fail(503)
	fallbacks := 0
	for range 10 {
		rep := w.mustStep()
		if hasDecision(rep.Plan, "llm", scaler.DecisionFallback, scaler.ReasonDemandUnavailable) {
			fallbacks++
		}
		if n := len(actionsOf(rep, "llm", scaler.KindDestroy)); n != 0 {
			t.Fatalf("a Prometheus outage destroyed %d instances", n)
		}
	}
	if fallbacks < 6 || len(w.ours("llm")) != 3 {
		t.Fatalf("%d fallback decisions, %d instances; want the fallback after stale_after and 3 kept", fallbacks, len(w.ours("llm")))
	}
}

// setMarket prices every single-GPU offer of the simulator at dph_base high, except those in
// cheap (offer id → dph_base).
func setMarket(t *testing.T, w *world, high float64, cheap map[int64]float64) {
	t.Helper()
	for _, o := range w.sim.Offers() {
		if o.NumGPUs != 1 {
			continue
		}
		price := high
		if p, ok := cheap[o.ID]; ok {
			price = p
		}
		if err := w.sim.SetPrice(o.ID, price); err != nil {
			t.Fatal(err)
		}
	}
}

// distinctOffers are n offers of the fleet's market (its query matches them) on n distinct
// machines.
func distinctOffers(w *world, n int) []vastapi.Offer {
	seen := map[int64]bool{}
	var out []vastapi.Offer
	q := w.cfg.Fleets[0].Market.Query
	for _, o := range w.sim.Offers() {
		if q.Match(&o, w.clk.Now()) && !seen[o.MachineID] && len(out) < n {
			seen[o.MachineID] = true
			out = append(out, o)
		}
	}
	return out
}

// The batch story: a price-curve fleet grows when the market gets cheap.
func TestSimPriceCurveFleetGrowsWhenTheMarketIsCheap(t *testing.T) {
	f := testFleet("batch", simMarket(t), simSized(0), func(f *policy.Fleet) {
		f.Min, f.Max, f.Budget, f.MaxActionsPerCycle = 0, 6, 30, 6
		f.CooldownUp, f.CooldownDown = 0, 0
		f.Autoscale = &policy.Autoscale{PriceCurve: []policy.CurvePoint{{Instances: 2, MaxPrice: 0.60}, {Instances: 6, MaxPrice: 0.35}}}
	})
	w := newWorld(t, 9, simConfig(f), noDrift)
	offers := distinctOffers(w, 5)
	setMarket(t, w, 2.0, map[int64]float64{offers[0].ID: 0.50})
	w.mustStep() // reconciling
	rep := w.mustStep()
	if d := rep.Plan.Fleet("batch").Desired; d.Price != 1 {
		t.Fatalf("one offer under $0.60: desired %+v", d)
	}
	w.settle("batch", 1)
	cheap := map[int64]float64{}
	for _, o := range offers[1:] {
		cheap[o.ID] = 0.20
	}
	setMarket(t, w, 2.0, cheap)
	rep = w.mustStep()
	// Ranks: four offers at about $0.21, then the running instance at $0.51 > $0.35.
	if d := rep.Plan.Fleet("batch").Desired; d.Price != 4 || d.Final != 4 {
		t.Fatalf("four cheap offers: desired %+v, want 4", d)
	}
	w.settle("batch", 4)
}

// The batch story on interruptible instances: when min_bid rises over the curve, the fleet
// sheds the instances that became dear (not rebid, destroyed after the outbid grace) and keeps
// what the curve still pays for.
func TestSimPriceCurveFleetShedsWhatBecameDear(t *testing.T) {
	f := testFleet("spot", bidMarket(t, "num_gpus=1 reliability>0.9"), simSized(0), func(f *policy.Fleet) {
		f.Min, f.Max, f.Budget, f.MaxActionsPerCycle = 0, 6, 30, 6
		f.CooldownUp, f.CooldownDown = 0, 0
		f.MaxPrice = 0.60
		f.Bid = &policy.BidPolicy{Multiplier: 1, MaxPerHour: 0.60}
		f.Autoscale = &policy.Autoscale{PriceCurve: []policy.CurvePoint{{Instances: 2, MaxPrice: 0.60}, {Instances: 6, MaxPrice: 0.35}}}
	})
	w := newWorld(t, 10, simConfig(f), noDrift, func(_ *vastsim.Options, o *scaler.Options) { o.OutbidGrace = 2 * time.Minute })
	for _, o := range w.sim.Offers() {
		if o.NumGPUs == 1 {
			if err := w.sim.SetMinBid(o.ID, 2.0); err != nil {
				t.Fatal(err)
			}
		}
	}
	cheap := distinctOffers(w, 4)
	for _, o := range cheap {
		if err := w.sim.SetMinBid(o.ID, 0.20); err != nil {
			t.Fatal(err)
		}
	}
	w.mustStep()
	ins := w.settle("spot", 4)
	// Three of them become dear: min_bid $0.45 outbids their $0.20 bids.
	for _, o := range cheap[1:] {
		if err := w.sim.SetMinBid(o.ID, 0.45); err != nil {
			t.Fatal(err)
		}
	}
	destroyed := 0
	for range 6 {
		rep := w.mustStep()
		destroyed += len(actionsOf(rep, "spot", scaler.KindDestroy))
		if d := rep.Plan.Fleet("spot").Desired; d.Final > 2 {
			t.Fatalf("with three instances at $0.45 the curve pays for 2: desired %+v", d)
		}
	}
	left := w.ours("spot")
	if destroyed != 2 || len(left) != 2 || statusCount(left, "running") != 2 {
		t.Fatalf("%d destroyed, %d left (%d running) of %d; want the fleet shed to the curve's 2", destroyed, len(left), statusCount(left, "running"), len(ins))
	}
}
