package scaler_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// Dry-run books no spend: the creates it plans are never sent, so the month's spend book must
// not grow by their price (docs/design.md §4 "Dry-run", issue 16 item 7).
func TestDryRunBooksNoSpend(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(3))
	w := newWorld(t, 7, simConfig(f), func(_ *vastsim.Options, o *scaler.Options) { o.DryRun = true })
	planned := 0
	for range 4 {
		rep := w.mustStep()
		for _, o := range rep.Outcomes {
			if o.Result == scaler.ResultDryRun {
				planned++
			}
		}
		w.clk.Advance(time.Hour)
	}
	if planned == 0 {
		t.Fatal("positive control: dry-run planned no create")
	}
	if n := len(w.sim.Instances()); n != 0 {
		t.Fatalf("dry-run rented %d instances", n)
	}
	b, err := scaler.OpenSpendBook(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := b.Month(); m.Account != 0 || m.Fleets["web"] != 0 {
		t.Fatalf("dry-run booked $%.4f to the account and $%.4f to web for creates it never sent", m.Account, m.Fleets["web"])
	}
}

// rowsAPI is the simulator's client with its replies rewritten, as a broken or hostile API
// would send them.
type rowsAPI struct {
	*vastapi.Client
	mu sync.Mutex
	// instances rewrites the instance list; search one market search's reply (nil: as sent).
	instances func([]vastapi.Instance) []vastapi.Instance
	search    func(q vastapi.Query, offers []vastapi.Offer, err error) ([]vastapi.Offer, error)
}

func (a *rowsAPI) ListInstances(ctx context.Context) ([]vastapi.Instance, error) {
	ins, err := a.Client.ListInstances(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil && a.instances != nil {
		ins = a.instances(ins)
	}
	return ins, err
}

func (a *rowsAPI) SearchOffers(ctx context.Context, q vastapi.Query) ([]vastapi.Offer, error) {
	offers, err := a.Client.SearchOffers(ctx, q)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.search != nil {
		return a.search(q, offers, err)
	}
	return offers, err
}

// rewrite puts a rowsAPI between w's scaler and the simulator.
func (w *world) rewrite() *rowsAPI {
	a := &rowsAPI{Client: w.api}
	w.opts.API = a
	w.restart()
	return a
}

// frozen is in as Vast lists a frozen instance: paused with its memory kept, its GPU still
// charged (docs/vast-api.md §4).
func frozen(in vastapi.Instance) vastapi.Instance {
	in.ActualStatus, in.IntendedStatus = vastapi.Some("frozen"), "frozen"
	return in
}

// A frozen instance bills like a running one: burn (and so the runway) counts it at dph_total,
// committed spend at its full price (issue 16 item 3).
func TestFrozenInstancesBillLikeRunningOnes(t *testing.T) {
	m := testMarket("m", vastapi.OnDemand)
	cfg := testConfig(testFleet("web", m, func(f *policy.Fleet) { f.Target = 1 }))
	run := testInstance(1, "web", "n1", "running", 0.5)
	fro := frozen(testInstance(2, "web", "n2", "running", 0.5))
	if got := scaler.Burn(&fro); !near(got, fro.DphTotal) {
		t.Fatalf("burn of a frozen instance $%.4f/h, want its dph_total $%.4f/h", got, fro.DphTotal)
	}
	rep := scaler.CycleReport{At: t0, Observation: obsOf(100, nil, run, fro)}
	rep.Plan = scaler.Plan(t0, rep.Observation, cfg, scaler.State{})
	v := scaler.NewView(cfg, &rep, nil)
	if want := run.DphTotal + fro.DphTotal; !near(v.Account.Burn, want) {
		t.Fatalf("account burn $%.4f/h, want $%.4f/h (the frozen instance's GPU is charged)", v.Account.Burn, want)
	}
	if !near(v.Account.Committed, 2*(0.5+0.01)) {
		t.Fatalf("committed $%.4f/h, want both instances at full price", v.Account.Committed)
	}
}

// A frozen instance is stopped to its fleet, yet billed in full: stopped_ttl removes it from a
// fleet that is at target without it, as it would a stopped one.
func TestFrozenSpareExpiresLikeAStoppedOne(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(2))
	w := newWorld(t, 11, simConfig(f))
	ins := w.settle("web", 2)
	victim := ins[0].ID
	// At target without it: the frozen instance is a spare, not started again.
	g := *f
	g.Target = 1
	w.cfg = simConfig(&g)
	api := w.rewrite()
	api.instances = func(rows []vastapi.Instance) []vastapi.Instance {
		for i := range rows {
			if rows[i].ID == victim {
				rows[i] = frozen(rows[i])
			}
		}
		return rows
	}
	frozenAt := w.clk.Now()
	for range 90 {
		rep := w.mustStep()
		for _, o := range rep.Outcomes {
			if o.Action.InstanceID == victim && o.Action.Kind == scaler.KindDestroy {
				if o.Action.Reason != scaler.ReasonStoppedTTL {
					t.Fatalf("frozen instance destroyed for %s", o.Action.Reason)
				}
				if at := rep.At.Sub(frozenAt); at <= f.StoppedTTL {
					t.Fatalf("destroyed %s after it froze, before its stopped_ttl %s", at, f.StoppedTTL)
				}
				return
			}
		}
	}
	t.Fatalf("the frozen spare, billed at its full price, was never removed (stopped_ttl %s)", f.StoppedTTL)
}

// One instance listed twice is one instance: counted twice, it put a fleet at target 1 over
// its target, and the planner destroyed the fleet's only instance (issue 16 item 6).
func TestAnInstanceListedTwiceIsOneInstance(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(1))
	w := newWorld(t, 12, simConfig(f))
	only := w.settle("web", 1)[0].ID
	api := w.rewrite()
	api.instances = func(rows []vastapi.Instance) []vastapi.Instance {
		for _, in := range rows {
			if in.ID == only {
				return append(rows, in)
			}
		}
		return rows
	}
	for range 5 {
		rep := w.mustStep()
		for _, o := range rep.Outcomes {
			if o.Action.InstanceID == only {
				t.Fatalf("the fleet's only instance, listed twice, was acted on: %s", o.Action)
			}
		}
		if fs := rep.Plan.Fleet("web"); fs.Counts[scaler.PhaseRunning] != 1 {
			t.Fatalf("fleet counts %v, want one running instance", fs.Counts)
		}
		if len(rep.Observation.Dropped) == 0 {
			t.Fatal("the repeated row was dropped without a note to log")
		}
	}
	if ins := w.ours("web"); len(ins) != 1 || ins[0].ID != only {
		t.Fatalf("fleet web now %v", ins)
	}
}

// One failing search no longer blanks everything: the fleets of the failed market hold with a
// reason, the other fleets act, and the cycle publishes (issue 16 item 4).
func TestOneFailedSearchHoldsOnlyItsFleets(t *testing.T) {
	one := simMarket(t)
	q, err := policy.ParseQuery("num_gpus=2 reliability>0.9", policy.SearchOptions{Order: "dph_total", Limit: 64, StorageGB: 20})
	if err != nil {
		t.Fatal(err)
	}
	two := &policy.Market{Name: "gpu2", Query: q, Type: vastapi.OnDemand, StorageGB: 20}
	a, b := testFleet("a", one, simSized(2)), testFleet("b", two, simSized(2))
	b.MaxPrice, b.Budget = 5, 20
	w := newWorld(t, 13, simConfig(a, b))
	api := w.rewrite()
	api.search = func(q vastapi.Query, offers []vastapi.Offer, err error) ([]vastapi.Offer, error) {
		if q.Key() == two.Query.Key() {
			return nil, errors.New("vast api POST /api/v0/bundles/: status 502")
		}
		return offers, err
	}
	w.clk.Advance(time.Minute) // past the start grace
	rep, err := w.step()
	if err != nil {
		t.Fatalf("one failed search failed the whole cycle: %v", err)
	}
	rep = w.mustStep()
	if rep.Observation.Failed["gpu2"] == nil || rep.Observation.Failed["gpu1"] != nil {
		t.Fatalf("failed markets %v, want gpu2 alone", rep.Observation.Failed)
	}
	if !hasDecision(rep.Plan, "b", scaler.DecisionHold, scaler.ReasonAPIError) {
		t.Fatalf("fleet b of the failed market: decisions %v, want hold api_error", rep.Plan.Decisions)
	}
	if fs := rep.Plan.Fleet("b"); !slices.Contains(fs.Blocked, scaler.ReasonAPIError) {
		t.Fatalf("fleet b below target is blocked by %v, want api_error", fs.Blocked)
	}
	for _, o := range rep.Outcomes {
		if o.Action.Fleet == "b" {
			t.Fatalf("fleet b acted on half a view: %s", o.Action)
		}
	}
	if got := len(w.ours("a")); got != 2 {
		t.Fatalf("fleet a of the healthy market has %d instances, want its target 2", got)
	}
	if len(w.ours("b")) != 0 {
		t.Fatal("fleet b rented while its market's search failed")
	}
}

// listReader is a Reader answering every search with offers and the list with instances.
type listReader struct {
	offers    []vastapi.Offer
	instances []vastapi.Instance
}

func (r *listReader) SearchOffers(context.Context, vastapi.Query) ([]vastapi.Offer, error) {
	return slices.Clone(r.offers), nil
}
func (r *listReader) ListInstances(context.Context) ([]vastapi.Instance, error) {
	return slices.Clone(r.instances), nil
}
func (r *listReader) CurrentUser(context.Context) (vastapi.User, error) {
	return vastapi.User{Credit: 100}, nil
}

// An offer with a negative, NaN or absurd price is rejected, never rented; instance rows are
// de-duplicated by id and a row without one is ignored (issue 16 item 6).
func TestObserveLeavesBrokenRowsOut(t *testing.T) {
	m := testMarket("m", vastapi.OnDemand)
	cfg := testConfig(testFleet("web", m, func(f *policy.Fleet) { f.Target = 1 }))
	good, negative, nan, absurd, badBid, badStorage := testOffer(1, 0.4), testOffer(2, -5), testOffer(3, 0.1), testOffer(4, 0.2), testOffer(5, 0.3), testOffer(6, 0.1)
	nan.DphTotal = math.NaN()
	absurd.DphBase, absurd.DphTotal = 5e6, 5e6
	badBid.MinBid = -1
	badStorage.StorageCost = -100
	r := &listReader{offers: []vastapi.Offer{negative, nan, absurd, badBid, badStorage, good}, instances: []vastapi.Instance{
		testInstance(7, "web", "n7", "running", 0.3), testInstance(7, "web", "n7", "running", 0.3), {ID: 0, Label: vastapi.Some(scaler.Label(owner, "web", "n0"))},
	}}
	obs, err := scaler.Observe(context.Background(), r, cfg, t0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, o := range obs.Offers["m"] {
		ids = append(ids, o.ID)
	}
	if !slices.Equal(ids, []int64{good.ID}) {
		t.Fatalf("offers kept %v, want only the sanely priced offer 1", ids)
	}
	if len(obs.Instances) != 1 || obs.Instances[0].ID != 7 {
		t.Fatalf("instances kept %v, want instance 7 once", obs.Instances)
	}
	res := scaler.Plan(t0.Add(time.Hour), obs, cfg, scaler.State{})
	if slices.ContainsFunc(res.Actions, func(a scaler.Action) bool { return a.Kind == scaler.KindCreate || a.Kind == scaler.KindDestroy }) {
		t.Fatalf("planned %v for a fleet at target", kinds(res))
	}
	if !near(res.CommittedBefore, 0.3+0.01) {
		t.Fatalf("committed $%.4f/h, want instance 7 once", res.CommittedBefore)
	}
	want := []string{"market m: 5 offers with a negative, NaN or absurd price left out",
		"instance 7 listed more than once; the first row kept", `instance row with id 0 ignored (label "vastwatch:test:web:n0")`}
	if !slices.Equal(obs.Dropped, want) {
		t.Fatalf("dropped %q, want %q", obs.Dropped, want)
	}
}

// An instance of ours without a sane price never lowers committed spend: it counts at its
// journalled price, or, without one, blocks its fleet's creates with a reason (issue 16 item 6).
func TestAnInstanceWithoutASanePriceNeverLowersCommittedSpend(t *testing.T) {
	m := testMarket("m", vastapi.OnDemand)
	cfg := testConfig(testFleet("web", m, func(f *policy.Fleet) { f.Target, f.Budget = 3, 1.0 }))
	sane := testInstance(1, "web", "n1", "running", 0.5)
	broken := testInstance(2, "web", "n2", "running", -0.5)
	obs := obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(3, 0.2)}}, sane, broken)
	t.Run("without a journalled price its fleet's creates are blocked", func(t *testing.T) {
		res := scaler.Plan(t0, obs, cfg, scaler.State{})
		if slices.ContainsFunc(res.Actions, func(a scaler.Action) bool { return a.Kind == scaler.KindCreate }) {
			t.Fatalf("created with the committed spend unknown (counted $%.4f/h): %v", res.CommittedBefore, kinds(res))
		}
		if !blockedBy(res, "web", scaler.ReasonPriceUnknown) {
			t.Fatalf("decisions %v, want blocked %s", res.Decisions, scaler.ReasonPriceUnknown)
		}
	})
	t.Run("with a journalled price it counts at that price", func(t *testing.T) {
		st := scaler.State{Creates: []scaler.CreateRecord{{Nonce: "n2", Fleet: "web", InstanceID: 2, Price: 0.6,
			Outcome: scaler.OutcomeCreated, IntentAt: t0.Add(-2 * time.Hour), SeenAt: t0.Add(-time.Hour)}}}
		res := scaler.Plan(t0, obs, cfg, st)
		if !near(res.CommittedBefore, 0.51+0.6) {
			t.Fatalf("committed $%.4f/h, want $%.4f/h", res.CommittedBefore, 0.51+0.6)
		}
		if !blockedBy(res, "web", scaler.ReasonBudget) {
			t.Fatalf("decisions %v, want the budget to block the create", res.Decisions)
		}
	})
	t.Run("its burn is not counted below zero", func(t *testing.T) {
		if b := scaler.Burn(&broken); b < 0 || math.IsNaN(b) {
			t.Fatalf("burn $%.4f/h", b)
		}
	})
}

// hostileHostPort is what a host reported as the host port of a probed container port: glued
// into a URL, it made the probe call a loopback admin path (issue 16 item 6).
func hostileHostPort(port int) string { return fmt.Sprintf("1@127.0.0.1:%d/admin?x=", port) }

// A probe uses an address only when its port is a number from 1 to 65535 and its IP a global
// unicast address: a hostile port mapping cannot make it call anything else.
func TestAProbeNeverFollowsAHostilePortMapping(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	f := testFleet("web", testMarket("m", vastapi.OnDemand), func(f *policy.Fleet) {
		f.Readiness = &policy.Readiness{Port: 8080, Path: "/healthz", Timeout: time.Second}
	})
	cfg := testConfig(f)
	in := testInstance(1, "web", "n1", "running", 0.3)
	in.PublicIPAddr = "203.0.113.9"
	in.Ports = map[string][]vastapi.PortBinding{"8080/tcp": {{HostIP: "0.0.0.0", HostPort: hostileHostPort(port)}}}
	got := scaler.ProbeAll(context.Background(), scaler.NetProber{}, t0, cfg, obsOf(100, nil, in), nil, nil)
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 0 {
		t.Fatalf("the probe of a hostile port mapping called %v on loopback", paths)
	}
	if r := got[1]; r.OK || r.Target != "" {
		t.Fatalf("probe result %+v, want a failure with no target", r)
	}
}

// HostAddr takes a host's reported IP and port only as an IP and a port vastwatch may use.
func TestHostAddr(t *testing.T) {
	for _, c := range []struct {
		ip, port     string
		allowPrivate bool
		want         string
	}{
		{"203.0.113.9", "20001", false, "203.0.113.9:20001"},
		{" 203.0.113.9", "20001", false, ""},
		{"203.0.113.9", "1@127.0.0.1:8080/admin?x=", false, ""},
		{"203.0.113.9", "80/admin", false, ""},
		{"203.0.113.9", "0", false, ""},
		{"203.0.113.9", "65536", false, ""},
		{"203.0.113.9", "-1", false, ""},
		{"203.0.113.9", "+80", false, ""},
		{"203.0.113.9", "0080", false, "203.0.113.9:80"},
		{"203.0.113.9", "", false, ""},
		{"", "80", false, ""},
		{"example.com", "80", false, ""},
		{"203.0.113.9:81", "80", false, ""},
		{"2001:db8::1", "443", false, "[2001:db8::1]:443"},
		{"fe80::1%eth0", "22", true, ""},
		{"::ffff:203.0.113.9", "22", false, "203.0.113.9:22"},
		{"::ffff:127.0.0.1", "22", false, ""},
		{"127.0.0.1", "22", false, ""},
		{"127.0.0.1", "22", true, "127.0.0.1:22"},
		{"10.1.2.3", "22", false, ""},
		{"10.1.2.3", "22", true, "10.1.2.3:22"},
		{"192.168.1.5", "22", false, ""},
		{"172.16.0.1", "22", false, ""},
		{"169.254.169.254", "80", false, ""},
		{"169.254.169.254", "80", true, "169.254.169.254:80"},
		{"100.64.0.1", "22", false, ""},
		{"0.1.2.3", "22", true, ""},
		{"0.0.0.0", "22", true, ""},
		{"255.255.255.255", "22", true, ""},
		{"224.0.0.1", "22", true, ""},
		{"fd00::1", "22", false, ""},
		{"::1", "22", false, ""},
		{"::1", "22", true, "[::1]:22"},
	} {
		if got := scaler.HostAddr(c.ip, c.port, c.allowPrivate); got != c.want {
			t.Errorf("HostAddr(%q, %q, %v) = %q, want %q", c.ip, c.port, c.allowPrivate, got, c.want)
		}
	}
}

// The simulated market's hosts report addresses on the internet, as the real market's do, so
// that under --simulate every instance has an address vastwatch may probe and list in /sd.
func TestEverySimulatedHostHasAnAddressVastwatchMayUse(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		sim, err := vastsim.New(vastsim.Options{Seed: seed, Machines: 3000, Clock: clock.NewFake(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range sim.Offers() {
			if scaler.HostAddr(o.PublicIPAddr, "22", false) == "" {
				t.Errorf("seed %d: offer %d of machine %d has public_ipaddr %s, which vastwatch refuses", seed, o.ID, o.MachineID, o.PublicIPAddr)
			}
		}
	}
}

// blackHole is a Prober whose hosts never answer: a probe ends only when its timeout or the
// round's deadline does. ok answers at once for the instances listed.
type blackHole struct {
	mu     sync.Mutex
	ok     map[string]bool
	probed []string
}

func (b *blackHole) Probe(ctx context.Context, addr string, r *policy.Readiness) error {
	b.mu.Lock()
	b.probed = append(b.probed, addr)
	ok := b.ok[addr]
	b.mu.Unlock()
	if ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	<-ctx.Done()
	return fmt.Errorf("tcp connect: %w", ctx.Err())
}

// The probes of a cycle have an overall deadline: black-holed hosts cannot stretch a cycle by
// their number times the probe timeout, and the instances a round did not get to go first in
// the next, so every instance is probed within a few cycles (issue 16 item 5).
func TestProbesOfACycleHaveAnOverallDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := testFleet("web", testMarket("m", vastapi.OnDemand), func(f *policy.Fleet) {
			f.Readiness = &policy.Readiness{Port: 8080, Timeout: 5 * time.Second}
		})
		cfg := testConfig(f)
		var ins []vastapi.Instance
		for i := range 100 {
			in := testInstance(int64(i+1), "web", fmt.Sprintf("n%d", i+1), "running", 0.3)
			in.PublicIPAddr = "203.0.113.9"
			in.Ports = map[string][]vastapi.PortBinding{"8080/tcp": {{HostPort: fmt.Sprint(20000 + i)}}}
			ins = append(ins, in)
		}
		healthy := "203.0.113.9:20099" // the last instance's
		pr := &blackHole{ok: map[string]bool{healthy: true}}
		obs := obsOf(100, nil, ins...)
		var got map[int64]scaler.ProbeResult
		// 100 probes, 16 at once, 2 × 5s per round: at least 32 a round.
		for round := range 4 {
			start := time.Now()
			got = scaler.ProbeAll(context.Background(), pr, t0.Add(time.Duration(round)*time.Minute), cfg, obs, nil, got)
			if took := time.Since(start); took > 2*f.Readiness.Timeout {
				t.Fatalf("round %d: 100 black-holed probes of 5s took %s, more than the deadline of %s", round, took, 2*f.Readiness.Timeout)
			}
			if r, ok := got[100]; ok && r.Passed.IsZero() && r.Err != "" && !strings.HasPrefix(r.Err, "not probed yet") {
				t.Fatalf("round %d: the healthy instance is recorded as failed: %+v", round, r)
			}
		}
		if r := got[100]; !r.OK || r.Passed.IsZero() {
			t.Fatalf("the healthy instance was never probed in 4 rounds: %+v", r)
		}
		pr.mu.Lock()
		defer pr.mu.Unlock()
		tried := map[string]bool{}
		for _, a := range pr.probed {
			tried[a] = true
		}
		if len(tried) != 100 {
			t.Fatalf("%d of 100 instances probed in 4 rounds", len(tried))
		}
	})
}

// The planner takes month-to-date spend up to the bill: the account to the month's charges, a
// fleet to its instances' charges; a bill of another month counts for nothing, and the State's
// maps are left as they were (issue 16 item 2).
func TestPlanTakesMonthToDateUpToTheBill(t *testing.T) {
	m := testMarket("m", vastapi.OnDemand)
	web := testFleet("web", m, func(f *policy.Fleet) { f.Target, f.Monthly = 2, 100 })
	batch := testFleet("batch", m, func(f *policy.Fleet) { f.Target = 1 })
	cfg := testConfig(web, batch)
	cfg.Account.MonthlyBudget = 1000
	obs := obsOf(100, map[string][]vastapi.Offer{"m": {testOffer(9, 0.2)}},
		testInstance(1, "web", "n1", "running", 0.3), testInstance(2, "batch", "n2", "running", 0.3))
	book := scaler.MonthSpend{Month: scaler.MonthKey(t0), Fleets: map[string]float64{"web": 10, "batch": 40}, Account: 50}
	bill := &scaler.Bill{Month: scaler.MonthKey(t0), At: t0, Account: 990, Instances: map[int64]float64{1: 95, 2: 30}}
	res := scaler.Plan(t0, obs, cfg, scaler.State{MonthToDate: book, Bill: bill})
	if !near(res.AccountMonthSpend, 990) {
		t.Fatalf("account month-to-date $%.2f, want the bill's $990", res.AccountMonthSpend)
	}
	if w, b := res.Fleet("web"), res.Fleet("batch"); !near(w.MonthSpend, 95) || !near(b.MonthSpend, 40) {
		t.Fatalf("month-to-date web $%.2f (want the bill's $95), batch $%.2f (want the book's $40)", w.MonthSpend, b.MonthSpend)
	}
	if !blockedBy(res, "web", scaler.ReasonMonthlyBudget) {
		t.Fatalf("web's create passed its monthly budget: %v", res.Decisions)
	}
	if book.Fleets["web"] != 10 || len(book.Fleets) != 2 {
		t.Fatalf("the plan wrote into the State's month-to-date: %v", book.Fleets)
	}
	old := *bill
	old.Month = scaler.MonthKey(t0.AddDate(0, -1, 0))
	res = scaler.Plan(t0, obs, cfg, scaler.State{MonthToDate: book, Bill: &old})
	if !near(res.AccountMonthSpend, 50) || !near(res.Fleet("web").MonthSpend, 10) {
		t.Fatalf("last month's bill counted: account $%.2f, web $%.2f", res.AccountMonthSpend, res.Fleet("web").MonthSpend)
	}
}

// The leader keeps the bill it planned with in the spend book, so followers and `vastwatch
// plan`, which read the state directory, plan with it too.
func TestTheBillIsKeptForFollowersAndPlan(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(1))
	bill := &scaler.Bill{Month: scaler.MonthKey(simStart), At: simStart, Account: 12.5, Instances: map[int64]float64{7: 2}}
	w := newWorld(t, 14, simConfig(f), func(_ *vastsim.Options, o *scaler.Options) {
		o.Bill = func() *scaler.Bill { return bill }
	})
	w.mustStep()
	st, err := scaler.ReadState(w.dir, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bill == nil || st.Bill.Account != 12.5 || st.Bill.Instances[7] != 2 || !st.Bill.At.Equal(simStart) {
		t.Fatalf("bill read back %+v", st.Bill)
	}
}

// renamed is cfg with fleet old renamed to name (its instances become orphans) and orphans
// destroyed.
func renamed(cfg *policy.Config, old, name string) *policy.Config {
	next := *cfg
	next.Orphans = policy.OrphansDestroy
	next.Fleets = nil
	for _, f := range cfg.Fleets {
		if f.Name == old {
			g := *f
			g.Name = name
			f = &g
		}
		next.Fleets = append(next.Fleets, f)
	}
	return &next
}

// orphans: destroy obeys max_actions_per_cycle: a renamed fleet's instances go a few a cycle
// while the new fleet comes up, not all in one cycle (issue 16 item 8).
func TestOrphansAreDestroyedWithinMaxActionsPerCycle(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(4))
	w := newWorld(t, 15, simConfig(f))
	old := w.settle("web", 4)
	w.cfg = renamed(w.cfg, "web", "web2") // max_actions_per_cycle 2
	gone := 0
	for c := range 6 {
		rep := w.mustStep()
		n := 0
		for _, o := range rep.Outcomes {
			if o.Action.Fleet == "web" && o.Action.Kind == scaler.KindDestroy {
				if o.Action.Reason != scaler.ReasonOrphan {
					t.Fatalf("orphan destroyed for %s", o.Action.Reason)
				}
				n++
			}
		}
		if n > f.MaxActionsPerCycle {
			t.Fatalf("cycle %d after the rename destroyed %d orphans, over max_actions_per_cycle %d", c, n, f.MaxActionsPerCycle)
		}
		gone += n
	}
	if gone != len(old) || len(w.ours("web")) != 0 {
		t.Fatalf("%d of %d orphans destroyed, %d left", gone, len(old), len(w.ours("web")))
	}
	if got := len(w.ours("web2")); got != 4 {
		t.Fatalf("the renamed fleet has %d instances, want 4", got)
	}
}

// With orphan_drain, each orphan is drained before its destroy: the webhook is told (and told
// again until it answers 2xx), and the destroy waits for it; still within the cycle's bound.
func TestOrphansAreDrainedFirst(t *testing.T) {
	hook := newFlakyServer(t)
	f := testFleet("web", simMarket(t), simSized(3))
	w := newWorld(t, 16, simConfig(f))
	old := w.settle("web", 3)
	next := renamed(w.cfg, "web", "web2")
	next.OrphanDrain = &policy.Drain{Webhook: policy.SecretValue(hook.url + "/drain"), Timeout: 30 * time.Minute}
	w.cfg = next
	hook.setFailing(true) // the load balancer is slow to answer at first
	destroyed := map[int64]bool{}
	for c := range 12 {
		if c == 3 {
			hook.setFailing(false)
		}
		rep := w.mustStep()
		n := 0
		for _, o := range rep.Outcomes {
			a := o.Action
			if a.Fleet != "web" {
				continue
			}
			n++
			if a.Kind == scaler.KindDestroy {
				if !hook.saw(a.InstanceID) || c <= 3 {
					t.Fatalf("cycle %d: orphan %d destroyed before the webhook answered 2xx", c, a.InstanceID)
				}
				destroyed[a.InstanceID] = true
			}
		}
		if n > f.MaxActionsPerCycle {
			t.Fatalf("cycle %d: %d orphan actions, over max_actions_per_cycle %d", c, n, f.MaxActionsPerCycle)
		}
	}
	if len(destroyed) != len(old) || len(w.ours("web")) != 0 {
		t.Fatalf("%d of %d orphans destroyed after their drain, %d left", len(destroyed), len(old), len(w.ours("web")))
	}
}

// An orphan whose drain began before its fleet left the config finishes the drain before its
// destroy: with orphan_drain the webhook is called again until it answers; without, at once.
func TestADrainingOrphanFinishesItsDrain(t *testing.T) {
	m := testMarket("m", vastapi.OnDemand)
	cfg := testConfig(testFleet("web2", m, func(f *policy.Fleet) { f.Target = 0 }))
	cfg.Orphans = policy.OrphansDestroy
	obs := obsOf(100, nil, testInstance(1, "web", "n1", "running", 0.3))
	st := scaler.State{Draining: map[int64]scaler.DrainRecord{1: {Fleet: "web", Since: t0.Add(-time.Minute), Then: scaler.KindStop, Reason: scaler.ReasonAboveTarget}}}
	res := scaler.Plan(t0, obs, cfg, st)
	if got := kinds(res); !slices.Equal(got, []string{"destroy:web:1"}) || res.Actions[0].Reason != scaler.ReasonOrphan {
		t.Fatalf("without orphan_drain: %v, want the orphan destroyed (not stopped) at once", res.Actions)
	}
	cfg.OrphanDrain = &policy.Drain{Webhook: policy.PlainValue("https://lb.example/drain"), Timeout: time.Hour}
	res = scaler.Plan(t0, obs, cfg, st)
	if got := kinds(res); !slices.Equal(got, []string{"drain:web:1"}) || res.Actions[0].Notice == nil || res.Actions[0].Notice.Fleet != "web" {
		t.Fatalf("with orphan_drain: %v, want the webhook called again with the old fleet's name", res.Actions)
	}
	acked := st.Draining[1]
	acked.Acked = t0.Add(-time.Second)
	st.Draining = map[int64]scaler.DrainRecord{1: acked}
	if got := kinds(scaler.Plan(t0, obs, cfg, st)); !slices.Equal(got, []string{"destroy:web:1"}) {
		t.Fatalf("after the webhook's 2xx: %v, want the destroy", got)
	}
}
