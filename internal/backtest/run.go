package backtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// Config is one policy to backtest: the config file's name and what it says.
type Config struct {
	Name   string
	Policy *policy.Config
}

// Options say what to replay and how.
type Options struct {
	Configs []Config
	// Recording is a recording directory, read from From to To (zero: its ends); else
	// Scenario names a scenario of the simulator, run from ScenarioStart for Days with Seed
	// over Machines generated machines.
	Recording string
	From, To  time.Time
	Scenario  string
	Seed      int64
	Days      int
	Machines  int
	// Demand holds the demand series of demand-driven fleets, by fleet name.
	Demand map[string]DemandSeries
	// BootDelay is how long a new instance loads before it runs (default 3 minutes; the
	// provisioning before it takes 5 s more). BootFailure and HostFailuresPerDay fail boots
	// and running instances on a recording (a scenario sets its own).
	BootDelay          time.Duration
	BootFailure        float64
	HostFailuresPerDay float64
	// Progress, when set, is told how far the replay has come.
	Progress func(done, total time.Duration)
}

// ScenarioStart is when a scenario's replay starts: a Monday, 00:00 UTC.
var ScenarioStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// Defaults of Options.
const (
	DefaultBootDelay   = 3 * time.Minute
	DefaultMachines    = 1000
	DefaultBootFailure = 0.02
	DefaultHostFailure = 0.02
)

// credit is the simulated account's starting credit: more than any backtest spends, so the
// credit floor never stops one (a budget does).
const credit = 1e9

// runner is one config's replay: its simulator, its scaler and what it added up.
type runner struct {
	cfg    Config
	sim    *vastsim.Sim
	sc     *scaler.Scaler
	next   time.Time
	cycles int
	fleets []*fleetTrack
	byID   map[int64]string // instance id → fleet, from its label
}

// Run replays every config against the same market and reports. While it runs, the garbage
// collector runs a quarter as often (GOGC 400, unless GOGC is set): a replay's heap is small
// and mostly short-lived, and collecting it was a third of a replay's time.
func Run(ctx context.Context, o Options) (*Report, error) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	rep, _, err := run(ctx, o)
	return rep, err
}

// run is Run, also handing back each config's runner (tests look at their simulators).
func run(ctx context.Context, o Options) (*Report, []*runner, error) {
	o, err := o.check()
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{Schema: Schema}
	var b *broadcast
	start, end := ScenarioStart, ScenarioStart.Add(time.Duration(o.Days)*24*time.Hour)
	if o.Recording != "" {
		if b, err = openRecording(o.Recording, o.From, o.To, len(o.Configs)); err != nil {
			return nil, nil, err
		}
		start, end = b.first, time.Time{}
	}
	clk := clock.NewFake(start)
	runners := make([]*runner, len(o.Configs))
	for i, c := range o.Configs {
		if runners[i], err = newRunner(o, c, clk, b, i); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	end, err = drive(ctx, o, clk, runners, b, end)
	if err != nil {
		return nil, nil, err
	}
	rep.Source = o.source(b)
	rep.Start, rep.End, rep.Hours = start, end, end.Sub(start).Hours()
	for _, r := range runners {
		rep.Configs = append(rep.Configs, r.finish(end))
	}
	return rep, runners, nil
}

// check fills the defaults and refuses what cannot run.
func (o Options) check() (Options, error) {
	if len(o.Configs) == 0 {
		return o, errors.New("no config to backtest")
	}
	if (o.Recording == "") == (o.Scenario == "") {
		return o, errors.New("give a recording or a scenario, not both")
	}
	if o.Scenario != "" && o.Days <= 0 {
		return o, errors.New("a scenario needs a number of days above 0")
	}
	if o.BootDelay <= 0 {
		o.BootDelay = DefaultBootDelay
	}
	if o.Machines <= 0 {
		o.Machines = DefaultMachines
	}
	for _, c := range o.Configs {
		for _, f := range c.Policy.Fleets {
			if f.Autoscale != nil && f.Autoscale.Demand != nil {
				if _, ok := o.Demand[f.Name]; !ok {
					return o, fmt.Errorf("%s: fleet %s scales on demand: give --demand %s=FILE.csv or --demand %s=SHAPE (one of %v)", c.Name, f.Name, f.Name, f.Name, Shapes)
				}
			}
		}
	}
	return o, nil
}

func newRunner(o Options, c Config, clk *clock.Fake, b *broadcast, i int) (*runner, error) {
	so := vastsim.Options{Seed: o.Seed, Machines: o.Machines, Clock: clk, Credit: credit, APIKey: simKey,
		BootDelay: o.BootDelay, BootFailure: o.BootFailure, HostFailuresPerDay: o.HostFailuresPerDay}
	if b != nil {
		so.Feed = b.feed(i)
	} else {
		var err error
		if so, err = vastsim.WithScenario(so, o.Scenario); err != nil {
			return nil, err
		}
	}
	sim, err := vastsim.New(so)
	if err != nil {
		return nil, err
	}
	api, err := newSimAPI(sim, clk)
	if err != nil {
		return nil, err
	}
	sc := scaler.New(scaler.Options{Clock: clk, API: api, Memory: true, Prober: readyProber{}, Notifier: ackNotifier{},
		Demand: demandReader{clk: clk, series: o.Demand}})
	r := &runner{cfg: c, sim: sim, sc: sc, next: clk.Now(), byID: map[int64]string{}}
	for _, f := range c.Policy.Fleets {
		r.fleets = append(r.fleets, newFleetTrack(f))
	}
	return r, nil
}

// drive runs the polls in time order until the end (for a recording: its last poll), each
// config at its own poll interval on the shared clock.
func drive(ctx context.Context, o Options, clk *clock.Fake, runners []*runner, b *broadcast, end time.Time) (time.Time, error) {
	start := clk.Now()
	total := end.Sub(start)
	if b != nil {
		total = o.recordingSpan(start)
	}
	for polls := 0; ; polls++ {
		if err := ctx.Err(); err != nil {
			return end, err
		}
		t := runners[0].next
		for _, r := range runners[1:] {
			if r.next.Before(t) {
				t = r.next
			}
		}
		if b != nil && b.endsBefore(t) {
			end = b.last
			break
		}
		if b == nil && t.After(end) {
			break
		}
		clk.Set(t)
		for _, r := range runners {
			if r.next.Equal(t) {
				if err := r.cycle(ctx, t); err != nil {
					return end, err
				}
			}
		}
		if o.Progress != nil && polls%64 == 0 {
			o.Progress(t.Sub(start), total)
		}
	}
	if b != nil && b.err != nil {
		return end, fmt.Errorf("read recording: %w", b.err)
	}
	clk.Set(end)
	if o.Progress != nil {
		o.Progress(end.Sub(start), end.Sub(start))
	}
	return end, nil
}

// cycle runs one poll of r's config at t and adds it up.
func (r *runner) cycle(ctx context.Context, t time.Time) error {
	pol := r.cfg.Policy
	bills := r.bills()
	for _, f := range r.fleets {
		f.interval(t, bills[f.cfg.Name])
		f.lastAt = t
	}
	rep, err := r.sc.Cycle(ctx, pol)
	if err != nil && ctx.Err() != nil {
		return err
	}
	r.cycles++
	r.next = t.Add(pol.PollInterval)
	for _, f := range r.fleets {
		f.poll(&rep, pol.PollInterval)
		f.sample(t, cost(bills[f.cfg.Name]))
	}
	return nil
}

// bills are the simulator's bills by fleet (from each instance's label).
func (r *runner) bills() map[string][]vastsim.Bill {
	out := map[string][]vastsim.Bill{}
	for _, b := range r.sim.Billing() {
		fleet, ok := r.byID[b.ID]
		if !ok {
			if owner, f, _, parsed := scaler.ParseLabel(b.Label); parsed && owner == r.cfg.Policy.Owner {
				fleet = f
			}
			r.byID[b.ID] = fleet
		}
		out[fleet] = append(out[fleet], b)
	}
	return out
}

func cost(bills []vastsim.Bill) float64 {
	sum := 0.0
	for _, b := range bills {
		sum += b.GPU + b.Disk
	}
	return sum
}

// Scenarios are the simulator's scenarios a backtest can run (docs/backtest.md "Scenarios").
var Scenarios = vastsim.Scenarios

// scenarioList and shapeList name the scenarios and the demand shapes for help texts.
var (
	scenarioList = strings.Join(Scenarios, ", ")
	shapeList    = strings.Join(Shapes, "|")
)
