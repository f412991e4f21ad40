package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

func init() {
	register(&command{
		name:    "plan",
		summary: "one-shot: observe, plan, print the actions and why; never mutates anything",
		run:     runPlan,
	})
}

// planDeps are what runPlan builds its observation from; tests replace them.
type planDeps struct {
	clock  clock.Clock
	reader scaler.Reader
}

func runPlan(ctx context.Context, pio IO, args []string) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(pio.Stderr)
	cfgFile := fs.String("config.file", "", "config file (required against the real API)")
	simulate := fs.Bool("simulate", false, "plan against the in-process simulated market")
	stateDir := fs.String("state.dir", "./data", "directory of the scaler's write-ahead journal (read only here)")
	seed := fs.Int64("simulate.seed", 1, "seed of the simulated market")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(pio.Stderr, "vastwatch plan: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var cfg *policy.Config
	var err error
	switch {
	case *cfgFile != "":
		cfg, err = policy.Load(*cfgFile, pio.Getenv)
	case *simulate:
		// The embedded example only ever meets the simulator, never the real API.
		cfg, err = policy.Parse(vastwatch.ExampleConfig, "", pio.Getenv)
	default:
		fmt.Fprintln(pio.Stderr, "vastwatch plan: --config.file is required (or --simulate to plan against the simulated market with the example config)")
		return 2
	}
	if err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch plan: %v\n", err)
		return 1
	}
	deps, err := planClient(ctx, pio, *simulate, *seed)
	if err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch plan: %v\n", err)
		return 1
	}
	return planOnce(ctx, pio, deps, cfg, *stateDir)
}

// planClient builds the read side of the API: the real one from the environment's key and URL,
// or the in-process simulator.
func planClient(ctx context.Context, pio IO, simulate bool, seed int64) (planDeps, error) {
	clk := clock.Real{}
	if simulate {
		sim, err := vastsim.New(vastsim.Options{Seed: seed, Clock: clk})
		if err != nil {
			return planDeps{}, fmt.Errorf("start simulator: %w", err)
		}
		c, err := vastapi.New(vastapi.Config{BaseURL: "http://sim", Key: vastapi.NewSecret("simulated"),
			HTTPClient: &http.Client{Transport: sim.Transport()}, Clock: clk, Pacing: map[string]time.Duration{},
			UserAgent: "vastwatch/" + version})
		if err != nil {
			return planDeps{}, fmt.Errorf("simulator client: %w", err)
		}
		return planDeps{clock: clk, reader: c}, nil
	}
	// The same environment handling as run: VAST_API_KEY or VAST_API_KEY_FILE (not both), and
	// an API URL without credentials in it.
	env, err := policy.LoadEnv(ctx, pio.Getenv)
	if err != nil {
		return planDeps{}, err
	}
	if env.APIKey.Empty() {
		return planDeps{}, fmt.Errorf("no API key: set VAST_API_KEY or VAST_API_KEY_FILE, or use --simulate")
	}
	base := env.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	c, err := vastapi.New(vastapi.Config{BaseURL: base, Key: env.APIKey, Clock: clk,
		UserAgent: "vastwatch/" + version})
	if err != nil {
		return planDeps{}, fmt.Errorf("api client: %w", err)
	}
	return planDeps{clock: clk, reader: c}, nil
}

// planOnce observes, plans and prints. Execution goes through the executor in dry-run with a
// Mutator that refuses everything, so no path of this command can mutate.
func planOnce(ctx context.Context, pio IO, deps planDeps, cfg *policy.Config, stateDir string) int {
	st, jerr := scaler.ReadState(stateDir, scaler.DefaultPendingGrace)
	if jerr != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch plan: %v (creates would be blocked)\n", jerr)
	}
	now := deps.clock.Now()
	obs, err := scaler.Observe(ctx, deps.reader, cfg, now)
	if err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch plan: %v (a cycle would take no action)\n", err)
		return 1
	}
	// Readiness probes only read: run once here, an instance passing now counts as ready.
	st.Probes = scaler.ProbeAll(ctx, scaler.NetProber{}, now, cfg, obs, st.Creates, nil)
	res := scaler.Plan(now, obs, cfg, st)
	ex := &scaler.Executor{API: scaler.Refuser{}, DryRun: true, Clock: deps.clock}
	outs := ex.Execute(ctx, res.Actions)
	if err := writePlan(pio.Stdout, res, outs, cfg.Account.MaxSpendPerHour); err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch plan: %v\n", err)
		return 1
	}
	return 0
}

// writePlan prints a plan the way `vastwatch plan` shows it: per fleet its target and counts,
// committed $/h before → after against the budget, each decision and each action with its
// reason. It prints nothing secret (actions print without env values).
func writePlan(w io.Writer, res scaler.Result, outs []scaler.ActionOutcome, capPerHour float64) error {
	var b strings.Builder
	capText := "no cap"
	if capPerHour > 0 {
		capText = fmt.Sprintf("cap $%.4f/h", capPerHour)
	}
	fmt.Fprintf(&b, "plan at %s: credit $%.2f, committed $%.4f/h -> $%.4f/h (%s)\n",
		res.At.UTC().Format(time.RFC3339), res.Credit, res.CommittedBefore, res.CommittedAfter, capText)
	outcome := map[int]string{}
	for i, o := range outs {
		s := o.Result
		if o.Why != "" && o.Result != scaler.ResultDryRun {
			s += ": " + o.Why
		}
		outcome[i] = s
	}
	for _, f := range res.Fleets {
		var counts []string
		for _, p := range scaler.Phases {
			counts = append(counts, fmt.Sprintf("%s %d", p, f.Counts[p]))
		}
		if f.PendingCreates > 0 {
			counts = append(counts, fmt.Sprintf("pending creates %d", f.PendingCreates))
		}
		budget := "no budget"
		if f.Budget > 0 {
			budget = fmt.Sprintf("budget $%.4f/h", f.Budget)
		}
		fmt.Fprintf(&b, "\nfleet %s: target %d (min %d, max %d); %s\n", f.Name, f.Target, f.Min, f.Max, strings.Join(counts, ", "))
		fmt.Fprintf(&b, "  $/h %.4f -> %.4f (%s)\n", f.SpendBefore, f.SpendAfter, budget)
		if len(f.Blocked) > 0 {
			fmt.Fprintf(&b, "  blocked: %s\n", strings.Join(f.Blocked, ", "))
		}
		for _, d := range res.Decisions {
			if d.Fleet != f.Name {
				continue
			}
			fmt.Fprintf(&b, "  decision %s: %s", d.Decision, d.Reason)
			if d.Detail != "" {
				fmt.Fprintf(&b, " (%s)", d.Detail)
			}
			b.WriteByte('\n')
		}
		n := 0
		for i, a := range res.Actions {
			if a.Fleet != f.Name {
				continue
			}
			n++
			fmt.Fprintf(&b, "  action %s", a)
			if s, ok := outcome[i]; ok {
				fmt.Fprintf(&b, " [%s]", s)
			}
			b.WriteByte('\n')
		}
		if n == 0 {
			b.WriteString("  no action\n")
		}
	}
	if len(res.Avoided) > 0 {
		fmt.Fprintf(&b, "\navoided machines (%d, not rented on after failures):\n", len(res.Avoided))
		for _, m := range res.Avoided {
			fmt.Fprintf(&b, "  machine %d until %s", m.Machine, m.Until.UTC().Format(time.RFC3339))
			if m.Failures > 0 {
				fmt.Fprintf(&b, " (%d failures", m.Failures)
				if m.Fleet != "" {
					fmt.Fprintf(&b, ", last in fleet %s", m.Fleet)
				}
				b.WriteByte(')')
			}
			b.WriteByte('\n')
		}
	}
	if len(res.Orphans) > 0 {
		names := make([]string, 0, len(res.Orphans))
		for name := range res.Orphans {
			names = append(names, name)
		}
		slices.Sort(names)
		b.WriteString("\norphans (managed instances whose fleet left the config):\n")
		for _, name := range names {
			fmt.Fprintf(&b, "  fleet %s: %d\n", name, res.Orphans[name])
		}
		for i, a := range res.Actions {
			if a.Reason == scaler.ReasonOrphan {
				fmt.Fprintf(&b, "  action %s", a)
				if s, ok := outcome[i]; ok {
					fmt.Fprintf(&b, " [%s]", s)
				}
				b.WriteByte('\n')
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
