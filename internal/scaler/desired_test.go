package scaler_test

import (
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// autoFleet is an autoscaled fleet of size 0..8 (fallback target 1) over market m.
func autoFleet(m *policy.Market, demand bool, curve []policy.CurvePoint, mut ...func(*policy.Fleet)) *policy.Fleet {
	return testFleet("f", m, append([]func(*policy.Fleet){func(f *policy.Fleet) {
		f.Min, f.Target, f.Max = 0, 1, 8
		f.CooldownUp, f.CooldownDown = 0, 0
		f.Autoscale = &policy.Autoscale{PriceCurve: curve, StabilizeDown: 10 * time.Minute}
		if demand {
			f.Autoscale.Demand = &policy.Demand{Query: "q", PerInstance: 10, StaleAfter: 5 * time.Minute}
		}
	}}, mut...)...)
}

// good is a demand read now.
func good(v float64) map[string]scaler.Demand {
	return map[string]scaler.Demand{"f": {Value: v, At: t0}}
}

func running(ids ...int64) []vastapi.Instance {
	var out []vastapi.Instance
	for _, id := range ids {
		out = append(out, testInstance(id, "f", "n"+string(rune('a'+id)), "running", 0.30))
	}
	return out
}

func TestDesiredSize(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	market := map[string][]vastapi.Offer{"m": {testOffer(1, 0.30), testOffer(2, 0.40), testOffer(3, 0.50)}}
	curve := []policy.CurvePoint{{Instances: 2, MaxPrice: 0.60}, {Instances: 6, MaxPrice: 0.35}}
	type tc struct {
		name   string
		fleet  *policy.Fleet
		obs    scaler.Observation
		st     scaler.State
		want   scaler.Desired // the fields compared: Demand, Price, Schedule, Raw, Final, DemandStale
		reason string         // a decision reason the fleet must get, if any
	}
	cases := []tc{
		{name: "demand: ceil(value / per_instance)", fleet: autoFleet(od, true, nil),
			obs: obsOf(100, market), st: scaler.State{Demand: good(35)},
			want: scaler.Desired{Demand: 4, Raw: 4, Final: 4}},
		{name: "demand: an exact multiple needs no extra instance", fleet: autoFleet(od, true, nil),
			obs: obsOf(100, market), st: scaler.State{Demand: good(30)},
			want: scaler.Desired{Demand: 3, Raw: 3, Final: 3}},
		{name: "demand: a negative value needs nothing", fleet: autoFleet(od, true, nil),
			obs: obsOf(100, market), st: scaler.State{Demand: good(-5)},
			want: scaler.Desired{Demand: 0, Raw: 0, Final: 0}},
		{name: "price: ranks 1-2 up to $0.60, 3-6 up to $0.35 over offers at .31 .41 .51", fleet: autoFleet(od, false, curve),
			obs: obsOf(100, market), want: scaler.Desired{Price: 2, Raw: 2, Final: 2}},
		{name: "price: running instances count at their locked price, here above the market",
			fleet: autoFleet(od, false, []policy.CurvePoint{{Instances: 1, MaxPrice: 0.60}, {Instances: 3, MaxPrice: 0.45}}),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}},
				testInstance(11, "f", "a", "running", 0.50)),
			// .31 (offer) ≤ .60, then .51 (running) > .45: one instance is worth it.
			want: scaler.Desired{Price: 1, Raw: 1, Final: 1}},
		{name: "price: a running instance below the market counts first",
			fleet: autoFleet(od, false, []policy.CurvePoint{{Instances: 1, MaxPrice: 0.45}, {Instances: 3, MaxPrice: 0.42}}),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.40), testOffer(2, 0.43)}},
				testInstance(11, "f", "a", "running", 0.20)),
			// .21 (running) ≤ .45, .41 ≤ .42, then .44 > .42.
			want: scaler.Desired{Price: 2, Raw: 2, Final: 2}},
		{name: "price: offers that share a GPU count once", fleet: autoFleet(od, false, curve),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {
				withGPUs(testOffer(1, 0.30), 7), withGPUs(testOffer(2, 0.31), 7), withGPUs(testOffer(3, 0.32), 8)}}),
			want: scaler.Desired{Price: 2, Raw: 2, Final: 2}},
		{name: "price: an outbid instance counts at the bid that wins it back", fleet: autoFleet(testMarket("b", vastapi.Bid),
			false, []policy.CurvePoint{{Instances: 1, MaxPrice: 0.60}, {Instances: 3, MaxPrice: 0.35}},
			func(f *policy.Fleet) { f.Bid = &policy.BidPolicy{Multiplier: 1, MaxPerHour: 0.9} }),
			obs: obsOf(100, nil, outbid(testInstance(11, "f", "a", "stopped", 0.40), 0.30), outbid(testInstance(12, "f", "b", "stopped", 0.40), 0.50)),
			// Won back at .31 and .51: the first is worth it (≤ .60), the second not (> .35).
			want: scaler.Desired{Price: 1, Raw: 1, Final: 1}},
		{name: "price: offers above the fleet's max price do not count", fleet: autoFleet(od, false, curve,
			func(f *policy.Fleet) { f.MaxPrice = 0.35 }),
			obs: obsOf(100, market), want: scaler.Desired{Price: 1, Raw: 1, Final: 1}},
		{name: "both: the smaller wins (serve the load at prices worth paying)", fleet: autoFleet(od, true, curve),
			obs: obsOf(100, market), st: scaler.State{Demand: good(55)},
			want: scaler.Desired{Demand: 6, Price: 2, Raw: 2, Final: 2}},
		{name: "clamped to size.max", fleet: autoFleet(od, true, nil),
			obs: obsOf(100, market), st: scaler.State{Demand: good(1000)},
			want: scaler.Desired{Demand: 100, Raw: 8, Final: 8}},
		{name: "clamped to size.min", fleet: autoFleet(od, true, nil, func(f *policy.Fleet) { f.Min = 2 }),
			obs: obsOf(100, market), st: scaler.State{Demand: good(0)},
			want: scaler.Desired{Demand: 0, Schedule: 2, Raw: 2, Final: 2}},
		{name: "stale: the fallback is size.target", fleet: autoFleet(od, true, nil, func(f *policy.Fleet) { f.Target = 2 }),
			obs: obsOf(100, market), st: scaler.State{Demand: map[string]scaler.Demand{"f": {Value: 90, At: t0.Add(-6 * time.Minute), Err: "boom"}}},
			want: scaler.Desired{Demand: 2, Raw: 2, Final: 2, DemandStale: true}, reason: scaler.ReasonDemandUnavailable},
		{name: "stale: never below what runs (missing data never scales down)", fleet: autoFleet(od, true, nil),
			obs: obsOf(100, market, running(11, 12, 13)...), st: scaler.State{},
			want: scaler.Desired{Demand: 3, Raw: 3, Final: 3, DemandStale: true}, reason: scaler.ReasonDemandUnavailable},
		{name: "within stale_after the last good value holds despite this cycle's error", fleet: autoFleet(od, true, nil),
			obs: obsOf(100, market), st: scaler.State{Demand: map[string]scaler.Demand{"f": {Value: 21, At: t0.Add(-4 * time.Minute), Err: "boom"}}},
			want: scaler.Desired{Demand: 3, Raw: 3, Final: 3}},
		{name: "scale-down window: acts on the highest desired over it", fleet: autoFleet(od, true, nil),
			obs: obsOf(100, market, running(11, 12, 13, 14)...),
			st: scaler.State{Demand: good(10), DesiredHistory: map[string][]scaler.DesiredSample{"f": {
				{At: t0.Add(-11 * time.Minute), Raw: 4}, {At: t0.Add(-8 * time.Minute), Raw: 3}, {At: t0.Add(-1 * time.Minute), Raw: 1}}}},
			want: scaler.Desired{Demand: 1, Raw: 1, Final: 3}},
		{name: "scale-down window: shrinks once the window is all low", fleet: autoFleet(od, true, nil),
			obs: obsOf(100, market, running(11, 12, 13, 14)...),
			st: scaler.State{Demand: good(10), DesiredHistory: map[string][]scaler.DesiredSample{"f": {
				{At: t0.Add(-11 * time.Minute), Raw: 4}, {At: t0.Add(-9 * time.Minute), Raw: 1}}}},
			want: scaler.Desired{Demand: 1, Raw: 1, Final: 1}},
		{name: "scale-down window: waits until the history covers it (after a restart)", fleet: autoFleet(od, true, nil),
			obs:  obsOf(100, market, running(11, 12, 13, 14)...),
			st:   scaler.State{Demand: good(10), DesiredHistory: map[string][]scaler.DesiredSample{"f": {{At: t0.Add(-3 * time.Minute), Raw: 1}}}},
			want: scaler.Desired{Demand: 1, Raw: 1, Final: 4}},
		{name: "scale-up window: acts on the lowest desired over it", fleet: autoFleet(od, true, nil,
			func(f *policy.Fleet) { f.Autoscale.StabilizeUp = 2 * time.Minute }),
			obs: obsOf(100, market, running(11)...),
			st: scaler.State{Demand: good(50), DesiredHistory: map[string][]scaler.DesiredSample{"f": {
				{At: t0.Add(-3 * time.Minute), Raw: 1}, {At: t0.Add(-1 * time.Minute), Raw: 2}}}},
			want: scaler.Desired{Demand: 5, Raw: 5, Final: 2}},
		{name: "scale-up window 0s: at once", fleet: autoFleet(od, true, nil),
			obs:  obsOf(100, market, running(11)...),
			st:   scaler.State{Demand: good(50), DesiredHistory: map[string][]scaler.DesiredSample{"f": {{At: t0.Add(-1 * time.Minute), Raw: 1}}}},
			want: scaler.Desired{Demand: 5, Raw: 5, Final: 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := scaler.Plan(t0, c.obs, testConfig(c.fleet), c.st)
			fs := res.Fleet("f")
			d := fs.Desired
			got := scaler.Desired{Demand: d.Demand, Price: d.Price, Schedule: d.Schedule, Raw: d.Raw, Final: d.Final, DemandStale: d.DemandStale}
			if got != c.want {
				t.Fatalf("desired %+v, want %+v", got, c.want)
			}
			if fs.Target != d.Final {
				t.Fatalf("target %d, want the final desired %d", fs.Target, d.Final)
			}
			if c.reason != "" && !hasDecision(res, "f", scaler.DecisionFallback, c.reason) {
				t.Fatalf("no %s decision: %v", c.reason, res.Decisions)
			}
		})
	}
}

// A plain fleet's target is its schedule's, as before autoscaling existed.
func TestAPlainFleetsDesiredIsItsSchedule(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	res := scaler.Plan(t0, obsOf(100, nil), testConfig(testFleet("f", od)), scaler.State{})
	d := res.Fleet("f").Desired
	if d.Autoscaled || d.Schedule != 2 || d.Final != 2 || d.HasDemand || d.HasPrice {
		t.Fatalf("desired %+v", d)
	}
}

func withGPUs(o vastapi.Offer, ids ...int64) vastapi.Offer {
	o.GPUIDs = ids
	return o
}

// outbid makes a bid instance outbid at minBid.
func outbid(in vastapi.Instance, minBid float64) vastapi.Instance {
	in.IsBid, in.MinBid = true, minBid
	in.IntendedStatus, in.CurState, in.NextState = "stopped", "stopped", "stopped"
	return in
}
