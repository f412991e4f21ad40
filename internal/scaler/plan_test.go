package scaler_test

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

const owner = "test"

func testMarket(name string, typ vastapi.OfferType) *policy.Market {
	return &policy.Market{Name: name, Type: typ, Query: vastapi.Query{Type: typ}, StorageGB: 5}
}

func testFleet(name string, m *policy.Market, mut ...func(*policy.Fleet)) *policy.Fleet {
	f := &policy.Fleet{
		Name: name, Market: m, Min: 0, Target: 2, Max: 4,
		MaxPrice: 1.0, Budget: 10,
		Instance:           policy.InstanceTemplate{Image: "img", DiskGB: 20, Env: []policy.EnvVar{{Name: "TOKEN", Value: policy.SecretValue("s3cret")}}},
		BootTimeout:        15 * time.Minute,
		MaxActionsPerCycle: 10,
		ScaleDown:          policy.ScaleDownDestroy,
		StoppedTTL:         24 * time.Hour,
	}
	if m != nil && m.Type == vastapi.Bid {
		f.Bid = &policy.BidPolicy{Multiplier: 1.1, MaxPerHour: 0.9}
	}
	for _, fn := range mut {
		fn(f)
	}
	return f
}

func testConfig(fleets ...*policy.Fleet) *policy.Config {
	cfg := &policy.Config{Owner: owner, Orphans: policy.OrphansKeep,
		Account: policy.Account{CreditFloor: 10}}
	seen := map[string]bool{}
	for _, f := range fleets {
		if f.Market != nil && !seen[f.Market.Name] {
			seen[f.Market.Name] = true
			cfg.Markets = append(cfg.Markets, f.Market)
		}
	}
	cfg.Fleets = fleets
	return cfg
}

// testOffer is an offer on its own machine: dph_base base, storage 0.36 $/GB/month
// (20 GB = 0.01 $/h).
func testOffer(id int64, base float64) vastapi.Offer {
	return vastapi.Offer{ID: id, AskContractID: id, MachineID: 1000 + id, NumGPUs: 1, GPUName: "RTX 4090",
		DphBase: base, StorageCost: 0.36, DphTotal: base + 0.36*5/720, DiskSpace: 100, MinBid: base * 0.5,
		Rentable: true}
}

func testInstance(id int64, fleet, nonce, status string, base float64) vastapi.Instance {
	in := vastapi.Instance{ID: id, MachineID: 1000 + id, DphBase: base, StorageCost: 0.36, DiskSpace: 20,
		DphTotal: base + 0.01, StartDate: float64(t0.Add(-time.Hour).Unix()),
		IntendedStatus: "running", CurState: "running", NextState: "running"}
	if fleet != "" {
		in.Label = vastapi.Some(scaler.Label(owner, fleet, nonce))
	}
	if status != "" {
		in.ActualStatus = vastapi.Some(status)
	}
	if status == "stopped" {
		in.IntendedStatus, in.CurState, in.NextState = "stopped", "stopped", "stopped"
	}
	return in
}

func obsOf(credit float64, offers map[string][]vastapi.Offer, ins ...vastapi.Instance) scaler.Observation {
	return scaler.Observation{At: t0, Offers: offers, Instances: ins, User: vastapi.User{Credit: credit}}
}

func kinds(r scaler.Result) []string {
	var out []string
	for _, a := range r.Actions {
		id := a.InstanceID
		if a.Kind == scaler.KindCreate {
			id = a.Offer.ID
		}
		out = append(out, fmt.Sprintf("%s:%s:%d", a.Kind, a.Fleet, id))
	}
	return out
}

func hasDecision(r scaler.Result, fleet, decision, reason string) bool {
	for _, d := range r.Decisions {
		if d.Fleet == fleet && d.Decision == decision && d.Reason == reason {
			return true
		}
	}
	return false
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPlanRules(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	bidM := testMarket("b", vastapi.Bid)
	offers := map[string][]vastapi.Offer{"m": {testOffer(1, 0.30), testOffer(2, 0.40), testOffer(3, 0.50)}}
	type tc struct {
		name  string
		cfg   *policy.Config
		obs   scaler.Observation
		st    scaler.State
		want  []string // action kinds:fleet:id in order
		check func(t *testing.T, r scaler.Result)
	}
	cases := []tc{
		{
			name: "below target rents offers in the market's order up to target",
			cfg:  testConfig(testFleet("f", od)),
			obs:  obsOf(100, offers),
			want: []string{"create:f:1", "create:f:2"},
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionScaleUp, scaler.ReasonBelowTarget) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "ownership: every create carries the owner label in the request itself",
			cfg:  testConfig(testFleet("f", od)),
			obs:  obsOf(100, offers),
			want: []string{"create:f:1", "create:f:2"},
			check: func(t *testing.T, r scaler.Result) {
				for _, a := range r.Actions {
					o, f, n, ok := scaler.ParseLabel(a.Request.Label)
					if !ok || o != owner || f != "f" || n != a.Nonce || a.Label != a.Request.Label {
						t.Errorf("label %q nonce %q", a.Request.Label, a.Nonce)
					}
					if a.Request.Env["TOKEN"] != "s3cret" || strings.Contains(a.String(), "s3cret") {
						t.Errorf("env not passed or leaked: %s", a)
					}
				}
				if r.Actions[0].Nonce == r.Actions[1].Nonce {
					t.Error("two creates share a nonce")
				}
			},
		},
		{
			name: "at target does nothing",
			cfg:  testConfig(testFleet("f", od)),
			obs:  obsOf(100, offers, testInstance(10, "f", "a", "running", 0.3), testInstance(11, "f", "b", "running", 0.3)),
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionHold, scaler.ReasonAtTarget) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "ownership: foreign instances are never touched and never counted",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, offers,
				testInstance(20, "", "", "exited", 0.3), // unlabelled
				func() vastapi.Instance { // another owner's fleet of the same name
					in := testInstance(21, "", "", "running", 0.3)
					in.Label = vastapi.Some(scaler.Label("other", "f", "x"))
					return in
				}(),
				func() vastapi.Instance {
					in := testInstance(22, "", "", "offline", 0.3)
					in.Label = vastapi.Some("vastwatch:test:f") // malformed: not ours
					return in
				}()),
			want: []string{"create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if len(r.Managed) != 0 {
					t.Errorf("managed %v", r.Managed)
				}
			},
		},
		{
			name: "ownership: an instance journalled from our create reply is ours without a label",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, offers, testInstance(30, "", "", "exited", 0.3)),
			st: scaler.State{Creates: []scaler.CreateRecord{{Nonce: "n1", Fleet: "f", InstanceID: 30,
				Outcome: scaler.OutcomeCreated, Price: 0.31, IntentAt: t0.Add(-time.Hour), SeenAt: t0.Add(-time.Hour)}}},
			want: []string{"destroy:f:30", "create:f:1"},
		},
		{
			name: "price for the fleet's disk: dph_base + storage_cost × disk_gb / 720, not the searched dph_total",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1; f.Instance.DiskGB = 200 })),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {func() vastapi.Offer {
				o := testOffer(1, 0.30)
				o.DiskSpace = 500
				return o
			}()}}),
			want: []string{"create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if want := 0.30 + 0.36*200/720; !near(r.Actions[0].Price, want) {
					t.Errorf("price %v, want %v", r.Actions[0].Price, want)
				}
			},
		},
		{
			name: "offers whose disk is smaller than the fleet's are not rented",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1; f.Instance.DiskGB = 200 })),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.30)}}), // disk_space 100
			want: nil,
		},
		{
			name: "price cap: an offer above max price is never rented",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.MaxPrice = 0.35 })),
			obs:  obsOf(100, offers),
			want: []string{"create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if fs := r.Fleet("f"); !slices.Contains(fs.Blocked, scaler.ReasonPriceCap) {
					t.Errorf("blocked %v", fs.Blocked)
				}
			},
		},
		{
			name: "fleet budget: committed spend plus price must fit the budget",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 3; f.Budget = 0.75 })),
			obs:  obsOf(100, offers),
			want: []string{"create:f:1", "create:f:2"},
			check: func(t *testing.T, r scaler.Result) {
				fs := r.Fleet("f")
				if !slices.Contains(fs.Blocked, scaler.ReasonBudget) || fs.SpendAfter > 0.75 {
					t.Errorf("blocked %v spend %v", fs.Blocked, fs.SpendAfter)
				}
			},
		},
		{
			name: "fleet budget counts stopped instances and pending creates at full price",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 2; f.Budget = 0.65 })),
			obs:  obsOf(100, offers, testInstance(40, "f", "a", "stopped", 0.3)),
			st: scaler.State{PendingGrace: time.Hour, Creates: []scaler.CreateRecord{{Nonce: "p", Fleet: "f",
				Price: 0.31, Outcome: scaler.OutcomeUnknown, IntentAt: t0.Add(-time.Minute)}}},
			want: []string{"start:f:40"},
			check: func(t *testing.T, r scaler.Result) {
				if fs := r.Fleet("f"); !near(fs.SpendBefore, 0.62) || fs.PendingCreates != 1 {
					t.Errorf("spend %v pending %d", fs.SpendBefore, fs.PendingCreates)
				}
			},
		},
		{
			name: "account cap: all committed spend plus price within max spend per hour",
			cfg: func() *policy.Config {
				c := testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 3 }))
				c.Account.MaxSpendPerHour = 0.70
				return c
			}(),
			obs:  obsOf(100, offers, testInstance(50, "gone", "a", "running", 0.3)), // an orphan counts too
			want: []string{"create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if !slices.Contains(r.Fleet("f").Blocked, scaler.ReasonAccountCap) || r.CommittedAfter > 0.70 {
					t.Errorf("blocked %v committed %v", r.Fleet("f").Blocked, r.CommittedAfter)
				}
			},
		},
		{
			name: "credit floor: below it nothing is rented or started",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.ScaleDown = policy.ScaleDownStop })),
			obs:  obsOf(9.99, offers, testInstance(60, "f", "a", "stopped", 0.3)),
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !slices.Contains(r.Fleet("f").Blocked, scaler.ReasonCreditFloor) {
					t.Errorf("blocked %v", r.Fleet("f").Blocked)
				}
			},
		},
		{
			name: "max: fleet count including stopped and failed never exceeds max",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 3; f.Max = 3; f.StoppedTTL = 0 })),
			obs:  obsOf(100, offers, testInstance(70, "f", "a", "running", 0.3), testInstance(71, "f", "b", "stopped", 0.3)),
			want: []string{"start:f:71", "create:f:1"},
		},
		{
			name: "max: creates stop at max",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 2; f.Max = 2 })),
			obs: obsOf(100, offers, testInstance(70, "f", "a", "running", 0.3),
				func() vastapi.Instance { // a stopped bid instance we did not stop: outbid, not counted as active
					in := testInstance(72, "f", "c", "stopped", 0.3)
					in.IsBid = true
					return in
				}()),
			want: []string{"destroy:f:72", "create:f:1"},
		},
		{
			name: "pending creates count toward the fleet until listed",
			cfg:  testConfig(testFleet("f", od)),
			obs:  obsOf(100, offers, testInstance(80, "f", "a", "running", 0.3)),
			st: scaler.State{PendingGrace: 10 * time.Minute, Creates: []scaler.CreateRecord{
				{Nonce: "a", Fleet: "f", InstanceID: 80, Outcome: scaler.OutcomeCreated, IntentAt: t0.Add(-2 * time.Minute)},
				{Nonce: "b", Fleet: "f", Outcome: scaler.OutcomeUnknown, Price: 0.4, IntentAt: t0.Add(-2 * time.Minute)}}},
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionHold, scaler.ReasonPendingCreate) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "over target only through pending creates: nothing listed is removed",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, offers, testInstance(80, "f", "a", "running", 0.3)),
			st: scaler.State{PendingGrace: 10 * time.Minute, Creates: []scaler.CreateRecord{
				{Nonce: "b", Fleet: "f", Outcome: scaler.OutcomeUnknown, Price: 0.4, IntentAt: t0.Add(-2 * time.Minute)}}},
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionHold, scaler.ReasonPendingCreate) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "pending create no longer counts after the grace period",
			cfg:  testConfig(testFleet("f", od)),
			obs:  obsOf(100, offers, testInstance(80, "f", "a", "running", 0.3)),
			st: scaler.State{PendingGrace: 10 * time.Minute, Creates: []scaler.CreateRecord{
				{Nonce: "b", Fleet: "f", Outcome: scaler.OutcomeUnknown, Price: 0.4, IntentAt: t0.Add(-11 * time.Minute)}}},
			want: []string{"create:f:1"},
		},
		{
			name: "pending create listed by its label nonce is not counted twice",
			cfg:  testConfig(testFleet("f", od)),
			obs: obsOf(100, offers, func() vastapi.Instance {
				in := testInstance(80, "f", "b", "loading", 0.3)
				in.StartDate = float64(t0.Add(-time.Minute).Unix())
				return in
			}()),
			st: scaler.State{PendingGrace: 10 * time.Minute, Creates: []scaler.CreateRecord{
				{Nonce: "b", Fleet: "f", Outcome: scaler.OutcomeUnknown, Price: 0.4, IntentAt: t0.Add(-time.Minute)}}},
			want: []string{"create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if fs := r.Fleet("f"); fs.PendingCreates != 0 || !near(fs.SpendBefore, 0.4) {
					t.Errorf("pending %d spend %v (journalled price counts when higher)", fs.PendingCreates, fs.SpendBefore)
				}
			},
		},
		{
			name: "after a start no create until reconciled and one grace period passed",
			cfg:  testConfig(testFleet("f", od)),
			obs:  obsOf(100, offers),
			st:   scaler.State{CreatesNotBefore: t0.Add(time.Second)},
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionWait, scaler.ReasonReconciling) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "an unusable journal blocks every create with its reason",
			cfg:  testConfig(testFleet("f", od)),
			obs:  obsOf(100, offers),
			st:   scaler.State{CreatesBlocked: "journal corrupt"},
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !slices.Contains(r.Fleet("f").Blocked, scaler.ReasonJournal) {
					t.Errorf("blocked %v", r.Fleet("f").Blocked)
				}
			},
		},
		{
			name: "reserved markets are watched, never rented",
			cfg:  testConfig(testFleet("f", testMarket("m", vastapi.Reserved))),
			obs:  obsOf(100, offers),
			want: nil,
		},
		{
			name: "no offers blocks with no_offers",
			cfg:  testConfig(testFleet("f", od)),
			obs:  obsOf(100, map[string][]vastapi.Offer{}),
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !slices.Contains(r.Fleet("f").Blocked, scaler.ReasonNoOffers) {
					t.Errorf("blocked %v", r.Fleet("f").Blocked)
				}
			},
		},
		{
			name: "bid fleets create with an explicit price: min_bid × multiplier",
			cfg:  testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, map[string][]vastapi.Offer{"b": {testOffer(5, 0.40)}}), // min_bid 0.20
			want: []string{"create:f:5"},
			check: func(t *testing.T, r scaler.Result) {
				a := r.Actions[0]
				if a.Request.Price == nil || !near(*a.Request.Price, 0.22) || !near(a.Bid, 0.22) || !near(a.Price, 0.23) {
					t.Errorf("bid %v price %v request %v", a.Bid, a.Price, a.Request.Price)
				}
			},
		},
		{
			name: "bid capped by bid.max and by max price; below min_bid it is not rented",
			cfg: testConfig(testFleet("f", bidM, func(f *policy.Fleet) {
				f.Target = 2
				f.Bid.MaxPerHour = 0.25
			})),
			obs:  obsOf(100, map[string][]vastapi.Offer{"b": {testOffer(5, 0.48), testOffer(6, 0.60)}}), // min_bid 0.24, 0.30
			want: []string{"create:f:5"},
			check: func(t *testing.T, r scaler.Result) {
				if a := r.Actions[0]; !near(a.Bid, 0.25) {
					t.Errorf("bid %v, want capped 0.25", a.Bid)
				}
				if !slices.Contains(r.Fleet("f").Blocked, scaler.ReasonPriceCap) {
					t.Errorf("blocked %v", r.Fleet("f").Blocked)
				}
			},
		},
		{
			name: "committed spend of a bid instance is the recorded bid plus storage",
			cfg:  testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, nil, func() vastapi.Instance {
				in := testInstance(90, "f", "n", "running", 0.9)
				in.IsBid = true
				return in
			}()),
			st: scaler.State{Creates: []scaler.CreateRecord{{Nonce: "n", Fleet: "f", Bid: 0.2, Price: 0.21,
				InstanceID: 90, Outcome: scaler.OutcomeCreated, IntentAt: t0.Add(-time.Hour), SeenAt: t0.Add(-time.Hour)}}},
			check: func(t *testing.T, r scaler.Result) {
				if fs := r.Fleet("f"); !near(fs.SpendBefore, 0.21) {
					t.Errorf("spend %v, want 0.21", fs.SpendBefore)
				}
			},
		},
		{
			name: "failed instances are destroyed and replaced",
			cfg:  testConfig(testFleet("f", od)),
			obs:  obsOf(100, offers, testInstance(100, "f", "a", "running", 0.3), testInstance(101, "f", "b", "exited", 0.3)),
			want: []string{"destroy:f:101", "create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionReplace, scaler.ReasonFailed) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "not running within boot_timeout is failed, destroyed and replaced",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, offers, func() vastapi.Instance {
				in := testInstance(110, "f", "a", "loading", 0.3)
				in.StartDate = float64(t0.Add(-16 * time.Minute).Unix())
				return in
			}()),
			want: []string{"destroy:f:110", "create:f:1"},
		},
		{
			name: "loading within boot_timeout is pending and counts",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, offers, func() vastapi.Instance {
				in := testInstance(110, "f", "a", "loading", 0.3)
				in.StartDate = float64(t0.Add(-14 * time.Minute).Unix())
				return in
			}()),
			want: nil,
		},
		{
			name: "avoided machines are never rented",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, offers),
			st:   scaler.State{Avoided: map[int64]time.Time{1001: t0.Add(time.Hour), 1002: t0.Add(-time.Second)}},
			want: []string{"create:f:2"},
		},
		{
			name: "outbid: a bid instance in the stopped pattern we did not ask for is replaced",
			cfg:  testConfig(testFleet("f", bidM, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, map[string][]vastapi.Offer{"b": {testOffer(5, 0.40)}}, func() vastapi.Instance {
				in := testInstance(120, "f", "a", "stopped", 0.3)
				in.IsBid = true
				return in
			}()),
			want: []string{"destroy:f:120", "create:f:5"},
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionReplace, scaler.ReasonOutbid) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "scale-up starts our stopped instances before renting when scale_down is stop",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 3; f.ScaleDown = policy.ScaleDownStop })),
			obs:  obsOf(100, offers, testInstance(130, "f", "a", "stopped", 0.5), testInstance(131, "f", "b", "stopped", 0.3)),
			st:   scaler.State{StoppedByUs: map[int64]time.Time{130: t0, 131: t0}},
			want: []string{"start:f:131", "start:f:130", "create:f:1"},
		},
		{
			name: "stopped beyond target longer than stopped_ttl is destroyed",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1; f.ScaleDown = policy.ScaleDownStop })),
			obs: obsOf(100, offers, testInstance(140, "f", "a", "running", 0.3),
				testInstance(141, "f", "b", "stopped", 0.3), testInstance(142, "f", "c", "stopped", 0.3)),
			st:   scaler.State{StoppedSince: map[int64]time.Time{141: t0.Add(-25 * time.Hour), 142: t0.Add(-23 * time.Hour)}},
			want: []string{"destroy:f:141"},
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionCleanup, scaler.ReasonStoppedTTL) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "stopped_ttl counts from our journalled stop, which survives a restart",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1; f.ScaleDown = policy.ScaleDownStop })),
			obs: obsOf(100, offers, testInstance(140, "f", "a", "running", 0.3),
				testInstance(141, "f", "b", "stopped", 0.3)),
			st: scaler.State{StoppedSince: map[int64]time.Time{141: t0.Add(-time.Minute)},
				StoppedByUs: map[int64]time.Time{141: t0.Add(-25 * time.Hour)}},
			want: []string{"destroy:f:141"},
		},
		{
			name: "scale-down order: pending first, then the most expensive running",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs: obsOf(100, offers, testInstance(150, "f", "a", "running", 0.3), testInstance(151, "f", "b", "running", 0.6),
				testInstance(152, "f", "c", "running", 0.4), testInstance(153, "f", "d", "loading", 0.2)),
			want: []string{"destroy:f:153", "destroy:f:151", "destroy:f:152"},
			check: func(t *testing.T, r scaler.Result) {
				if fs := r.Fleet("f"); !near(fs.SpendAfter, 0.31) {
					t.Errorf("spend after %v", fs.SpendAfter)
				}
			},
		},
		{
			name: "scale-down order: failed first",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1; f.MaxActionsPerCycle = 1 })),
			obs:  obsOf(100, offers, testInstance(150, "f", "a", "running", 0.3), testInstance(151, "f", "b", "running", 0.6), testInstance(154, "f", "e", "offline", 0.2)),
			want: []string{"destroy:f:154"},
		},
		{
			name: "scale-down with scale_down stop stops instead of destroying",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1; f.ScaleDown = policy.ScaleDownStop })),
			obs:  obsOf(100, offers, testInstance(150, "f", "a", "running", 0.3), testInstance(151, "f", "b", "running", 0.6)),
			want: []string{"stop:f:151"},
		},
		{
			name: "cooldown up holds scale-up",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.CooldownUp = time.Minute })),
			obs:  obsOf(100, offers),
			st:   scaler.State{LastScaleUp: map[string]time.Time{"f": t0.Add(-30 * time.Second)}},
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionWait, scaler.ReasonCooldown) || len(r.Fleet("f").Blocked) != 0 {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "cooldown down holds scale-down but not repairs",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1; f.CooldownDown = 10 * time.Minute })),
			obs: obsOf(100, offers, testInstance(150, "f", "a", "running", 0.3), testInstance(151, "f", "b", "running", 0.6),
				testInstance(152, "f", "c", "exited", 0.6)),
			st:   scaler.State{LastScaleDown: map[string]time.Time{"f": t0.Add(-time.Minute)}},
			want: []string{"destroy:f:152"},
		},
		{
			name: "cooldown past: scale-up proceeds",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.CooldownUp = time.Minute })),
			obs:  obsOf(100, offers),
			st:   scaler.State{LastScaleUp: map[string]time.Time{"f": t0.Add(-61 * time.Second)}},
			want: []string{"create:f:1", "create:f:2"},
		},
		{
			name: "max actions per cycle bounds churn",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 3; f.MaxActionsPerCycle = 2 })),
			obs:  obsOf(100, offers, testInstance(160, "f", "a", "exited", 0.3)),
			want: []string{"destroy:f:160", "create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if !hasDecision(r, "f", scaler.DecisionWait, scaler.ReasonMaxActions) {
					t.Errorf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "orphans are counted and kept by default",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 0 })),
			obs:  obsOf(100, offers, testInstance(170, "old", "a", "running", 0.3), testInstance(171, "old", "b", "exited", 0.3)),
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if r.Orphans["old"] != 2 {
					t.Errorf("orphans %v", r.Orphans)
				}
			},
		},
		{
			name: "orphans are destroyed with orphans: destroy",
			cfg: func() *policy.Config {
				c := testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 0 }))
				c.Orphans = policy.OrphansDestroy
				return c
			}(),
			obs:  obsOf(100, offers, testInstance(170, "old", "a", "running", 0.3)),
			want: []string{"destroy:old:170"},
		},
		{
			name: "two fleets on one market never rent the same offer or machine",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 }), testFleet("g", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, offers),
			want: []string{"create:f:1", "create:g:2"},
		},
		{
			name: "offers whose listing ends before min_duration are not rented",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1; f.MinDuration = 24 * time.Hour })),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {
				func() vastapi.Offer {
					o := testOffer(1, 0.3)
					o.EndDate = vastapi.Some(float64(t0.Add(time.Hour).Unix()))
					return o
				}(),
				func() vastapi.Offer {
					o := testOffer(2, 0.4)
					o.EndDate = vastapi.Some(float64(t0.Add(48 * time.Hour).Unix()))
					return o
				}(),
			}}),
			want: []string{"create:f:2"},
		},
		{
			name: "actions run in the order destroy, stop, start, create",
			cfg: testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 2; f.ScaleDown = policy.ScaleDownStop }),
				testFleet("g", od, func(f *policy.Fleet) { f.Target = 0; f.ScaleDown = policy.ScaleDownStop })),
			obs: obsOf(100, offers, testInstance(180, "f", "a", "stopped", 0.3), testInstance(181, "g", "b", "running", 0.3),
				testInstance(182, "g", "c", "unknown", 0.3)),
			want: []string{"destroy:g:182", "stop:g:181", "start:f:180", "create:f:1"},
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
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestPlanIsPure(t *testing.T) {
	cfg := testConfig(testFleet("f", testMarket("m", vastapi.OnDemand), func(f *policy.Fleet) { f.Target = 3 }))
	obs := obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.3), testOffer(2, 0.4), testOffer(3, 0.5)}},
		testInstance(1, "f", "a", "exited", 0.3))
	a := scaler.Plan(t0, obs, cfg, scaler.State{})
	b := scaler.Plan(t0, obs, cfg, scaler.State{})
	if !reflect.DeepEqual(a.Actions, b.Actions) || !reflect.DeepEqual(a.Decisions, b.Decisions) {
		t.Fatal("the same inputs gave different plans")
	}
	if c := scaler.Plan(t0.Add(time.Second), obs, cfg, scaler.State{}); c.Actions[1].Nonce == a.Actions[1].Nonce {
		t.Error("a later plan reused a nonce")
	}
}

func TestClassify(t *testing.T) {
	boot := 15 * time.Minute
	started := t0.Add(-time.Minute)
	cases := []struct {
		name    string
		mut     func(*vastapi.Instance)
		since   time.Time
		stopped bool
		want    scaler.Phase
		why     string
	}{
		{"null status is pending", func(i *vastapi.Instance) { i.ActualStatus = vastapi.Opt[string]{} }, started, false, scaler.PhasePending, ""},
		{"created is pending", func(i *vastapi.Instance) { i.ActualStatus = vastapi.Some("created") }, started, false, scaler.PhasePending, ""},
		{"loading is pending", func(i *vastapi.Instance) { i.ActualStatus = vastapi.Some("loading") }, started, false, scaler.PhasePending, ""},
		{"scheduling is pending", func(i *vastapi.Instance) { i.ActualStatus = vastapi.Some("scheduling") }, started, false, scaler.PhasePending, ""},
		{"running is running", func(i *vastapi.Instance) { i.ActualStatus = vastapi.Some("running") }, started, false, scaler.PhaseRunning, ""},
		{"exited is failed", func(i *vastapi.Instance) { i.ActualStatus = vastapi.Some("exited") }, started, false, scaler.PhaseFailed, "exited"},
		{"unknown is failed", func(i *vastapi.Instance) { i.ActualStatus = vastapi.Some("unknown") }, started, false, scaler.PhaseFailed, "unknown"},
		{"offline is failed", func(i *vastapi.Instance) { i.ActualStatus = vastapi.Some("offline") }, started, false, scaler.PhaseFailed, "offline"},
		{"created with an OCI error is failed", func(i *vastapi.Instance) {
			i.ActualStatus = vastapi.Some("created")
			i.StatusMsg = vastapi.Some("Error response from daemon: OCI runtime create failed: runc")
		}, started, false, scaler.PhaseFailed, "oci_error"},
		{"loading past boot_timeout is failed", func(i *vastapi.Instance) { i.ActualStatus = vastapi.Some("loading") }, t0.Add(-16 * time.Minute), false, scaler.PhaseFailed, "boot_timeout"},
		{"stopped on-demand is stopped", func(i *vastapi.Instance) {
			i.ActualStatus = vastapi.Some("stopped")
			i.IntendedStatus, i.CurState, i.NextState = "stopped", "stopped", "stopped"
		}, started, false, scaler.PhaseStopped, ""},
		{"stopped bid we did not stop is outbid", func(i *vastapi.Instance) {
			i.ActualStatus = vastapi.Some("stopped")
			i.IsBid = true
			i.IntendedStatus, i.CurState, i.NextState = "stopped", "stopped", "stopped"
		}, started, false, scaler.PhaseOutbid, "outbid"},
		{"stopped bid we stopped is stopped", func(i *vastapi.Instance) {
			i.ActualStatus = vastapi.Some("stopped")
			i.IsBid = true
			i.IntendedStatus, i.CurState, i.NextState = "stopped", "stopped", "stopped"
		}, started, true, scaler.PhaseStopped, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := vastapi.Instance{ID: 1, IntendedStatus: "running", CurState: "running", NextState: "running"}
			c.mut(&in)
			p, why := scaler.Classify(&in, t0, c.since, boot, c.stopped)
			if p != c.want || why != c.why {
				t.Errorf("got %s/%q, want %s/%q", p, why, c.want, c.why)
			}
		})
	}
}

func TestLabel(t *testing.T) {
	l := scaler.Label("prod", "inference", "abc123")
	if l != "vastwatch:prod:inference:abc123" {
		t.Fatalf("label %q", l)
	}
	o, f, n, ok := scaler.ParseLabel(l)
	if !ok || o != "prod" || f != "inference" || n != "abc123" {
		t.Fatalf("parse %q %q %q %v", o, f, n, ok)
	}
	for _, bad := range []string{"", "vastwatch", "vastwatch:prod:inference", "other:prod:f:n", "vastwatch::f:n", "vastwatch:p:f:n:extra"} {
		if _, _, _, ok := scaler.ParseLabel(bad); ok {
			t.Errorf("%q parsed as ours", bad)
		}
	}
}

func TestPlanScheduleDrivesTheTarget(t *testing.T) {
	morning, err := policy.ParseScheduleEntry("0 9 * * *", 4)
	if err != nil {
		t.Fatal(err)
	}
	evening, err := policy.ParseScheduleEntry("0 19 * * *", 1)
	if err != nil {
		t.Fatal(err)
	}
	f := testFleet("f", testMarket("m", vastapi.OnDemand), func(f *policy.Fleet) {
		f.Target = 2
		f.Max = 6
		f.Schedule = policy.Schedule{Entries: []policy.ScheduleEntry{morning, evening}}
	})
	cfg := testConfig(f)
	var offers []vastapi.Offer
	for i := range 6 {
		offers = append(offers, testOffer(int64(i+1), 0.1))
	}
	obs := obsOf(100, map[string][]vastapi.Offer{"m": offers}, testInstance(500, "f", "a", "running", 0.1))
	before := time.Date(2026, 11, 30, 8, 59, 59, 0, time.UTC)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	r := scaler.Plan(before, obs, cfg, scaler.State{})
	if r.Fleet("f").Target != 1 || len(r.Actions) != 0 {
		t.Fatalf("08:59:59: target %d actions %v", r.Fleet("f").Target, kinds(r))
	}
	r = scaler.Plan(at, obs, cfg, scaler.State{})
	if r.Fleet("f").Target != 4 || len(r.Actions) != 3 {
		t.Fatalf("09:00: target %d actions %v", r.Fleet("f").Target, kinds(r))
	}
}

func TestBurn(t *testing.T) {
	running := testInstance(1, "f", "a", "running", 0.5) // dph_total 0.51
	stopped := testInstance(2, "f", "b", "stopped", 0.5)
	stopped.StorageTotalCost = 0.01
	loading := testInstance(3, "f", "c", "loading", 0.5) // storage 0.36 × 20 / 720
	for _, c := range []struct {
		name string
		in   vastapi.Instance
		want float64
	}{
		{"running bills dph_total", running, 0.51},
		{"stopped bills storage", stopped, 0.01},
		{"loading bills storage", loading, 0.01},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := scaler.Burn(&c.in); !near(got, c.want) {
				t.Errorf("burn %v, want %v", got, c.want)
			}
		})
	}
}
