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

// planDeps are what planOnce builds its observation from; tests replace them.
type planDeps struct {
	clock  clock.Clock
	reader scaler.Reader
}

func definePlan(cmd *kingpin.CmdClause, c *cli) action {
	var api apiFlags
	stateDir := api.withConfig(cmd).Flag("state.dir", "Directory of the scaler's write-ahead journal (only read here).").Default("./data").String()
	return func(ctx context.Context) error {
		return api.run(c, func(cfg *policy.Config, client *vastapi.Client) error {
			if api.sim.Enabled && !c.given["state.dir"] && c.env.StateDir == "" {
				*stateDir = "" // as run --simulate: no state of the real API's
			}
			if err := scaler.CheckStateDir(*stateDir, daemon.StateAPI(api.url, api.sim)); err != nil {
				return err
			}
			return planOnce(ctx, c.IO, planDeps{clock: clock.Real{}, reader: client}, cfg, *stateDir)
		})
	}
}

// planOnce runs the read-only look every cycle starts with, then prints its plan. Execution
// goes through the executor in dry-run with a Mutator that refuses everything, so no path of
// this command can mutate.
func planOnce(ctx context.Context, pio IO, deps planDeps, cfg *policy.Config, stateDir string) error {
	look := scaler.Look{Reader: deps.reader, Prober: scaler.NetProber{}, Demand: demand.New(deps.clock, 0), State: func(scaler.Observation) scaler.State {
		st, err := scaler.ReadState(stateDir, scaler.DefaultPendingGrace)
		if err != nil {
			fmt.Fprintf(pio.Stderr, "vastwatch plan: %v (creates would be blocked)\n", err)
		}
		return st
	}}
	rep, err := look.Run(ctx, deps.clock.Now(), cfg, scaler.Carry{})
	if err != nil {
		return fmt.Errorf("%w (a cycle would take no action)", err)
	}
	ex := &scaler.Executor{API: scaler.Refuser{}, DryRun: true, Clock: deps.clock}
	outs := ex.Execute(ctx, rep.Plan.Actions)
	return report.Plan(pio.Stdout, rep.Plan, outs, cfg.Account)
}
