package scaler

import (
	"context"
	"fmt"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// Look is the read-only part of a cycle (docs/design.md §4): observe, read the state, probe,
// plan. The leader, followers and `vastwatch plan` all run it; only the leader then executes
// the plan (Scaler.Cycle). Look itself writes nothing and sends no mutating request: whatever
// State does with the observation is the caller's (the leader reconciles its journal there).
type Look struct {
	Reader Reader
	Prober Prober
	// State gives the planner's state for a complete observation.
	State func(obs Observation) State
}

// Run looks once at now with cfg. probes are the last cycle's readiness probes, carried into
// this one (nil for none); the report's Probes are this cycle's. A failed observation returns
// the error and no plan: a cycle never acts on a partial view of the instances (a failed market
// search only holds the fleets renting from it).
func (l Look) Run(ctx context.Context, now time.Time, cfg *policy.Config, probes map[int64]ProbeResult) (CycleReport, error) {
	rep := CycleReport{At: now}
	obs, err := Observe(ctx, l.Reader, cfg, now)
	if err != nil {
		return rep, fmt.Errorf("observe: %w", err)
	}
	rep.Observation = obs
	st := l.State(obs)
	// Probes only read, so every replica probes: a follower's /sd must be as right as the
	// leader's.
	st.Probes = ProbeAll(ctx, l.Prober, now, cfg, obs, st.Creates, probes)
	rep.Probes = st.Probes
	rep.Plan = Plan(now, obs, cfg, st)
	return rep, nil
}
