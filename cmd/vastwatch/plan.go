package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/daemon"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/report"
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

func runPlan(ctx context.Context, pio IO, args []string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(pio.Stderr)
	cfgFile := fs.String("config.file", "", "config file (required against the real API)")
	simulate := fs.Bool("simulate", false, "plan against the in-process simulated market")
	stateDir := fs.String("state.dir", "./data", "directory of the scaler's write-ahead journal (read only here)")
	seed := fs.Int64("simulate.seed", 1, "seed of the simulated market")
	if err := parseFlags(fs, args); err != nil {
		return err
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
		return usageErr("--config.file is required (or --simulate to plan against the simulated market with the example config)")
	}
	if err != nil {
		return err
	}
	deps, err := planClient(ctx, pio, *simulate, *seed)
	if err != nil {
		return err
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
		base = daemon.DefaultAPIURL
	}
	c, err := vastapi.New(vastapi.Config{BaseURL: base, Key: env.APIKey, Clock: clk,
		UserAgent: "vastwatch/" + version, FailFast: true})
	if err != nil {
		return planDeps{}, fmt.Errorf("api client: %w", err)
	}
	return planDeps{clock: clk, reader: c}, nil
}

// planOnce runs the read-only look every cycle starts with, then prints its plan. Execution
// goes through the executor in dry-run with a Mutator that refuses everything, so no path of
// this command can mutate.
func planOnce(ctx context.Context, pio IO, deps planDeps, cfg *policy.Config, stateDir string) error {
	look := scaler.Look{Reader: deps.reader, Prober: scaler.NetProber{}, State: func(scaler.Observation) scaler.State {
		st, err := scaler.ReadState(stateDir, scaler.DefaultPendingGrace)
		if err != nil {
			fmt.Fprintf(pio.Stderr, "vastwatch plan: %v (creates would be blocked)\n", err)
		}
		return st
	}}
	rep, err := look.Run(ctx, deps.clock.Now(), cfg, nil)
	if err != nil {
		return fmt.Errorf("%w (a cycle would take no action)", err)
	}
	ex := &scaler.Executor{API: scaler.Refuser{}, DryRun: true, Clock: deps.clock}
	outs := ex.Execute(ctx, rep.Plan.Actions)
	return report.Plan(pio.Stdout, rep.Plan, outs, cfg.Account.MaxSpendPerHour)
}
