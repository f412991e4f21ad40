package scaler_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

const (
	simKey = "sim-key-for-tests"
	poll   = time.Minute
)

// simStart is when newWorld's worlds start: an hour before t0, a month's last day.
var simStart = time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)

// world is the scaler against the in-process simulator on one fake clock.
type world struct {
	t     *testing.T
	clk   *clock.Fake
	sim   *vastsim.Sim
	api   *vastapi.Client
	dir   string
	cfg   *policy.Config
	opts  scaler.Options
	sc    *scaler.Scaler
	cycle int
}

func newWorld(t *testing.T, seed int64, cfg *policy.Config, mut ...func(*vastsim.Options, *scaler.Options)) *world {
	t.Helper()
	clk := clock.NewFake(simStart)
	so := vastsim.Options{Seed: seed, Clock: clk, APIKey: simKey, Credit: 10_000, Machines: 200}
	o := scaler.Options{Clock: clk, StateDir: stateDir(t), PendingGrace: 3 * time.Minute, StartGrace: 30 * time.Second}
	for _, m := range mut {
		m(&so, &o)
	}
	sim, err := vastsim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	// A seeded retry jitter: with the fake clock, the jitter moves simulated time, and the
	// chaos test must replay the same run for the same seed.
	api, err := vastapi.New(vastapi.Config{BaseURL: "http://sim", Key: vastapi.NewSecret(simKey),
		HTTPClient: &http.Client{Transport: sim.Transport()}, Clock: clk, Pacing: map[string]time.Duration{},
		Rand: rand.New(rand.NewPCG(uint64(seed), 5))})
	if err != nil {
		t.Fatal(err)
	}
	o.API = api
	w := &world{t: t, clk: clk, sim: sim, api: api, dir: o.StateDir, cfg: cfg, opts: o}
	w.sc = scaler.New(o)
	return w
}

// stateDir is a fresh state directory, on tmpfs when the machine has one: the journal syncs
// every change, and thousands of cycles of fsync on a disk would take minutes.
func stateDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "vastwatch-scaler-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// restart drops the scaler's memory; the journal in the state dir stays.
func (w *world) restart() { w.sc = scaler.New(w.opts) }

// step runs one cycle and advances the clock by the poll interval.
func (w *world) step() (scaler.CycleReport, error) {
	w.cycle++
	rep, err := w.sc.Cycle(context.Background(), w.cfg)
	w.clk.Advance(poll)
	return rep, err
}

func (w *world) mustStep() scaler.CycleReport {
	w.t.Helper()
	rep, err := w.step()
	if err != nil {
		w.t.Fatalf("cycle %d: %v", w.cycle, err)
	}
	return rep
}

// ours returns the simulator's live instances carrying our owner tag for fleet.
func (w *world) ours(fleet string) []vastapi.Instance {
	var out []vastapi.Instance
	for _, in := range w.sim.Instances() {
		if o, f, _, ok := scaler.ParseLabel(in.Label.Or("")); ok && o == w.cfg.Owner && f == fleet {
			out = append(out, in)
		}
	}
	return out
}

// settle steps until the simulator lists exactly n instances of fleet, all running, and
// returns them.
func (w *world) settle(fleet string, n int) []vastapi.Instance {
	w.t.Helper()
	for range 10 {
		w.mustStep()
		ins := w.ours(fleet)
		running := 0
		for _, in := range ins {
			if in.Status() == "running" {
				running++
			}
		}
		if running == n && len(ins) == n {
			return ins
		}
	}
	w.t.Fatalf("fleet %s did not settle at %d running: %d instances", fleet, n, len(w.ours(fleet)))
	return nil
}

// avoidedUntil is until when the scaler avoids machine, as the status page and the metrics
// read it; ok is false when the machine is not avoided now.
func (w *world) avoidedUntil(machine int64) (until time.Time, ok bool) {
	for _, a := range w.sc.AvoidedMachines() {
		if a.Machine == machine {
			return a.Until, true
		}
	}
	return time.Time{}, false
}

// monthToDate is the month-to-date spend per fleet in the spend book kept in dir, as the
// planner reads it at now (nothing yet when the book is of an earlier month).
func monthToDate(dir string, now time.Time) (map[string]float64, error) {
	b, err := scaler.OpenSpendBook(dir)
	if err != nil {
		return nil, err
	}
	fleets, _ := b.Month().At(now)
	return fleets, nil
}

// creates counts the create requests the simulator received.
func (w *world) creates() int {
	n := 0
	for _, r := range w.sim.Requests() {
		if r.Method == http.MethodPut && r.Endpoint == vastapi.EPCreate {
			n++
		}
	}
	return n
}

// simMarket is a market of single-GPU offers the generated catalogue has plenty of.
func simMarket(t *testing.T) *policy.Market {
	t.Helper()
	q, err := policy.ParseQuery("num_gpus=1 reliability>0.9", policy.SearchOptions{Order: "dph_total", Limit: 64, StorageGB: 20})
	if err != nil {
		t.Fatal(err)
	}
	return &policy.Market{Name: "gpu1", QueryText: "num_gpus=1 reliability>0.9", Query: q, Type: vastapi.OnDemand, StorageGB: 20}
}

// simSized makes a testFleet one for the simulator: target instances and room for two more,
// at prices the generated catalogue has, two actions a cycle, no bid policy.
func simSized(target int) func(*policy.Fleet) {
	return func(f *policy.Fleet) {
		f.Target, f.Max = target, target+2
		f.MaxPrice, f.Budget = 3, float64(target+2)*3
		f.Instance = policy.InstanceTemplate{Image: "pytorch/pytorch", DiskGB: 20, Runtype: "ssh"}
		f.BootTimeout, f.MaxActionsPerCycle, f.StoppedTTL = 10*time.Minute, 2, time.Hour
		f.Bid = nil
	}
}

func simConfig(fleets ...*policy.Fleet) *policy.Config {
	// The simulated instances' probes and webhooks are served on loopback (onLoopback).
	c := &policy.Config{Owner: "itest", Orphans: policy.OrphansKeep, PollInterval: poll,
		Account: policy.Account{CreditFloor: 20, MaxSpendPerHour: 100}, AllowPrivateAddresses: true}
	seen := map[*policy.Market]bool{}
	for _, f := range fleets {
		if !seen[f.Market] {
			seen[f.Market] = true
			c.Markets = append(c.Markets, f.Market)
		}
	}
	c.Fleets = fleets
	return c
}

func TestSimEmptyAccountConvergesWithinThreeCycles(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(3))
	w := newWorld(t, 1, simConfig(f))
	for range 3 {
		w.mustStep()
	}
	if got := len(w.ours("web")); got != 3 {
		t.Fatalf("after 3 cycles: %d instances, want 3", got)
	}
	// And it stays there: no churn once the instances boot.
	for range 5 {
		w.mustStep()
	}
	ins := w.ours("web")
	running := 0
	for _, in := range ins {
		if in.Status() == "running" {
			running++
		}
	}
	if len(ins) != 3 || running != 3 || w.creates() != 3 {
		t.Fatalf("after 8 cycles: %d instances (%d running), %d creates", len(ins), running, w.creates())
	}
}

func TestSimScheduleChangeMovesTheTargetAtTheMinute(t *testing.T) {
	up, err := policy.ParseScheduleEntry("5 11 * * *", 3)
	if err != nil {
		t.Fatal(err)
	}
	down, err := policy.ParseScheduleEntry("0 18 * * *", 1)
	if err != nil {
		t.Fatal(err)
	}
	f := testFleet("batch", simMarket(t), simSized(1))
	f.Max = 4
	f.Schedule = policy.Schedule{Entries: []policy.ScheduleEntry{up, down}}
	w := newWorld(t, 2, simConfig(f))
	var firstUp time.Time
	for range 10 {
		at := w.clk.Now()
		rep := w.mustStep()
		fs := rep.Plan.Fleet("batch")
		wantTarget := 1
		if !at.Before(time.Date(2026, 11, 30, 11, 5, 0, 0, time.UTC)) {
			wantTarget = 3
		}
		if fs.Target != wantTarget {
			t.Fatalf("%s: target %d, want %d", at.Format("15:04"), fs.Target, wantTarget)
		}
		if firstUp.IsZero() && fs.Target == 3 {
			firstUp = at
			if !slices.ContainsFunc(rep.Plan.Actions, func(a scaler.Action) bool { return a.Kind == scaler.KindCreate }) {
				t.Fatalf("%s: no create in the cycle the target rose", at.Format("15:04"))
			}
		}
	}
	if want := time.Date(2026, 11, 30, 11, 5, 0, 0, time.UTC); !firstUp.Equal(want) {
		t.Fatalf("target moved at %s, want %s", firstUp, want)
	}
	if got := len(w.ours("batch")); got != 3 {
		t.Fatalf("%d instances after the change, want 3", got)
	}
}

func TestSimDeadAndStuckInstancesAreReplaced(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(2))
	f.BootTimeout = 5 * time.Minute
	w := newWorld(t, 3, simConfig(f))
	for range 4 {
		w.mustStep()
	}
	ins := w.ours("web")
	if len(ins) != 2 {
		t.Fatalf("%d instances, want 2", len(ins))
	}
	dead, stuck := ins[0].ID, ins[1].ID
	if err := w.sim.FailInstance(dead, vastsim.FailExited); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.FailInstance(stuck, vastsim.FailStuck); err != nil {
		t.Fatal(err)
	}
	w.mustStep()
	if slices.ContainsFunc(w.ours("web"), func(in vastapi.Instance) bool { return in.ID == dead }) {
		t.Fatal("the exited instance was not destroyed in the next cycle")
	}
	for range 12 {
		w.mustStep()
	}
	ins = w.ours("web")
	ids := []int64{}
	for _, in := range ins {
		ids = append(ids, in.ID)
		if in.Status() != "running" {
			t.Errorf("instance %d is %q", in.ID, in.Status())
		}
	}
	if len(ins) != 2 || slices.Contains(ids, dead) || slices.Contains(ids, stuck) {
		t.Fatalf("instances %v: want 2 fresh ones (dead %d, stuck %d)", ids, dead, stuck)
	}
	if !slices.Contains(w.sim.Destroyed(), stuck) {
		t.Fatal("the stuck instance was not destroyed")
	}
}

func TestSimCreditBelowFloorStopsAllCreates(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(2))
	w := newWorld(t, 4, simConfig(f))
	w.sim.SetCredit(19)
	var rep scaler.CycleReport
	for range 5 {
		rep = w.mustStep()
	}
	if n := w.creates(); n != 0 {
		t.Fatalf("%d creates below the credit floor", n)
	}
	if fs := rep.Plan.Fleet("web"); !slices.Contains(fs.Blocked, scaler.ReasonCreditFloor) {
		t.Fatalf("blocked %v", fs.Blocked)
	}
	w.sim.SetCredit(1000)
	for range 3 {
		w.mustStep()
	}
	if got := len(w.ours("web")); got != 2 {
		t.Fatalf("after credit came back: %d instances, want 2", got)
	}
}

func TestSimRestartDuringUnknownCreateRentsNothingTwice(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(2))
	f.MaxActionsPerCycle = 1
	w := newWorld(t, 5, simConfig(f))
	w.mustStep() // reconcile; creates held for the start grace
	// The next create is applied by the API but its reply is lost: the outcome is unknown.
	w.sim.InjectFault(vastsim.Fault{Method: http.MethodPut, Endpoint: vastapi.EPCreate, Kind: vastsim.FaultLostReply, Next: 1})
	rep := w.mustStep()
	if len(rep.Outcomes) != 1 || !rep.Outcomes[0].Unknown {
		t.Fatalf("outcomes %+v, want one unknown create", rep.Outcomes)
	}
	if got := len(w.ours("web")); got != 1 {
		t.Fatalf("the lost-reply create made %d instances, want 1", got)
	}
	// Crash: memory lost, journal kept.
	w.restart()
	for range 6 {
		w.mustStep()
	}
	if got, c := len(w.ours("web")), w.creates(); got != 2 || c != 2 {
		t.Fatalf("%d instances after %d creates; want 2 and 2 (nothing rented twice)", got, c)
	}
}

func TestSimRestartWithIntentOnlyWaitsForTheList(t *testing.T) {
	// The process died after syncing an intent and sending the create, before any reply.
	f := testFleet("web", simMarket(t), simSized(1))
	w := newWorld(t, 6, simConfig(f))
	w.mustStep()
	offers, err := w.api.SearchOffers(context.Background(), f.Market.Query)
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %v", err)
	}
	j, err := scaler.OpenJournal(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	o := offers[0]
	label := scaler.Label(w.cfg.Owner, "web", "crash1")
	if err := j.Intent(scaler.CreateRecord{Nonce: "crash1", Fleet: "web", OfferID: o.ID, MachineID: o.MachineID,
		Price: o.PriceFor(20), IntentAt: w.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.api.CreateInstance(context.Background(), o.ID, vastapi.CreateRequest{Image: "img", DiskGB: 20, Label: label}); err != nil {
		t.Fatal(err)
	}
	w.restart()
	for range 5 {
		w.mustStep()
	}
	if got, c := len(w.ours("web")), w.creates(); got != 1 || c != 1 {
		t.Fatalf("%d instances, %d creates; want 1 and 1", got, c)
	}
}

func TestSimDryRunSendsNoMutatingRequest(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(3))
	cfg := simConfig(f)
	w := newWorld(t, 7, cfg, func(_ *vastsim.Options, o *scaler.Options) { o.DryRun = true })
	// An empty account below target: every cycle plans creates, and none may be sent.
	var dry int
	for range 6 {
		rep := w.mustStep()
		for _, o := range rep.Outcomes {
			if o.Result != scaler.ResultDryRun {
				t.Fatalf("outcome %s in dry-run", o.Result)
			}
			dry++
		}
	}
	if dry == 0 {
		t.Fatal("no action was planned: the test proves nothing")
	}
	for _, r := range w.sim.Requests() {
		if r.Mutating {
			t.Fatalf("mutating request in dry-run: %s %s", r.Method, r.Endpoint)
		}
	}
	// The config's dry_run is enforced the same way.
	cfg.DryRun = true
	w2 := newWorld(t, 7, cfg)
	for range 3 {
		w2.mustStep()
	}
	for _, r := range w2.sim.Requests() {
		if r.Mutating {
			t.Fatalf("mutating request with dry_run in the config: %s %s", r.Method, r.Endpoint)
		}
	}
}

func TestSimFailedObservationTakesNoAction(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(2))
	w := newWorld(t, 8, simConfig(f))
	w.mustStep()
	w.sim.InjectFault(vastsim.Fault{Endpoint: vastapi.EPCurrentUser, Kind: vastsim.Fault500, Rate: 1})
	for range 3 {
		rep, err := w.step()
		if err == nil {
			t.Fatal("cycle succeeded with the account call failing")
		}
		if len(rep.Outcomes) != 0 || !slices.ContainsFunc(rep.Plan.Decisions, func(d scaler.Decision) bool {
			return d.Reason == scaler.ReasonAPIError
		}) {
			t.Fatalf("outcomes %v decisions %v", rep.Outcomes, rep.Plan.Decisions)
		}
	}
	if w.creates() != 0 {
		t.Fatal("a create was sent in a cycle whose observation failed")
	}
}

// instanceIDOf extracts the instance id of a mutating request's path, 0 when none.
func instanceIDOf(path string) int64 {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if id, err := strconv.ParseInt(parts[i], 10, 64); err == nil {
			return id
		}
	}
	return 0
}

func TestSimCorruptJournalStopsCreatesWithAClearError(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(2))
	w := newWorld(t, 9, simConfig(f))
	w.mustStep()
	w.mustStep()
	if len(w.ours("web")) != 2 {
		t.Fatal("fleet did not fill")
	}
	// The journal is damaged while the daemon is down; one instance dies meanwhile.
	if err := os.WriteFile(filepath.Join(w.dir, scaler.JournalFile), []byte(`{"version":1,"creates":[{"nonce":`), 0o600); err != nil {
		t.Fatal(err)
	}
	dead := w.ours("web")[0].ID
	if err := w.sim.FailInstance(dead, vastsim.FailExited); err != nil {
		t.Fatal(err)
	}
	w.restart()
	before := w.creates()
	var rep scaler.CycleReport
	for range 4 {
		rep = w.mustStep()
	}
	var je *scaler.JournalError
	if !errors.As(rep.JournalErr, &je) || !strings.Contains(rep.JournalErr.Error(), "no creates") {
		t.Fatalf("journal error %v", rep.JournalErr)
	}
	if w.creates() != before {
		t.Fatal("a create was sent with an unreadable journal")
	}
	if fs := rep.Plan.Fleet("web"); !slices.Contains(fs.Blocked, scaler.ReasonJournal) {
		t.Fatalf("blocked %v", fs.Blocked)
	}
	if !slices.Contains(w.sim.Destroyed(), dead) {
		t.Fatal("the failed instance, ours by its label, was not cleaned up")
	}
}

func TestSimCostIntegratesCommittedSpend(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(2))
	w := newWorld(t, 10, simConfig(f))
	var prev scaler.CycleReport
	for i := range 5 {
		rep := w.mustStep()
		if i > 0 {
			want := prev.Plan.Fleet("web").SpendAfter * poll.Hours()
			if got := rep.Cost["web"]; !near(got, want) {
				t.Fatalf("cycle %d: cost %v, want %v", i, got, want)
			}
		}
		prev = rep
	}
	if prev.Plan.Fleet("web").SpendAfter <= 0 {
		t.Fatal("nothing committed: the test proves nothing")
	}
}

func TestSimRearmHoldsCreatesForOneGrace(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(1))
	w := newWorld(t, 11, simConfig(f), func(_ *vastsim.Options, o *scaler.Options) { o.StartGrace = 90 * time.Second })
	rep := w.mustStep()
	if !slices.ContainsFunc(rep.Plan.Decisions, func(d scaler.Decision) bool { return d.Reason == scaler.ReasonReconciling }) {
		t.Fatalf("first cycle after start: %v", rep.Plan.Decisions)
	}
	w.mustStep() // +60s: still inside the 90s grace
	if w.creates() != 0 {
		t.Fatal("create inside the start grace")
	}
	w.mustStep() // +120s
	if w.creates() != 1 {
		t.Fatalf("%d creates after the grace, want 1", w.creates())
	}
	// Gaining leadership again: held once more.
	w.sc.Rearm()
	if err := w.sim.FailInstance(w.ours("web")[0].ID, vastsim.FailExited); err != nil {
		t.Fatal(err)
	}
	w.mustStep()
	if w.creates() != 1 {
		t.Fatal("create right after Rearm")
	}
	w.mustStep()
	w.mustStep()
	if w.creates() != 2 || len(w.ours("web")) != 1 {
		t.Fatalf("%d creates, %d instances after the grace", w.creates(), len(w.ours("web")))
	}
}
