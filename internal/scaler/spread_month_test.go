package scaler_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// placed is testOffer on a given machine, host and geolocation ("" = null).
func placed(id int64, base float64, machine, host int64, geo string) vastapi.Offer {
	o := testOffer(id, base)
	o.MachineID, o.HostID = machine, host
	if geo != "" {
		o.Geolocation = vastapi.Some(geo)
	}
	return o
}

func placedInstance(id int64, fleet, status string, machine, host int64, geo string) vastapi.Instance {
	in := testInstance(id, fleet, "n"+string(rune('a'+id%26)), status, 0.3)
	in.MachineID, in.HostID = machine, host
	if geo != "" {
		in.Geolocation = vastapi.Some(geo)
	}
	return in
}

func blockedBy(r scaler.Result, fleet, reason string) bool {
	fs := r.Fleet(fleet)
	return fs != nil && slices.Contains(fs.Blocked, reason) && hasDecision(r, fleet, scaler.DecisionBlocked, reason)
}

func TestPlanSpreadAndMonthlyBudgets(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	spread := func(sp policy.Spread, target int) func(*policy.Fleet) {
		return func(f *policy.Fleet) { f.Spread, f.Target = sp, target }
	}
	// t0 is 2026-11-30 12:00 UTC: 12 hours are left in the month. Offer n at base b costs b+0.01 $/h.
	cases := []struct {
		name  string
		cfg   *policy.Config
		obs   scaler.Observation
		st    scaler.State
		want  []string
		check func(t *testing.T, r scaler.Result)
	}{
		{
			name: "spread: an offer on a host the fleet already uses up to max_per_host is skipped",
			cfg:  testConfig(testFleet("f", od, spread(policy.Spread{MaxPerHost: 1}, 2))),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {placed(1, 0.3, 501, 7, "Texas, US"), placed(2, 0.4, 502, 8, "Texas, US")}},
				placedInstance(10, "f", "running", 500, 7, "Texas, US")),
			want: []string{"create:f:2"},
		},
		{
			name: "spread: creates planned in the same cycle count toward max_per_host",
			cfg:  testConfig(testFleet("f", od, spread(policy.Spread{MaxPerHost: 1}, 2))),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {placed(1, 0.3, 501, 7, ""), placed(2, 0.35, 502, 7, ""), placed(3, 0.4, 503, 8, "")}}),
			want: []string{"create:f:1", "create:f:3"},
		},
		{
			name: "spread: max_per_machine counts the fleet's instances on the machine",
			cfg:  testConfig(testFleet("f", od, spread(policy.Spread{MaxPerMachine: 1}, 2))),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {placed(1, 0.3, 500, 7, ""), placed(2, 0.4, 502, 7, "")}},
				placedInstance(10, "f", "running", 500, 7, "")),
			want: []string{"create:f:2"},
		},
		{
			name: "spread: pending creates count toward max_per_country",
			cfg:  testConfig(testFleet("f", od, spread(policy.Spread{MaxPerCountry: 1}, 2))),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {placed(1, 0.3, 501, 7, ", US"), placed(2, 0.4, 502, 8, "Quebec, CA")}}),
			st: scaler.State{PendingGrace: time.Hour, Creates: []scaler.CreateRecord{{Nonce: "p1", Fleet: "f", OfferID: 99,
				MachineID: 599, HostID: 9, Country: "US", Price: 0.2, Outcome: scaler.OutcomeUnknown, IntentAt: t0.Add(-time.Minute)}}},
			want: []string{"create:f:2"},
		},
		{
			name: "spread: with max_per_country an offer of unknown country is not rented",
			cfg:  testConfig(testFleet("f", od, spread(policy.Spread{MaxPerCountry: 2}, 1))),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {placed(1, 0.3, 501, 7, ""), placed(2, 0.4, 502, 8, "Sweden, SE")}}),
			want: []string{"create:f:2"},
		},
		{
			name: "spread: an instance of unknown country matches no country",
			cfg:  testConfig(testFleet("f", od, spread(policy.Spread{MaxPerCountry: 1}, 2))),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {placed(1, 0.3, 501, 7, "Texas, US")}},
				placedInstance(10, "f", "running", 500, 6, "")),
			want: []string{"create:f:1"},
		},
		{
			name: "spread: a failed instance destroyed this cycle frees its host for the replacement",
			cfg:  testConfig(testFleet("f", od, spread(policy.Spread{MaxPerHost: 1}, 1))),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {placed(1, 0.3, 501, 7, "")}},
				placedInstance(10, "f", "exited", 500, 7, "")),
			want: []string{"destroy:f:10", "create:f:1"},
		},
		{
			name: "spread: blocked with reason spread when no offer keeps the limits",
			cfg:  testConfig(testFleet("f", od, spread(policy.Spread{MaxPerHost: 1, MaxPerCountry: 5}, 2))),
			obs: obsOf(100, map[string][]vastapi.Offer{"m": {placed(1, 0.3, 501, 7, "Norway, NO"), placed(2, 0.4, 502, 8, "")}},
				placedInstance(10, "f", "running", 500, 7, "Norway, NO")),
			want: nil,
			check: func(t *testing.T, r scaler.Result) {
				if !blockedBy(r, "f", scaler.ReasonSpread) {
					t.Errorf("not blocked by spread: %v %v", r.Fleet("f").Blocked, r.Decisions)
				}
			},
		},
		{
			name: "monthly: a create whose projected month-end spend fits the budget is rented",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target, f.Monthly = 1, 10 })),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.3)}}),
			st:   scaler.State{MonthToDate: scaler.MonthSpend{Month: "2026-11", Fleets: map[string]float64{"f": 6}}},
			want: []string{"create:f:1"}, // 6 + 0.31 × 12 = 9.72
			check: func(t *testing.T, r scaler.Result) {
				fs := r.Fleet("f")
				if !near(fs.MonthSpend, 6) || !near(fs.MonthForecast, 6+0.31*12) || fs.MonthBudget != 10 {
					t.Errorf("month spend %v forecast %v budget %v", fs.MonthSpend, fs.MonthForecast, fs.MonthBudget)
				}
			},
		},
		{
			name: "monthly: a create that would pass the fleet's monthly budget is blocked with monthly_budget",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target, f.Monthly = 1, 10 })),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.3)}}),
			st:   scaler.State{MonthToDate: scaler.MonthSpend{Month: "2026-11", Fleets: map[string]float64{"f": 7}}},
			want: nil, // 7 + 0.31 × 12 = 10.72
			check: func(t *testing.T, r scaler.Result) {
				if !blockedBy(r, "f", scaler.ReasonMonthlyBudget) {
					t.Errorf("not blocked by the monthly budget: %v", r.Decisions)
				}
			},
		},
		{
			name: "monthly: a cheaper offer later in the order still fits",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target, f.Monthly = 1, 10 })),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.5), testOffer(2, 0.1)}}),
			st:   scaler.State{MonthToDate: scaler.MonthSpend{Month: "2026-11", Fleets: map[string]float64{"f": 6.5}}},
			want: []string{"create:f:2"},
		},
		{
			name: "monthly: the account's monthly budget counts every fleet's committed spend",
			cfg: func() *policy.Config {
				c := testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 }), testFleet("g", od, func(f *policy.Fleet) { f.Target = 1 }))
				c.Account.MonthlyBudget = 10
				return c
			}(),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.3)}}, testInstance(10, "g", "a", "running", 0.3)),
			st:   scaler.State{MonthToDate: scaler.MonthSpend{Month: "2026-11", Account: 6}},
			want: nil, // 6 + (0.31 + 0.31) × 12 = 13.44
			check: func(t *testing.T, r scaler.Result) {
				if !blockedBy(r, "f", scaler.ReasonMonthlyBudget) {
					t.Errorf("not blocked by the account's monthly budget: %v", r.Decisions)
				}
				if !near(r.AccountMonthSpend, 6) || !near(r.AccountMonthForecast, 6+0.31*12) {
					t.Errorf("account month spend %v forecast %v", r.AccountMonthSpend, r.AccountMonthForecast)
				}
			},
		},
		{
			name: "monthly: month-to-date of an earlier month counts as nothing spent",
			cfg:  testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target, f.Monthly = 1, 10 })),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.3)}}),
			st:   scaler.State{MonthToDate: scaler.MonthSpend{Month: "2026-10", Fleets: map[string]float64{"f": 9}, Account: 9}},
			want: []string{"create:f:1"},
		},
		{
			name: "monthly: an unknown month-to-date blocks only fleets under a monthly budget",
			cfg: testConfig(testFleet("f", od, func(f *policy.Fleet) { f.Target, f.Monthly = 1, 1000 }),
				testFleet("g", od, func(f *policy.Fleet) { f.Target = 1 })),
			obs:  obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(1, 0.3)}}),
			st:   scaler.State{MonthUnknown: "spend book unusable"},
			want: []string{"create:g:1"},
			check: func(t *testing.T, r scaler.Result) {
				if !blockedBy(r, "f", scaler.ReasonMonthlyBudget) {
					t.Errorf("not blocked: %v", r.Decisions)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := scaler.Plan(t0, c.obs, c.cfg, c.st)
			if got := kinds(r); !slices.Equal(got, c.want) {
				t.Fatalf("actions %v, want %v\ndecisions: %v", got, c.want, r.Decisions)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestCountry(t *testing.T) {
	for geo, want := range map[string]string{"Quebec, CA": "CA", ", US": "US", "Sweden, SE": "SE", "US": "US", "": "", "Somewhere": "", "a, b, jp ": "JP"} {
		if got := scaler.Country(geo); got != want {
			t.Errorf("Country(%q) = %q, want %q", geo, got, want)
		}
	}
}

func TestSpendBookIntegratesSplitsMonthsAndPersists(t *testing.T) {
	dir := t.TempDir()
	b, err := scaler.OpenSpendBook(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	if cost, _ := b.Advance(start); len(cost) != 0 {
		t.Fatalf("first advance costs %v", cost)
	}
	if err := b.Commit(start, map[string]float64{"f": 2}, 3); err != nil {
		t.Fatal(err)
	}
	cost, acct := b.Advance(start.Add(time.Hour))
	if !near(cost["f"], 2) || !near(acct, 3) || !near(b.Month().Fleets["f"], 2) {
		t.Fatalf("one hour at 2 $/h: cost %v account %v month %+v", cost, acct, b.Month())
	}
	if err := b.Commit(start.Add(time.Hour), map[string]float64{"f": 2}, 3); err != nil {
		t.Fatal(err)
	}
	// A restart: the book read back integrates the downtime at the rate committed before it.
	b2, err := scaler.OpenSpendBook(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := b2.Month(); m.Month != "2026-11" || !near(m.Fleets["f"], 2) || !near(m.Account, 3) {
		t.Fatalf("read back %+v", m)
	}
	// 23:00 → 01:30 the next day: one hour in November, 1.5 h in December.
	cost, acct = b2.Advance(start.Add(3*time.Hour + 30*time.Minute))
	if !near(cost["f"], 5) || !near(acct, 7.5) {
		t.Fatalf("2.5 h at 2 $/h: cost %v account %v", cost, acct)
	}
	m := b2.Month()
	if m.Month != "2026-12" || !near(m.Fleets["f"], 3) || !near(m.Account, 4.5) {
		t.Fatalf("December so far: %+v, want f 3 and account 4.5", m)
	}
	if ms, err := monthToDate(dir, start); err != nil || !near(ms["f"], 2) {
		t.Fatalf("month-to-date on disk before the save: %+v %v", ms, err)
	}
	if err := b2.Commit(start.Add(3*time.Hour+30*time.Minute), nil, 0); err != nil {
		t.Fatal(err)
	}
	b3, err := scaler.OpenSpendBook(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := b3.Month(); m.Month != "2026-12" || !near(m.Fleets["f"], 3) {
		t.Fatalf("saved %+v, want December's", m)
	}
	if ms, acct := b3.Month().At(start.Add(40 * 24 * time.Hour)); len(ms) != 0 || acct != 0 {
		t.Fatalf("month-to-date a month later: %v, account %v", ms, acct)
	}
	if h := scaler.HoursLeftInMonth(start); !near(h, 2) {
		t.Fatalf("hours left at %s: %v", start, h)
	}
}

func TestSimMonthlyBudgetBlocksCreatesSurvivesRestartAndResetsAtMonthEnd(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(1))
	w := newWorld(t, 5, simConfig(f))
	var rep scaler.CycleReport
	for range 120 { // two hours with one instance
		rep = w.mustStep()
	}
	fs := rep.Plan.Fleet("web")
	if len(w.ours("web")) != 1 || fs.MonthSpend <= 0 || fs.MonthForecast <= fs.MonthSpend {
		t.Fatalf("after 2h: %d instances, month spend %v forecast %v", len(w.ours("web")), fs.MonthSpend, fs.MonthForecast)
	}
	// The cap leaves room for the running instance to the month's end, not for a second one.
	f.Monthly = fs.MonthForecast + 0.05
	f.Target = 2
	rep = w.mustStep()
	if !blockedBy(rep.Plan, "web", scaler.ReasonMonthlyBudget) || len(w.ours("web")) != 1 {
		t.Fatalf("not blocked by the monthly budget: %v, %d instances", rep.Plan.Decisions, len(w.ours("web")))
	}
	before := rep.Plan.Fleet("web").MonthSpend
	w.restart()
	for range 3 {
		rep = w.mustStep()
	}
	after := rep.Plan.Fleet("web").MonthSpend
	if after < before || !blockedBy(rep.Plan, "web", scaler.ReasonMonthlyBudget) || len(w.ours("web")) != 1 {
		t.Fatalf("after a restart: month spend %v (before %v), decisions %v, %d instances", after, before, rep.Plan.Decisions, len(w.ours("web")))
	}
	// Past midnight UTC the month starts again from zero: only the minutes of December count.
	w.clk.Set(time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC))
	rep = w.mustStep()
	fs = rep.Plan.Fleet("web")
	if fs.MonthSpend >= before || fs.MonthSpend > fs.SpendBefore*0.02 {
		t.Fatalf("December month-to-date %v (November's was %v, committed $%.4f/h)", fs.MonthSpend, before, fs.SpendBefore)
	}
	b, err := scaler.OpenSpendBook(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := b.Month(); m.Month != "2026-12" {
		t.Fatalf("persisted month %+v", m)
	}
}

func TestSimUnreadableSpendBookBlocksOnlyFleetsUnderAMonthlyBudget(t *testing.T) {
	capped := testFleet("capped", simMarket(t), simSized(1))
	capped.Monthly = 10_000
	free := testFleet("free", simMarket(t), simSized(1))
	w := newWorld(t, 9, simConfig(capped, free))
	if err := os.WriteFile(filepath.Join(w.dir, scaler.SpendFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.restart()
	var rep scaler.CycleReport
	for range 3 {
		rep = w.mustStep()
	}
	var se *scaler.SpendError
	if !errors.As(rep.SpendErr, &se) || !blockedBy(rep.Plan, "capped", scaler.ReasonMonthlyBudget) {
		t.Fatalf("spend error %v, decisions %v", rep.SpendErr, rep.Plan.Decisions)
	}
	if len(w.ours("capped")) != 0 || len(w.ours("free")) != 1 {
		t.Fatalf("capped %d, free %d instances", len(w.ours("capped")), len(w.ours("free")))
	}
	if st, _ := scaler.ReadState(w.dir, time.Minute); st.MonthUnknown == "" {
		t.Fatal("ReadState does not report the unreadable spend book")
	}
	// Moved away: the book starts afresh and the fleet fills.
	if err := os.Rename(filepath.Join(w.dir, scaler.SpendFile), filepath.Join(w.dir, "spend.json.bad")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rep = w.mustStep()
	}
	if rep.SpendErr != nil || len(w.ours("capped")) != 1 {
		t.Fatalf("after the repair: %v, %d instances", rep.SpendErr, len(w.ours("capped")))
	}
	if st, err := scaler.ReadState(w.dir, time.Minute); err != nil || st.MonthToDate.Month != "2026-11" || st.MonthToDate.Fleets["capped"] <= 0 {
		t.Fatalf("ReadState month-to-date %+v, %v", st.MonthToDate, err)
	}
}

func TestPlanRebidKeepsTheMonthlyBudget(t *testing.T) {
	f := testFleet("f", testMarket("b", vastapi.Bid), func(f *policy.Fleet) { f.Target = 1 })
	obs := obsOf(100, map[string][]vastapi.Offer{"b": {}}, outbidInstance(120, 0.3, 0.5))
	st := scaler.State{OutbidGrace: 10 * time.Minute}
	r := scaler.Plan(t0, obs, testConfig(f), st)
	fs := r.Fleet("f")
	if got := kinds(r); !slices.Equal(got, []string{"rebid:f:120"}) || fs.SpendAfter <= fs.SpendBefore {
		t.Fatalf("without a monthly budget: %v, spend %v → %v", got, fs.SpendBefore, fs.SpendAfter)
	}
	// 12 hours are left: the budget covers the current bid to the month's end, not the new one.
	f.Monthly = (fs.SpendBefore + fs.SpendAfter) / 2 * 12
	r = scaler.Plan(t0, obs, testConfig(f), st)
	if got := kinds(r); len(got) != 0 || !hasDecision(r, "f", scaler.DecisionWait, scaler.ReasonOutbid) {
		t.Fatalf("with a monthly budget of $%.2f: actions %v, decisions %v", f.Monthly, got, r.Decisions)
	}
}
