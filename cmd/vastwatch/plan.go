package main

import (
	"context"
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/daemon"
	"github.com/vastwatch/vastwatch/internal/demand"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/report"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

func definePlan(cmd *kingpin.CmdClause, c *cli) action {
	var api apiFlags
	var lead daemon.LeaderOptions
	stateDir := api.withConfig(cmd).Flag("state.dir", "Directory of the scaler's write-ahead journal (only read here).").Default("./data").String()
	leaseFlags(cmd, &lead, "Read the state run --leader-elect keeps, the ConfigMap beside the Lease, instead of --state.dir.")
	return func(ctx context.Context) error {
		return api.run(c, func(cfg *policy.Config, client *vastapi.Client) error {
			if api.sim.Enabled && !c.given["state.dir"] && c.env.StateDir == "" {
				*stateDir = "" // as run --simulate: no state of the real API's
			}
			store, err := daemon.PlanState(ctx, lead, *stateDir, daemon.StateAPI(api.url, api.sim), c.Getenv)
			if err != nil {
				return err
			}
			return planOnce(ctx, c.IO, clock.Real{}, client, cfg, store)
		})
	}
}

// planOnce runs the read-only look every cycle starts with, at clk's time over what reader
// and store hold, then prints its plan. Execution goes through the executor in dry-run with a
// Mutator that refuses everything, so no path of this command can mutate.
func planOnce(ctx context.Context, pio IO, clk clock.Clock, reader scaler.Reader, cfg *policy.Config, store scaler.Store) error {
	look := scaler.Look{Reader: reader, Prober: scaler.NetProber{}, Demand: demand.New(clk, 0), State: func(scaler.Observation) scaler.State {
		st, err := scaler.ReadStateFrom(store, scaler.DefaultPendingGrace)
		if err != nil {
			fmt.Fprintf(pio.Stderr, "vastwatch plan: %v (creates would be blocked)\n", err)
		}
		return st
	}}
	rep, err := look.Run(ctx, clk.Now(), cfg, scaler.Carry{})
	if err != nil {
		return fmt.Errorf("%w (a cycle would take no action)", err)
	}
	ex := &scaler.Executor{API: scaler.Refuser{}, DryRun: true, Clock: clk}
	outs := ex.Execute(ctx, rep.Plan.Actions)
	return report.Plan(pio.Stdout, rep.Plan, outs, cfg.Account)
}
