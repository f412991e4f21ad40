package scaler_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// noDrift keeps the simulated market still, so that only the test moves prices.
func noDrift(so *vastsim.Options, _ *scaler.Options) { so.DriftInterval = -1 }

func bidMarket(t *testing.T, query string) *policy.Market {
	t.Helper()
	q, err := policy.ParseQuery(query, policy.SearchOptions{Order: "dph_total", Limit: 64, StorageGB: 20, Type: "bid"})
	if err != nil {
		t.Fatal(err)
	}
	return &policy.Market{Name: "bid", QueryText: query, Query: q, Type: vastapi.Bid, StorageGB: 20}
}

// record is the journal's create record of instance id.
func (w *world) record(id int64) scaler.CreateRecord {
	w.t.Helper()
	st, err := scaler.ReadState(w.dir, time.Hour)
	if err != nil {
		w.t.Fatal(err)
	}
	i := slices.IndexFunc(st.Creates, func(r scaler.CreateRecord) bool { return r.InstanceID == id })
	if i < 0 {
		w.t.Fatalf("instance %d not in the journal", id)
	}
	return st.Creates[i]
}

func TestSimOutbidInstanceIsRebidWithinTheCaps(t *testing.T) {
	f := testFleet("spot", bidMarket(t, "num_gpus=1 reliability>0.9"), simSized(1))
	f.Bid = &policy.BidPolicy{Multiplier: 1.2, MaxPerHour: 2}
	w := newWorld(t, 3, simConfig(f), noDrift)
	in := w.settle("spot", 1)[0]
	rec := w.record(in.ID)
	if !in.IsBid || rec.Bid <= 0 {
		t.Fatalf("not a bid rental: is_bid %v, journalled bid %v", in.IsBid, rec.Bid)
	}
	minBid := rec.Bid * 1.3
	if err := w.sim.SetMinBid(rec.OfferID, minBid); err != nil {
		t.Fatal(err)
	}
	rep := w.mustStep()
	if !slices.ContainsFunc(rep.Outcomes, func(o scaler.ActionOutcome) bool {
		return o.Action.Kind == scaler.KindRebid && o.Action.InstanceID == in.ID && o.Result == scaler.ResultOK
	}) {
		t.Fatalf("no rebid: %v", rep.Plan.Decisions)
	}
	after := w.settle("spot", 1)
	if after[0].ID != in.ID || w.creates() != 1 {
		t.Fatalf("instance %d replaced by %d (%d creates): a rebid within the caps keeps it", in.ID, after[0].ID, w.creates())
	}
	if got := w.record(in.ID).Bid; !near(got, minBid*1.2) {
		t.Errorf("journalled bid %.4f, want min_bid × multiplier %.4f", got, minBid*1.2)
	}
	if !near(after[0].DphBase, minBid*1.2) {
		t.Errorf("instance bids %.4f, want %.4f", after[0].DphBase, minBid*1.2)
	}
}

func TestSimOutbidBeyondTheCapsIsReplacedAfterTheGrace(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "without a restart"
		if restart {
			name = "a restart during the grace does not restart it"
		}
		t.Run(name, func(t *testing.T) { testOutbidGrace(t, restart) })
	}
}

func testOutbidGrace(t *testing.T, restart bool) {
	f := testFleet("spot", bidMarket(t, "num_gpus=1 reliability>0.9"), simSized(1))
	f.Bid = &policy.BidPolicy{Multiplier: 1.2, MaxPerHour: 1}
	w := newWorld(t, 4, simConfig(f), noDrift, func(_ *vastsim.Options, o *scaler.Options) { o.OutbidGrace = 5 * time.Minute })
	in := w.settle("spot", 1)[0]
	rec := w.record(in.ID)
	if err := w.sim.SetMinBid(rec.OfferID, 2); err != nil { // above bid.max
		t.Fatal(err)
	}
	outbidAt := w.clk.Now()
	var destroyedAt time.Time
	for i := range 10 {
		if restart && i == 3 {
			w.restart()
		}
		now := w.clk.Now()
		rep := w.mustStep()
		for _, o := range rep.Outcomes {
			if o.Action.Kind == scaler.KindRebid {
				t.Fatalf("rebid above the caps: %s", o.Action)
			}
			if o.Action.Kind == scaler.KindDestroy && o.Action.InstanceID == in.ID && o.Result == scaler.ResultOK {
				destroyedAt = now
			}
		}
		if !destroyedAt.IsZero() {
			break
		}
	}
	if destroyedAt.IsZero() || destroyedAt.Sub(outbidAt) < 5*time.Minute {
		t.Fatalf("outbid at %s, destroyed at %s: want destroyed after the 5m grace", outbidAt, destroyedAt)
	}
	// One poll to see it outbid, the grace, one poll to act: a restart adds nothing.
	if late := destroyedAt.Sub(outbidAt); late > 5*time.Minute+2*poll {
		t.Fatalf("outbid at %s, destroyed %s later: the grace restarted", outbidAt, late)
	}
	if _, ok := w.avoidedUntil(in.MachineID); !ok {
		t.Error("the outbid machine is not avoided")
	}
	if got := w.settle("spot", 1); got[0].ID == in.ID || got[0].MachineID == in.MachineID {
		t.Errorf("not replaced on another machine: %+v", got[0].ID)
	}
}

func TestSimFallingMarketRebalancesOneStepAtATime(t *testing.T) {
	m := simMarket(t)
	f := testFleet("web", m, simSized(2))
	f.Max = 2 // the surge of one goes over max
	f.Rebalance = &policy.Rebalance{MinSavings: 0.25, MinAge: 30 * time.Minute}
	w := newWorld(t, 5, simConfig(f), noDrift)
	first := w.settle("web", 2)
	old := map[int64]bool{}
	dearest, cheapest := 0.0, 1e9 // committed $/h of our instances
	for _, in := range first {
		old[in.ID] = true
		dearest = max(dearest, simCommitted(in))
		cheapest = min(cheapest, simCommitted(in))
	}
	// lower prices every other offer of the market at price (whole offer, fleet disk).
	lower := func(price float64) {
		used := map[int64]bool{}
		for _, in := range w.ours("web") {
			used[in.MachineID] = true
		}
		for _, o := range w.sim.Offers() {
			if !used[o.MachineID] && m.Query.Match(&o, w.clk.Now()) {
				if err := w.sim.SetPrice(o.ID, price-o.StorageCost*20/vastapi.HoursPerMonth); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	type tally struct{ creates, destroys, below int }
	run := func(cycles int) tally {
		var n tally
		for range cycles {
			rep := w.mustStep()
			inCycle := 0
			for _, o := range rep.Outcomes {
				if o.Action.Reason != scaler.ReasonRebalance {
					continue
				}
				switch o.Action.Kind {
				case scaler.KindCreate:
					n.creates++
					inCycle++
				case scaler.KindDestroy:
					n.destroys++
				}
			}
			for _, d := range rep.Plan.Decisions {
				if testing.Verbose() {
					t.Logf("cycle %d: %s", w.cycle, d)
				}
				if d.Reason == scaler.ReasonSavingsBelow {
					n.below++
				}
			}
			if inCycle > 1 {
				t.Fatalf("cycle %d: %d rebalance creates at once", w.cycle, inCycle)
			}
			if got := len(w.ours("web")); got > f.Max+1 {
				t.Fatalf("cycle %d: %d instances, max %d + a surge of one", w.cycle, got, f.Max)
			}
			var replacing int
			for _, in := range w.ours("web") {
				if !old[in.ID] && in.Status() != "running" {
					replacing++
				}
			}
			if replacing > 1 {
				t.Fatalf("cycle %d: %d replacements in flight", w.cycle, replacing)
			}
		}
		return n
	}
	// Young instances stay however cheap the market gets.
	lower(cheapest * 0.4)
	if n := run(20); n.creates != 0 {
		t.Fatalf("rebalanced before min_age: %+v", n)
	}
	// A saving under the threshold is not worth a move.
	lower(dearest * 0.9)
	if n := run(20); n.creates != 0 || n.below == 0 {
		t.Fatalf("savings below the threshold: %+v", n)
	}
	// A real saving: both move, one after the other, make-before-break.
	lower(cheapest * 0.4)
	n := run(20)
	if n.creates != 2 || n.destroys != 2 {
		t.Fatalf("falling market: %d rebalance creates and %d destroys, want 2 and 2", n.creates, n.destroys)
	}
	end := w.ours("web")
	for _, in := range end {
		if old[in.ID] || in.Status() != "running" || simCommitted(in) > cheapest*0.4+1e-9 {
			t.Errorf("after rebalancing: instance %d %s at $%.4f/h (old %v)", in.ID, in.Status(), simCommitted(in), old[in.ID])
		}
	}
	if len(end) != 2 {
		t.Fatalf("%d instances after rebalancing, want 2", len(end))
	}
	// And then it stays put: the new prices are the market's.
	if n := run(40); n.creates != 0 {
		t.Fatalf("churn after rebalancing: %+v", n)
	}
}

// TestSimMachineThatFailsTwiceIsAvoidedLonger: in a market of two machines A and B, a fleet of
// one fails on A (avoided 1h), then on B (avoided 1h; A's avoidance, closer to expiry, lapses
// for the fleet: at most one of two machines is avoided), then on A again, which is now avoided
// 2h. The fleet is back running after each failure without waiting for an avoidance to end.
func TestSimMachineThatFailsTwiceIsAvoidedLonger(t *testing.T) {
	probe := newWorld(t, 6, simConfig(testFleet("x", simMarket(t), simSized(0))), noDrift)
	offers, err := probe.api.SearchOffers(t.Context(), simMarket(t).Query)
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %v", err)
	}
	a := offers[0].MachineID
	i := slices.IndexFunc(offers, func(o vastapi.Offer) bool { return o.MachineID != a })
	if i < 0 {
		t.Fatal("the market has one machine")
	}
	b := offers[i].MachineID
	q, err := policy.ParseQuery(fmt.Sprintf("num_gpus=1 machine_id in [%d,%d]", a, b), policy.SearchOptions{Order: "dph_total", Limit: 64, StorageGB: 20})
	if err != nil {
		t.Fatal(err)
	}
	m := &policy.Market{Name: "two", Query: q, Type: vastapi.OnDemand, StorageGB: 20}
	f := testFleet("web", m, simSized(1))
	w := newWorld(t, 6, simConfig(f), noDrift)
	type failure struct {
		machine int64
		avoided time.Duration
	}
	var failures []failure
	for len(failures) < 3 && w.cycle < 100 {
		rep := w.mustStep()
		if fs := rep.Plan.Fleet("web"); fs.Avoided > scaler.AvoidBound(policy.DefaultAvoidMaxShare, fs.Eligible) {
			t.Fatalf("cycle %d: %d of %d eligible machines avoided, over the bound", w.cycle, fs.Avoided, fs.Eligible)
		}
		for _, in := range w.ours("web") {
			if in.Status() != "running" {
				continue
			}
			if err := w.sim.FailInstance(in.ID, vastsim.FailExited); err != nil {
				t.Fatal(err)
			}
			w.mustStep() // destroyed, machine avoided
			until, ok := w.avoidedUntil(in.MachineID)
			if !ok {
				t.Fatalf("machine %d not avoided after failure %d", in.MachineID, len(failures)+1)
			}
			failures = append(failures, failure{in.MachineID, until.Sub(w.clk.Now().Add(-poll))})
			w.settle("web", 1) // back within a few cycles, avoided machines or not
		}
	}
	want := []failure{{a, scaler.DefaultAvoidFor}, {b, scaler.DefaultAvoidFor}, {a, 2 * scaler.DefaultAvoidFor}}
	if !slices.Equal(failures, want) {
		t.Fatalf("failures (machine, avoided for) %v, want %v", failures, want)
	}
	if am := w.sc.AvoidedMachines(); len(am) != 2 || am[1].Machine != a || am[1].Failures != 2 || am[1].Fleet != "web" {
		t.Errorf("avoided machines %+v, want %d with 2 failures in fleet web last", am, a)
	}
	if w.creates() != 4 {
		t.Errorf("%d creates, want 4 (the first and one per failure)", w.creates())
	}
}

func TestSimListingEndIsReplacedBeforeTheEnd(t *testing.T) {
	// The catalogue is the generated market with listing ends set by the test: the simulator
	// has no control to move one offer's end_date.
	probe, err := vastsim.New(vastsim.Options{Seed: 7, Clock: clock.NewFake(simStart), Machines: 200})
	if err != nil {
		t.Fatal(err)
	}
	cat := probe.Offers()
	m := simMarket(t)
	start := simStart
	cheapest := -1
	for i := range cat {
		cat[i].EndDate = vastapi.Some(float64(start.Add(60 * 24 * time.Hour).Unix()))
		cat[i].Duration = vastapi.Opt[float64]{}
		if cat[i].Rentable && m.Query.Match(&cat[i], start) && (cheapest < 0 || cat[i].PriceFor(20) < cat[cheapest].PriceFor(20)) {
			cheapest = i
		}
	}
	end := start.Add(3 * time.Hour)
	for i := range cat {
		if cat[i].MachineID == cat[cheapest].MachineID {
			cat[i].EndDate = vastapi.Some(float64(end.Unix()))
		}
	}
	f := testFleet("web", m, simSized(1))
	w := newWorld(t, 7, simConfig(f), noDrift, func(so *vastsim.Options, o *scaler.Options) {
		so.Catalogue = cat
		o.ListingMargin = time.Hour
	})
	first := w.settle("web", 1)[0]
	if first.MachineID != cat[cheapest].MachineID {
		t.Fatalf("rented machine %d, not the cheapest %d", first.MachineID, cat[cheapest].MachineID)
	}
	var replacedAt time.Time
	for w.clk.Now().Before(end.Add(10 * time.Minute)) {
		now := w.clk.Now()
		rep := w.mustStep()
		for _, o := range rep.Outcomes {
			if o.Action.Kind == scaler.KindDestroy && o.Action.InstanceID == first.ID && o.Result == scaler.ResultOK {
				replacedAt = now
				if o.Action.Reason != scaler.ReasonListingEnding {
					t.Errorf("destroyed for %q", o.Action.Reason)
				}
			}
		}
		running := 0
		for _, in := range w.ours("web") {
			if in.Status() == "running" {
				running++
			}
		}
		if running == 0 {
			t.Fatalf("%s: no instance running: the replacement must run before the old one goes", w.clk.Now())
		}
		if !replacedAt.IsZero() {
			break
		}
	}
	if replacedAt.IsZero() || !replacedAt.Before(end) || end.Sub(replacedAt) > time.Hour {
		t.Fatalf("listing ends %s, old instance destroyed at %s: want within the hour before", end, replacedAt)
	}
	got := w.settle("web", 1)[0]
	if got.ID == first.ID || !got.EndDate.Valid || time.Unix(int64(got.EndDate.V), 0).Before(end.Add(time.Hour)) {
		t.Errorf("replacement %d ends %v", got.ID, got.EndDate)
	}
}
