package scaler_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// outbidInstance is a bid instance of fleet f in the outbid pattern, bidding bid while the
// offer's min_bid is now minBid.
func outbidInstance(id int64, bid, minBid float64) vastapi.Instance {
	in := testInstance(id, "f", "a", "stopped", bid)
	in.IsBid, in.MinBid = true, minBid
	return in
}

func endingIn(in vastapi.Instance, d time.Duration) vastapi.Instance {
	in.EndDate = vastapi.Some(float64(t0.Add(d).Unix()))
	return in
}

func aged(in vastapi.Instance, d time.Duration) vastapi.Instance {
	in.StartDate = float64(t0.Add(-d).Unix())
	return in
}

func offerEnding(o vastapi.Offer, d time.Duration) vastapi.Offer {
	o.EndDate = vastapi.Some(float64(t0.Add(d).Unix()))
	return o
}

func action(r scaler.Result, kind scaler.Kind) *scaler.Action {
	for i := range r.Actions {
		if r.Actions[i].Kind == kind {
			return &r.Actions[i]
		}
	}
	return nil
}

// TestPlanMoves covers issue 8: rebids, outbid grace, listing ends, rebalancing and avoidance.
func TestPlanMoves(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	bidM := testMarket("b", vastapi.Bid)
	bidOffers := map[string][]vastapi.Offer{"b": {testOffer(5, 0.40)}}
	rebalance := func(f *policy.Fleet) {
		f.Target = 1
		f.Rebalance = &policy.Rebalance{MinSavings: 0.25, MinAge: 2 * time.Hour}
	}
	margin := scaler.State{ListingMargin: time.Hour, PendingGrace: 10 * time.Minute}
	pendingReplacement := func(old int64) scaler.State {
		st := margin
		st.Creates = []scaler.CreateRecord{{Nonce: "r", Fleet: "f", OfferID: 2, MachineID: 1002, Price: 0.41,
			Outcome: scaler.OutcomeIntent, IntentAt: t0.Add(-time.Minute), Replaces: old}}
		return st
	}
	listedReplacement := func(old, id int64) scaler.State {
		st := margin
		st.Creates = []scaler.CreateRecord{{Nonce: "r", Fleet: "f", OfferID: 2, MachineID: 1000 + id, Price: 0.41,
			Outcome: scaler.OutcomeCreated, InstanceID: id, IntentAt: t0.Add(-5 * time.Minute), SeenAt: t0.Add(-4 * time.Minute), Replaces: old}}
		return st
	}
	cases := []struct {
		name  string
		cfg   *policy.Config
		obs   scaler.Observation
		st    scaler.State
		want  []string
		check func(t *testing.T, r scaler.Result)
	}{
		{
			name: "outbid: rebid at min_bid × multiplier when within the caps, and it counts toward the target",
			cfg:  testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, bidOffers, outbidInstance(120, 0.3, 0.5)),
			want: []string{"rebid:f:120"},
			check: func(t *testing.T, r scaler.Result) {
				a := action(r, scaler.KindRebid)
				if !near(a.Bid, 0.55) || !near(a.Price, 0.56) || a.Reason != scaler.ReasonRebid {
					t.Errorf("rebid %+v, want bid 0.55 committed 0.56", a)
				}
				if !hasDecision(r, "f", scaler.DecisionRebid, scaler.ReasonRebid) {
					t.Errorf("decisions %v", r.Decisions)
				}
				if fs := r.Fleet("f"); !near(fs.SpendAfter, 0.56) {
					t.Errorf("committed after the rebid %.4f, want the new bid counted (0.56)", fs.SpendAfter)
				}
			},
		},
		{
			name: "outbid: an instance the fleet does not need is not rebid, and goes after the grace",
			cfg:  testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, bidOffers, outbidInstance(120, 0.3, 0.5), testInstance(121, "f", "b", "running", 0.3)),
			st:   scaler.State{OutbidGrace: 10 * time.Minute, OutbidSince: map[int64]time.Time{120: t0.Add(-11 * time.Minute)}},
			want: []string{"destroy:f:120"},
		},
		{
			name: "outbid: an instance the fleet does not need waits out the grace",
			cfg:  testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, bidOffers, outbidInstance(120, 0.3, 0.5), testInstance(121, "f", "b", "running", 0.3)),
			st:   scaler.State{OutbidGrace: 10 * time.Minute, OutbidSince: map[int64]time.Time{120: t0.Add(-time.Minute)}},
			want: nil,
		},
		{
			name: "outbid: the rebid is capped by bid.max_dollars_per_hour and never below min_bid",
			cfg: testConfig(testFleet("f", bidM, func(f *policy.Fleet) {
				f.Target = 1
				f.Bid.MaxPerHour = 0.52
			})),
			obs:  obsOf(100, bidOffers, outbidInstance(120, 0.3, 0.5)),
			want: []string{"rebid:f:120"},
			check: func(t *testing.T, r scaler.Result) {
				if a := action(r, scaler.KindRebid); !near(a.Bid, 0.52) {
					t.Errorf("bid %.4f, want the cap 0.52", a.Bid)
				}
			},
		},
		{
			name: "outbid: min_bid above the caps waits out the grace while a replacement is rented",
			cfg:  testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, bidOffers, outbidInstance(120, 0.3, 0.95)),
			st:   scaler.State{OutbidGrace: 10 * time.Minute, OutbidSince: map[int64]time.Time{120: t0.Add(-5 * time.Minute)}},
			want: []string{"create:f:5"},
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionWait, scaler.ReasonOutbid) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "outbid: past the grace it is destroyed and replaced",
			cfg:  testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, bidOffers, outbidInstance(120, 0.3, 0.95)),
			st:   scaler.State{OutbidGrace: 10 * time.Minute, OutbidSince: map[int64]time.Time{120: t0.Add(-11 * time.Minute)}},
			want: []string{"destroy:f:120", "create:f:5"},
			check: func(t *testing.T, r scaler.Result) {
				if a := action(r, scaler.KindDestroy); a.Reason != scaler.ReasonOutbid {
					t.Errorf("destroy reason %q", a.Reason)
				}
			},
		},
		{
			name: "outbid: a rebid that would break the fleet budget is not sent",
			cfg: testConfig(testFleet("f", bidM, func(f *policy.Fleet) {
				f.Target = 1
				f.Budget = 0.5
			})),
			obs:  obsOf(100, map[string][]vastapi.Offer{"b": {}}, outbidInstance(120, 0.3, 0.5)),
			st:   scaler.State{OutbidGrace: 10 * time.Minute},
			want: nil,
		},
		{
			name: "outbid: a rebid that would break the account cap is not sent",
			cfg: func() *policy.Config {
				c := testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 1 }))
				c.Account.MaxSpendPerHour = 0.4
				return c
			}(),
			obs:  obsOf(100, map[string][]vastapi.Offer{"b": {}}, outbidInstance(120, 0.3, 0.5)),
			st:   scaler.State{OutbidGrace: 10 * time.Minute},
			want: nil,
		},
		{
			name: "a stopped instance left by a failed create reply (new_contract) is cleaned up",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}}, testInstance(140, "f", "a", "stopped", 0.3)),
			st: scaler.State{Creates: []scaler.CreateRecord{{Nonce: "a", Fleet: "f", InstanceID: 140, Price: 0.31,
				Outcome: scaler.OutcomeCreated, IntentAt: t0.Add(-time.Minute), FailedReply: true}}},
			want: []string{"destroy:f:140", "create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionCleanup, scaler.ReasonFailedCreate) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "an instance of a failed create reply that runs is a member like any other",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}}, testInstance(140, "f", "a", "running", 0.3)),
			st: scaler.State{Creates: []scaler.CreateRecord{{Nonce: "a", Fleet: "f", InstanceID: 140, Price: 0.31,
				Outcome: scaler.OutcomeCreated, IntentAt: t0.Add(-time.Minute), FailedReply: true}}},
			want: nil,
		},
		{
			name: "avoided machines are listed with their failures, expired ones are not",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 0 })),
			obs:  obsOf(100, nil),
			st: scaler.State{Avoided: map[int64]time.Time{7: t0.Add(2 * time.Hour), 8: t0.Add(time.Hour), 9: t0.Add(-time.Second)},
				Failures: map[int64]scaler.MachineFailures{7: {Count: 2, Last: t0, Fleet: "f"}}},
			check: func(t *testing.T, r scaler.Result) {
				want := []scaler.AvoidedMachine{{Machine: 8, Until: t0.Add(time.Hour)}, {Machine: 7, Until: t0.Add(2 * time.Hour), Failures: 2, Fleet: "f"}}
				if !slices.Equal(r.Avoided, want) {
					t.Errorf("avoided %v, want %v", r.Avoided, want)
				}
			},
		},
		{
			name: "listing ending within the margin: a replacement is rented first, on another machine with a listing that lasts",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {
				offerEnding(testOffer(1, 0.30), 90*time.Minute), // ends too soon itself
				testOffer(2, 0.40),
			}}, endingIn(testInstance(120, "f", "a", "running", 0.3), 30*time.Minute)),
			st:   margin,
			want: []string{"create:f:2"},
			check: func(t *testing.T, r scaler.Result) {
				if a := action(r, scaler.KindCreate); a.Replaces != 120 || a.Reason != scaler.ReasonListingEnding {
					t.Errorf("create %s replaces %d", a, a.Replaces)
				}
				if !hasDecision(r, "f", scaler.DecisionReplace, scaler.ReasonListingEnding) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "listing ending: the old instance stays while the replacement is pending",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(3, 0.30)}},
				endingIn(testInstance(120, "f", "a", "running", 0.3), 30*time.Minute)),
			st:   pendingReplacement(120),
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionWait, scaler.ReasonReplacing) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "listing ending: the old instance is destroyed once the replacement runs",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, nil, endingIn(testInstance(120, "f", "a", "running", 0.3), 30*time.Minute),
				testInstance(121, "f", "r", "running", 0.4)),
			st:   listedReplacement(120, 121),
			want: []string{"destroy:f:120"},
			check: func(t *testing.T, r scaler.Result) {
				if a := action(r, scaler.KindDestroy); a.Reason != scaler.ReasonListingEnding {
					t.Errorf("destroy reason %q", a.Reason)
				}
			},
		},
		{
			name: "listing ending: at the end of the listing the old instance goes even before the replacement runs",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, nil, endingIn(testInstance(120, "f", "a", "running", 0.3), 0),
				aged(testInstance(121, "f", "r", "loading", 0.4), 2*time.Minute)),
			st:   listedReplacement(120, 121),
			want: []string{"destroy:f:120"},
		},
		{
			name: "listing ending: a failed replacement does not take the old instance with it",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, nil, endingIn(testInstance(120, "f", "a", "running", 0.3), 30*time.Minute),
				testInstance(121, "f", "r", "exited", 0.4)),
			st:   listedReplacement(120, 121),
			want: []string{"destroy:f:121"},
		},
		{
			name: "rebalance: an offer cheaper by min_savings replaces an instance older than min_age",
			cfg:  testConfig(testFleet("f", od, rebalance)),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour)),
			want: []string{"create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if a := action(r, scaler.KindCreate); a.Replaces != 120 || a.Reason != scaler.ReasonRebalance {
					t.Errorf("create %s replaces %d", a, a.Replaces)
				}
				if fs := r.Fleet("f"); !near(fs.SpendAfter, 0.51+0.31) {
					t.Errorf("committed during the overlap %.4f, want both counted", fs.SpendAfter)
				}
			},
		},
		{
			name: "rebalance: never while the savings are below the threshold",
			cfg:  testConfig(testFleet("f", od, rebalance)),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.40)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour)),
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionHold, scaler.ReasonSavingsBelow) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "rebalance: not before min_age",
			cfg:  testConfig(testFleet("f", od, rebalance)),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.10)}},
				aged(testInstance(120, "f", "a", "running", 0.5), time.Hour)),
			want: nil,
		},
		{
			name: "rebalance: off unless configured",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.10)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour)),
			want: nil,
		},
		{
			name: "rebalance: the overlap must fit the fleet budget",
			cfg:  testConfig(testFleet("f", od, rebalance, func(f *policy.Fleet) { f.Budget = 0.8 })),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour)),
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionHold, scaler.ReasonBudget) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "rebalance: the overlap must fit the account cap",
			cfg: func() *policy.Config {
				c := testConfig(testFleet("f", od, rebalance))
				c.Account.MaxSpendPerHour = 0.8
				return c
			}(),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour)),
			want: nil,
		},
		{
			name: "rebalance: one replacement in flight per fleet",
			cfg:  testConfig(testFleet("f", od, rebalance, func(f *policy.Fleet) { f.Target = 2 })),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour),
				aged(testInstance(122, "f", "b", "running", 0.5), 3*time.Hour)),
			st:   pendingReplacement(120),
			want: nil,
		},
		{
			name: "rebalance: a finished replacement (old instance gone) does not hold the next move",
			cfg:  testConfig(testFleet("f", od, rebalance, func(f *policy.Fleet) { f.Target = 2 })),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}},
				aged(testInstance(121, "f", "r", "running", 0.3), 3*time.Hour),
				aged(testInstance(122, "f", "b", "running", 0.5), 3*time.Hour)),
			st:   listedReplacement(120, 121),
			want: []string{"create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if a := action(r, scaler.KindCreate); a.Replaces != 122 {
					t.Errorf("create %s replaces %d, want 122", a, a.Replaces)
				}
			},
		},
		{
			name: "rebalance: a surge of one over max, not two",
			cfg: testConfig(testFleet("f", od, rebalance, func(f *policy.Fleet) {
				f.Target, f.Max = 1, 1
			})),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour)),
			want: []string{"create:f:1"},
		},
		{
			name: "rebalance: no surge beyond max + 1",
			cfg: testConfig(testFleet("f", od, rebalance, func(f *policy.Fleet) {
				f.Target, f.Max = 1, 1
			})),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour),
				testInstance(123, "f", "c", "stopped", 0.5)),
			want: nil,
		},
		{
			name: "rebalance counts against max_actions_per_cycle",
			cfg: testConfig(testFleet("f", od, rebalance, func(f *policy.Fleet) {
				f.MaxActionsPerCycle = 1
			})),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour),
				testInstance(124, "f", "d", "exited", 0.5)),
			want: []string{"destroy:f:124"},
		},
		{
			// The executor skips what spends after a destroy that failed; a rebid spends, so it
			// comes after every destroy of the plan.
			name: "rebids come after the destroys",
			cfg:  testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 2 })),
			obs:  obsOf(100, bidOffers, outbidInstance(120, 0.3, 0.5), outbidInstance(121, 0.3, 0.95)),
			st:   scaler.State{OutbidSince: map[int64]time.Time{121: t0.Add(-20 * time.Minute)}, OutbidGrace: 10 * time.Minute},
			want: []string{"destroy:f:121", "rebid:f:120", "create:f:5"},
		},
		{
			// Three eligible machines: the bound keeps one avoided, and a rebalance never lets an
			// avoidance lapse (only a fleet below target does).
			name: "rebalance never rents on an avoided machine",
			cfg:  testConfig(testFleet("f", od, rebalance)),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30), testOffer(2, 0.45), testOffer(3, 0.50)}},
				aged(testInstance(120, "f", "a", "running", 0.5), 3*time.Hour)),
			st:   scaler.State{Avoided: map[int64]time.Time{1001: t0.Add(time.Hour)}},
			want: nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := scaler.Plan(t0, c.obs, c.cfg, c.st)
			if got := kinds(r); !slices.Equal(got, c.want) {
				t.Fatalf("actions %v, want %v\ndecisions: %v", got, c.want, r.Decisions)
			}
			for _, a := range r.Actions {
				if a.Reason == "" || a.String() == "" {
					t.Errorf("action without reason: %+v", a)
				}
				if a.Kind == scaler.KindCreate && c.cfg.Fleets[0].Market.Type == vastapi.Bid && a.Request.Price == nil {
					t.Errorf("bid create without an explicit price: %s", a)
				}
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestAvoidTTLGrowsWithFailures(t *testing.T) {
	cases := []struct {
		n    int
		want time.Duration
	}{
		{0, 0}, {1, time.Hour}, {2, 2 * time.Hour}, {3, 4 * time.Hour}, {5, 16 * time.Hour}, {6, 24 * time.Hour}, {40, 24 * time.Hour},
	}
	for _, c := range cases {
		if got := scaler.AvoidTTL(time.Hour, 24*time.Hour, c.n); got != c.want {
			t.Errorf("failure %d: avoided %s, want %s", c.n, got, c.want)
		}
	}
}

func TestJournalFailuresSurviveRestartAndFade(t *testing.T) {
	dir := t.TempDir()
	j, err := scaler.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := j.Fail(7, "f", t0, time.Hour, 24*time.Hour, false)
	if err != nil || f.Count != 1 || !f.Until.Equal(t0.Add(time.Hour)) || f.Burst != 0 {
		t.Fatalf("first failure: %+v err %v", f, err)
	}
	// A restart: the count is read back from the state dir.
	j, err = scaler.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(3 * time.Hour)
	if err := j.Reconcile(nil, owner, t1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok := j.Avoided()[7]; ok {
		t.Error("expired avoidance kept")
	}
	f, err = j.Fail(7, "f", t1, time.Hour, 24*time.Hour, false)
	if err != nil || f.Count != 2 || !f.Until.Equal(t1.Add(2*time.Hour)) {
		t.Fatalf("second failure after a restart: %+v err %v, want 2h", f, err)
	}
	// Long after the last failure the machine starts afresh.
	t2 := t1.Add(scaler.FailureMemory + time.Hour)
	if err := j.Reconcile(nil, owner, t2, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok := j.Failures()[7]; ok {
		t.Error("failures remembered beyond FailureMemory")
	}
	if f, _ = j.Fail(7, "f", t2, time.Hour, 24*time.Hour, false); f.Count != 1 {
		t.Errorf("failure count %d after the memory faded, want 1", f.Count)
	}
}

func TestExecutorRebid(t *testing.T) {
	newJournal := func(t *testing.T) *scaler.Journal {
		j, err := scaler.OpenJournal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Intent(scaler.CreateRecord{Nonce: "n", Fleet: "f", OfferID: 5, Price: 0.31, Bid: 0.3, IntentAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := j.Resolve("n", scaler.OutcomeCreated, 120); err != nil {
			t.Fatal(err)
		}
		return j
	}
	rebid := scaler.Action{Kind: scaler.KindRebid, Fleet: "f", Reason: scaler.ReasonRebid, InstanceID: 120, Bid: 0.55, Price: 0.56}
	t.Run("the new bid is journalled before it is sent, so committed spend includes it", func(t *testing.T) {
		j := newJournal(t)
		api := &fakeMutator{t: t}
		api.bid = func(id int64, price float64) error {
			if c := j.Creates()[0]; c.Bid != 0.55 || c.Price != 0.56 {
				t.Errorf("journal at send time: bid %v price %v", c.Bid, c.Price)
			}
			if id != 120 || price != 0.55 {
				t.Errorf("change bid %d to %v", id, price)
			}
			return nil
		}
		outs := (&scaler.Executor{API: api, Journal: j}).Execute(context.Background(), []scaler.Action{rebid})
		if outs[0].Result != scaler.ResultOK {
			t.Fatalf("outcome %+v", outs[0])
		}
	})
	t.Run("a failed rebid keeps the higher bid in the journal", func(t *testing.T) {
		j := newJournal(t)
		api := &fakeMutator{t: t, bid: func(int64, float64) error { return errors.New("reset") }}
		outs := (&scaler.Executor{API: api, Journal: j}).Execute(context.Background(), []scaler.Action{rebid})
		if outs[0].Result != scaler.ResultError || j.Creates()[0].Bid != 0.55 {
			t.Fatalf("outcome %+v, journal %+v", outs[0], j.Creates()[0])
		}
	})
	t.Run("a failed create reply carrying new_contract is marked for clean-up", func(t *testing.T) {
		o := testOffer(1, 0.30)
		m := &fakeMutator{t: t, search: listed(o), create: func(int64, vastapi.CreateRequest) (vastapi.CreateResult, error) {
			return vastapi.CreateResult{}, &vastapi.APIError{Status: 200, Msg: "failed", NewContract: vastapi.Some(int64(909))}
		}}
		j, err := scaler.OpenJournal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		ex := &scaler.Executor{API: m, Journal: j, Clock: clock.NewFake(t0)}
		ex.Execute(context.Background(), []scaler.Action{planOne(t, o)})
		if c := j.Creates(); len(c) != 1 || c[0].InstanceID != 909 || !c[0].FailedReply {
			t.Fatalf("journal %+v", c)
		}
	})
	t.Run("a rebid is not sent after a destroy failed: it counted on the money the destroy would free", func(t *testing.T) {
		j := newJournal(t)
		api := &fakeMutator{t: t, destroy: func(int64) error { return errors.New("reset") }}
		outs := (&scaler.Executor{API: api, Journal: j}).Execute(context.Background(), []scaler.Action{
			{Kind: scaler.KindDestroy, Fleet: "f", Reason: scaler.ReasonOutbid, InstanceID: 121, Price: 0.13}, rebid})
		if outs[0].Result != scaler.ResultError || outs[1].Result != scaler.ResultSkipped {
			t.Fatalf("outcomes %+v", outs)
		}
		if c := j.Creates()[0]; c.Bid != 0.3 {
			t.Fatalf("the skipped rebid was journalled: %+v", c)
		}
	})
	t.Run("dry-run sends no rebid", func(t *testing.T) {
		api := &fakeMutator{t: t}
		outs := (&scaler.Executor{API: api, Journal: newJournal(t), DryRun: true}).Execute(context.Background(), []scaler.Action{rebid})
		if outs[0].Result != scaler.ResultDryRun || len(api.calls) != 0 {
			t.Fatalf("outcome %+v, calls %v", outs[0], api.calls)
		}
	})
	t.Run("a failure destroy avoids the machine longer each time", func(t *testing.T) {
		j := newJournal(t)
		api := &fakeMutator{t: t, destroy: func(int64) error { return nil }}
		clk := clock.NewFake(t0)
		ex := &scaler.Executor{API: api, Journal: j, Clock: clk, AvoidFor: time.Hour, AvoidMax: 24 * time.Hour}
		d := scaler.Action{Kind: scaler.KindDestroy, Fleet: "f", Reason: scaler.ReasonFailed, InstanceID: 130, MachineID: 9}
		ex.Execute(context.Background(), []scaler.Action{d})
		first := j.Avoided()[9].Sub(t0)
		clk.Advance(2 * time.Hour)
		ex.Execute(context.Background(), []scaler.Action{d})
		second := j.Avoided()[9].Sub(clk.Now())
		if first != time.Hour || second != 2*time.Hour {
			t.Errorf("avoided %s then %s, want 1h then 2h", first, second)
		}
		d.Reason, d.MachineID = scaler.ReasonAboveTarget, 10
		ex.Execute(context.Background(), []scaler.Action{d})
		if _, ok := j.Avoided()[10]; ok {
			t.Error("a scale-down destroy avoided its machine")
		}
	})
}
