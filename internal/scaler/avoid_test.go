package scaler_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// cheapOffers are n offers on machines 1001…1000+n, cheapest first ($0.10/h and up, $0.01/h
// of storage for 20 GB).
func cheapOffers(n int) []vastapi.Offer {
	out := make([]vastapi.Offer, 0, n)
	for i := range n {
		out = append(out, testOffer(int64(i+1), 0.10+0.01*float64(i)))
	}
	return out
}

// avoidedFor avoids each machine until t0 plus its duration.
func avoidedFor(d map[int64]time.Duration) map[int64]time.Time {
	out := make(map[int64]time.Time, len(d))
	for m, ttl := range d {
		out[m] = t0.Add(ttl)
	}
	return out
}

// TestAvoidanceBound is the bound of docs/design.md §8 in a table: at most ⌊max_share ×
// eligible⌋ of a fleet's eligible machines are avoided for it, the rest lapse closest to expiry
// first (then fewest failures, then the lower machine id), and a fleet below target rents on
// an avoided machine when nothing else fits.
func TestAvoidanceBound(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	type tc struct {
		name     string
		offers   []vastapi.Offer
		fleet    func(*policy.Fleet)
		avoided  map[int64]time.Duration
		failures map[int64]int
		failed   []int64  // the fleet's instances failed now (on machine 1000+id)
		want     []string // actions
		// eligible, avoided and lapsed machines the fleet's status reports
		eligible, kept, lapsed int
		check                  func(t *testing.T, r scaler.Result)
	}
	cases := []tc{
		{
			name:   "within the share nothing lapses",
			offers: cheapOffers(10), avoided: map[int64]time.Duration{1001: time.Hour, 1002: time.Hour, 1003: time.Hour, 1004: time.Hour, 1005: time.Hour},
			want:     []string{"create:f:6"},
			eligible: 10, kept: 5,
		},
		{
			name:   "share reached: the avoidance closest to expiry lapses",
			offers: cheapOffers(10),
			avoided: map[int64]time.Duration{1001: 6 * time.Hour, 1002: 5 * time.Hour, 1003: time.Hour,
				1004: 4 * time.Hour, 1005: 3 * time.Hour, 1006: 2 * time.Hour},
			want:     []string{"create:f:3"},
			eligible: 10, kept: 5, lapsed: 1,
		},
		{
			name:   "max_share 0.2 keeps the two avoidances that last longest",
			offers: cheapOffers(10), fleet: func(f *policy.Fleet) { f.Avoid.MaxShare = 0.2 },
			avoided: map[int64]time.Duration{1001: 5 * time.Hour, 1002: 4 * time.Hour, 1003: 3 * time.Hour,
				1004: 2 * time.Hour, 1005: time.Hour},
			want:     []string{"create:f:3"},
			eligible: 10, kept: 2, lapsed: 3,
		},
		{
			name:   "equal expiry: the machine with the fewest failures lapses first",
			offers: cheapOffers(4), avoided: map[int64]time.Duration{1001: 2 * time.Hour, 1002: 2 * time.Hour, 1003: 2 * time.Hour},
			failures: map[int64]int{1001: 3, 1002: 1, 1003: 2},
			want:     []string{"create:f:2"},
			eligible: 4, kept: 2, lapsed: 1,
		},
		{
			name:   "equal expiry and failures: the lower machine id lapses first",
			offers: cheapOffers(4), avoided: map[int64]time.Duration{1001: 2 * time.Hour, 1002: 2 * time.Hour, 1003: 2 * time.Hour},
			failures: map[int64]int{1001: 2, 1002: 2, 1003: 2},
			want:     []string{"create:f:1"},
			eligible: 4, kept: 2, lapsed: 1,
		},
		{
			name:   "a market of one machine: it is never avoided",
			offers: cheapOffers(1), avoided: map[int64]time.Duration{1001: 24 * time.Hour},
			want:     []string{"create:f:1"},
			eligible: 1, kept: 0, lapsed: 1,
		},
		{
			name:   "a market of two machines: at most one avoided",
			offers: cheapOffers(2), avoided: map[int64]time.Duration{1001: 2 * time.Hour, 1002: time.Hour},
			want:     []string{"create:f:2"},
			eligible: 2, kept: 1, lapsed: 1,
		},
		{
			name:   "a market of three machines: at most one avoided",
			offers: cheapOffers(3), avoided: map[int64]time.Duration{1001: 3 * time.Hour, 1002: time.Hour, 1003: 2 * time.Hour},
			want:     []string{"create:f:2"},
			eligible: 3, kept: 1, lapsed: 2,
		},
		{
			// Three to rent on three machines, one spread per machine: the third create has only
			// the avoided machine left, and a fleet below target is not kept there by avoidance.
			name:   "a market of three machines filled whole: the last avoidance lapses too",
			offers: cheapOffers(3), avoided: map[int64]time.Duration{1001: 3 * time.Hour, 1002: time.Hour, 1003: 2 * time.Hour},
			fleet: func(f *policy.Fleet) {
				f.Target = 3
				f.Spread.MaxPerMachine = 1
			},
			want:     []string{"create:f:2", "create:f:3", "create:f:1"},
			eligible: 3, kept: 0, lapsed: 3,
			check: func(t *testing.T, r scaler.Result) {
				if d := r.Actions[2].Detail; !strings.Contains(d, "avoidance of machine 1001 lapsed early") {
					t.Errorf("the create on the avoided machine says %q", d)
				}
			},
		},
		{
			// Offer 3 is over the price cap, offer 4 has too little disk, offer 5's listing ends
			// before min_duration: only machines 1001 and 1002 are eligible, so one of them may be
			// avoided, and the avoidances elsewhere do not count.
			name: "only machines the fleet could rent on are eligible",
			offers: func() []vastapi.Offer {
				o := cheapOffers(5)
				o[2].DphBase = 5
				o[3].DiskSpace = 10
				o[4].EndDate = vastapi.Some(float64(t0.Add(time.Hour).Unix()))
				return o
			}(),
			fleet:    func(f *policy.Fleet) { f.MinDuration = 24 * time.Hour },
			avoided:  map[int64]time.Duration{1001: time.Hour, 1002: 2 * time.Hour, 1003: 3 * time.Hour, 1004: 3 * time.Hour, 1005: 3 * time.Hour, 1099: time.Hour},
			want:     []string{"create:f:1"},
			eligible: 2, kept: 1, lapsed: 1,
		},
		{
			name:   "expired avoidances are not counted",
			offers: cheapOffers(2), avoided: map[int64]time.Duration{1001: 0, 1002: -time.Minute},
			want:     []string{"create:f:1"},
			eligible: 2,
		},
		{
			// Both avoidances are within the share, but the other offers are over the budget:
			// the fleet rents on the avoided machine whose avoidance ends first, not the cheapest.
			name: "below target with only avoided machines fitting: the one closest to expiry is rented",
			offers: func() []vastapi.Offer {
				o := cheapOffers(4)
				o[2].DphBase, o[3].DphBase = 0.5, 0.6
				return o
			}(),
			fleet:    func(f *policy.Fleet) { f.Target, f.Budget = 1, 0.2 },
			avoided:  map[int64]time.Duration{1001: 3 * time.Hour, 1002: time.Hour},
			want:     []string{"create:f:2"},
			eligible: 4, kept: 1, lapsed: 1,
			check: func(t *testing.T, r scaler.Result) {
				if fs := r.Fleet("f"); len(fs.Blocked) != 0 {
					t.Errorf("blocked %v", fs.Blocked)
				}
			},
		},
		{
			// The failed instance's machine lists another offer: this plan does not rent it again
			// while another machine fits (its failure is recorded only once it is destroyed).
			name: "the machine of an instance failed now counts as avoided, last to lapse",
			offers: func() []vastapi.Offer {
				o := append([]vastapi.Offer{testOffer(120, 0.05)}, cheapOffers(3)...)
				return o
			}(),
			avoided:  map[int64]time.Duration{1001: time.Hour},
			failed:   []int64{120},
			want:     []string{"destroy:f:120", "create:f:2"},
			eligible: 4, kept: 2,
		},
		{
			name:     "the machine of an instance failed now is rented again only when nothing else fits",
			offers:   []vastapi.Offer{testOffer(120, 0.05)},
			failed:   []int64{120},
			want:     []string{"destroy:f:120", "create:f:120"},
			eligible: 1, kept: 0, lapsed: 1,
		},
		{
			name:   "at target nothing lapses for want of offers",
			offers: cheapOffers(4), fleet: func(f *policy.Fleet) { f.Target = 0 },
			avoided:  map[int64]time.Duration{1001: time.Hour, 1002: 2 * time.Hour},
			eligible: 4, kept: 2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := testFleet("f", od, func(f *policy.Fleet) { f.Target = 1 })
			if c.fleet != nil {
				c.fleet(f)
			}
			st := scaler.State{Avoided: avoidedFor(c.avoided), Failures: map[int64]scaler.MachineFailures{}}
			for m, n := range c.failures {
				st.Failures[m] = scaler.MachineFailures{Count: n, Last: t0.Add(-time.Hour), Fleet: "other"}
			}
			var ins []vastapi.Instance
			for _, id := range c.failed {
				ins = append(ins, testInstance(id, "f", "x", "exited", 0.05))
			}
			r := scaler.Plan(t0, obsOf(100, map[string][]vastapi.Offer{"m": c.offers}, ins...), testConfig(f), st)
			if got := kinds(r); !slices.Equal(got, c.want) {
				t.Fatalf("actions %v, want %v\ndecisions: %v", got, c.want, r.Decisions)
			}
			fs := r.Fleet("f")
			if fs.Eligible != c.eligible || fs.Avoided != c.kept || fs.Lapsed != c.lapsed {
				t.Errorf("%d of %d eligible machines avoided, %d lapsed; want %d of %d, %d lapsed",
					fs.Avoided, fs.Eligible, fs.Lapsed, c.kept, c.eligible, c.lapsed)
			}
			if fs.Avoided > scaler.AvoidBound(f.Avoid.Share(), fs.Eligible) {
				t.Errorf("%d avoided over the bound of %d eligible", fs.Avoided, fs.Eligible)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// TestAvoidanceBoundIsPerFleet: one set of avoided machines, two fleets whose price caps make
// different machines eligible: each is bounded by its own.
func TestAvoidanceBoundIsPerFleet(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	wide := testFleet("wide", od, func(f *policy.Fleet) { f.Target = 1 })
	// Only offers 1 and 2 (up to $0.12/h with storage) are under tight's cap.
	tight := testFleet("tight", od, func(f *policy.Fleet) { f.Target, f.MaxPrice = 1, 0.12 })
	st := scaler.State{Avoided: avoidedFor(map[int64]time.Duration{1001: 2 * time.Hour, 1002: time.Hour})}
	r := scaler.Plan(t0, obsOf(100, map[string][]vastapi.Offer{"m": cheapOffers(10)}), testConfig(wide, tight), st)
	if got := kinds(r); !slices.Equal(got, []string{"create:wide:3", "create:tight:2"}) {
		t.Fatalf("actions %v", got)
	}
	if fs := r.Fleet("wide"); fs.Eligible != 10 || fs.Avoided != 2 || fs.Lapsed != 0 {
		t.Errorf("wide: %d of %d avoided, %d lapsed", fs.Avoided, fs.Eligible, fs.Lapsed)
	}
	if fs := r.Fleet("tight"); fs.Eligible != 2 || fs.Avoided != 1 || fs.Lapsed != 1 {
		t.Errorf("tight: %d of %d avoided, %d lapsed", fs.Avoided, fs.Eligible, fs.Lapsed)
	}
}

// TestFailureBurst: failures of one fleet on BurstMachines machines within BurstWindow (the
// journal's and those failing now) are a burst, reported as failure_burst, and the burst's
// avoidances lapse for the fleet.
func TestFailureBurst(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	failed := func(id int64) vastapi.Instance {
		return testInstance(id, "f", "n"+string(rune('a'+id-120)), "exited", 0.3)
	}
	// Machines 1005 and 1006 failed for f within the window, 1007 for another fleet, 1008 for f
	// too long ago.
	recent := scaler.State{
		Avoided: avoidedFor(map[int64]time.Duration{1005: time.Hour, 1006: time.Hour, 1007: time.Hour, 1008: time.Hour}),
		Failures: map[int64]scaler.MachineFailures{
			1005: {Count: 1, Last: t0.Add(-5 * time.Minute), Fleet: "f"},
			1006: {Count: 1, Last: t0.Add(-8 * time.Minute), Fleet: "f"},
			1007: {Count: 1, Last: t0.Add(-time.Minute), Fleet: "g"},
			1008: {Count: 1, Last: t0.Add(-scaler.BurstWindow - time.Second), Fleet: "f"},
		},
	}
	// Offers on the recently failed machines first, then others.
	offers := append([]vastapi.Offer{testOffer(5, 0.05), testOffer(6, 0.06), testOffer(7, 0.07), testOffer(8, 0.08)}, cheapOffers(4)...)
	cases := []struct {
		name   string
		target int
		st     scaler.State
		ins    []vastapi.Instance
		want   []string
		reason string
		burst  int
		kept   int
		lapsed int
	}{
		{
			name: "three failed now on three machines", target: 3, ins: []vastapi.Instance{failed(120), failed(121), failed(122)},
			want:   []string{"destroy:f:120", "destroy:f:121", "destroy:f:122", "create:f:5", "create:f:6", "create:f:7"},
			reason: scaler.ReasonFailureBurst, burst: 3,
		},
		{
			name: "two failed now are not a burst", target: 2, ins: []vastapi.Instance{failed(120), failed(121)},
			want:   []string{"destroy:f:120", "destroy:f:121", "create:f:5", "create:f:6"},
			reason: scaler.ReasonFailed,
		},
		{
			name: "two recent failures of the fleet and one now: the burst's avoidances lapse", target: 1, st: recent,
			ins:    []vastapi.Instance{failed(120)},
			want:   []string{"destroy:f:120", "create:f:5"},
			reason: scaler.ReasonFailureBurst, burst: 3, kept: 2, lapsed: 2,
		},
		{
			name: "two recent failures of the fleet and none now: no burst", target: 1, st: recent,
			want: []string{"create:f:1"}, kept: 4,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := testFleet("f", od, func(f *policy.Fleet) { f.Target = c.target })
			r := scaler.Plan(t0, obsOf(100, map[string][]vastapi.Offer{"m": offers}, c.ins...), testConfig(f), c.st)
			if got := kinds(r); !slices.Equal(got, c.want) {
				t.Fatalf("actions %v, want %v\ndecisions: %v", got, c.want, r.Decisions)
			}
			for _, a := range r.Actions {
				if a.Kind == scaler.KindDestroy && a.Reason != c.reason {
					t.Errorf("%s: reason %s, want %s", a, a.Reason, c.reason)
				}
			}
			if c.reason != "" && !hasDecision(r, "f", scaler.DecisionReplace, c.reason) {
				t.Errorf("decisions %v", r.Decisions)
			}
			fs := r.Fleet("f")
			if fs.Burst != c.burst || fs.Avoided != c.kept || fs.Lapsed != c.lapsed {
				t.Errorf("burst %d, %d avoided, %d lapsed; want burst %d, %d avoided, %d lapsed", fs.Burst, fs.Avoided, fs.Lapsed, c.burst, c.kept, c.lapsed)
			}
		})
	}
}

// TestJournalForgivesABurst: the failure that makes a burst avoids nothing, and the fleet's
// earlier failures within the window are taken back (counts and avoidances as before them).
func TestJournalForgivesABurst(t *testing.T) {
	j, err := scaler.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fail := func(machine int64, fleet string, at time.Time, inBurst bool) scaler.Failure {
		t.Helper()
		f, err := j.Fail(machine, fleet, at, time.Hour, 24*time.Hour, inBurst)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Machine 1 failed two hours ago (avoided 1h, over) and an hour ago (avoided 2h, running).
	fail(1, "f", t0.Add(-2*time.Hour), false)
	if f := fail(1, "f", t0.Add(-time.Hour), false); f.Count != 2 || !f.Until.Equal(t0.Add(time.Hour)) {
		t.Fatalf("second failure of machine 1: %+v", f)
	}
	// Now f's instances fail on machines 1, 2 and (another fleet's failure between) 3.
	if f := fail(1, "f", t0, false); f.Burst != 0 || f.Count != 3 || !f.Until.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("third failure of machine 1: %+v", f)
	}
	if f := fail(2, "f", t0.Add(2*time.Minute), false); f.Burst != 0 || !f.Until.Equal(t0.Add(2*time.Minute+time.Hour)) {
		t.Fatalf("machine 2: %+v", f)
	}
	if f := fail(9, "g", t0.Add(3*time.Minute), false); f.Burst != 0 {
		t.Fatalf("another fleet's failure counted toward f's burst: %+v", f)
	}
	f := fail(3, "f", t0.Add(4*time.Minute), false)
	if f.Burst != 3 || !f.Until.IsZero() || f.Count != 0 {
		t.Fatalf("the failure that makes the burst: %+v, want burst of 3 machines, not avoided, not counted", f)
	}
	av, fl := j.Avoided(), j.Failures()
	if until := av[1]; !until.Equal(t0.Add(time.Hour)) || fl[1].Count != 2 || !fl[1].Burst {
		t.Errorf("machine 1: avoided until %s, %+v; want back to its avoidance before the burst (until %s, 2 failures)", until, fl[1], t0.Add(time.Hour))
	}
	if _, ok := av[2]; ok || fl[2].Count != 0 {
		t.Errorf("machine 2 still avoided (%v) or counted (%+v)", av[2], fl[2])
	}
	if _, ok := av[9]; !ok || fl[9].Count != 1 {
		t.Errorf("another fleet's failure forgiven: %v %+v", av[9], fl[9])
	}
	// While the burst lasts, further failures of f avoid nothing; once it is over they do.
	if f := fail(4, "f", t0.Add(6*time.Minute), false); f.Burst < scaler.BurstMachines || !f.Until.IsZero() {
		t.Errorf("failure during the burst: %+v", f)
	}
	later := t0.Add(6*time.Minute + scaler.BurstWindow + time.Second)
	if f := fail(5, "f", later, false); f.Burst != 0 || !f.Until.Equal(later.Add(time.Hour)) || f.Count != 1 {
		t.Errorf("failure after the burst: %+v", f)
	}
	// The planner may see a burst the journal cannot yet (instances failing now): inBurst.
	if f := fail(6, "h", later, true); !f.Until.IsZero() || f.Count != 0 {
		t.Errorf("failure the planner reported in a burst: %+v", f)
	}
}

// TestSimBurstOverASmallMarket: every machine of a market of three fails at once (an image or
// platform problem, not three bad machines). The burst is reported, no machine is avoided for
// it, and the fleet is back at its target within a few cycles.
func TestSimBurstOverASmallMarket(t *testing.T) {
	probe := newWorld(t, 6, simConfig(testFleet("x", simMarket(t), simSized(0))), noDrift)
	offers, err := probe.api.SearchOffers(t.Context(), simMarket(t).Query)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	var machines []string
	seen := map[int64]bool{}
	for _, o := range offers {
		if !seen[o.MachineID] && len(machines) < 3 {
			seen[o.MachineID] = true
			machines = append(machines, strconv.FormatInt(o.MachineID, 10))
		}
	}
	if len(machines) != 3 {
		t.Fatalf("%d machines in the market, want 3", len(machines))
	}
	q, err := policy.ParseQuery("num_gpus=1 machine_id in ["+strings.Join(machines, ",")+"]", policy.SearchOptions{Order: "dph_total", Limit: 64, StorageGB: 20})
	if err != nil {
		t.Fatal(err)
	}
	m := &policy.Market{Name: "three", Query: q, Type: vastapi.OnDemand, StorageGB: 20}
	f := testFleet("web", m, simSized(3))
	f.Spread.MaxPerMachine = 1
	w := newWorld(t, 6, simConfig(f), noDrift)
	for _, in := range w.settle("web", 3) {
		if err := w.sim.FailInstance(in.ID, vastsim.FailExited); err != nil {
			t.Fatal(err)
		}
	}
	reported, cycles := 0, 0
	for cycles = 1; cycles <= 10; cycles++ {
		rep := w.mustStep()
		if fs := rep.Plan.Fleet("web"); fs.Burst >= scaler.BurstMachines && hasDecision(rep.Plan, "web", scaler.DecisionReplace, scaler.ReasonFailureBurst) {
			reported++
		}
		if hasDecision(rep.Plan, "web", scaler.DecisionReplace, scaler.ReasonFailed) {
			t.Errorf("cycle %d: a failure of the burst was handled as the machine's: %v", cycles, rep.Plan.Decisions)
		}
		if fs := rep.Plan.Fleet("web"); len(fs.Blocked) != 0 {
			t.Errorf("cycle %d: blocked %v", cycles, fs.Blocked)
		}
		running := 0
		for _, in := range w.ours("web") {
			if in.Status() == "running" {
				running++
			}
		}
		if running == 3 && len(w.ours("web")) == 3 {
			break
		}
	}
	t.Logf("back at target %d cycles after the burst; burst reported in %d of them", cycles, reported)
	if cycles > 6 {
		t.Fatalf("fleet not back at its target of 3 within 6 cycles of the burst: %d instances", len(w.ours("web")))
	}
	if reported == 0 {
		t.Error("the burst was never reported")
	}
	if am := w.sc.AvoidedMachines(); len(am) != 0 {
		t.Errorf("machines avoided for a burst: %+v", am)
	}
}
