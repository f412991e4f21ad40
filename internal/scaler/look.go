package scaler

import (
	"context"
	"fmt"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// Look is the read-only part of a cycle (docs/design.md §4): observe, read the state, read the
// demand, probe, plan. The leader, followers and `vastwatch plan` all run it; only the leader
// then executes the plan (Scaler.Cycle). Look itself writes nothing and sends no mutating
// request: whatever State does with the observation is the caller's (the leader reconciles
// its journal there).
type Look struct {
	Reader Reader
	Prober Prober
	Demand DemandReader // nil: autoscaled fleets' demand reads as unavailable
	// State gives the planner's state for a complete observation.
	State func(obs Observation) State
}

// Carry is what one look hands the next: the readiness probes, each autoscaled fleet's last
// good demand, and the recent desired sizes its stabilisation windows read. The zero Carry is
// a fresh start.
type Carry struct {
	Probes  map[int64]ProbeResult
	Demand  map[string]Demand
	Desired map[string][]DesiredSample
}

// Run looks once at now with cfg, carrying on from the last look's prev. A failed observation
// returns the error and no plan: a cycle never acts on a partial view of the instances (a
// failed market search only holds the fleets renting from it).
func (l Look) Run(ctx context.Context, now time.Time, cfg *policy.Config, prev Carry) (CycleReport, error) {
	rep := CycleReport{At: now, Carry: prev}
	obs, err := Observe(ctx, l.Reader, cfg, now)
	if err != nil {
		return rep, fmt.Errorf("observe: %w", err)
	}
	rep.Observation = obs
	st := l.State(obs)
	// Probes only read, so every replica probes: a follower's /sd must be as right as the
	// leader's.
	st.Probes = ProbeAll(ctx, l.Prober, now, cfg, obs, st.Creates, prev.Probes)
	st.Demand = readDemand(ctx, l.Demand, now, cfg, prev.Demand)
	st.DesiredHistory = prev.Desired
	rep.Plan = Plan(now, obs, cfg, st)
	rep.Carry = Carry{Probes: st.Probes, Demand: st.Demand, Desired: nextHistory(now, cfg, prev.Desired, rep.Plan.Fleets)}
	return rep, nil
}

// nextHistory adds this cycle's raw desired of each autoscaled fleet to its history and drops
// what no window of it reads any more (and fleets that left the config or stopped autoscaling).
func nextHistory(now time.Time, cfg *policy.Config, prev map[string][]DesiredSample, fleets []FleetStatus) map[string][]DesiredSample {
	var out map[string][]DesiredSample
	for _, fs := range fleets {
		f := cfg.Fleet(fs.Name)
		if f == nil || f.Autoscale == nil {
			continue
		}
		// The newest sample older than the longest window stays: it shows the history covers
		// the window.
		keep := max(f.Autoscale.StabilizeUp, f.Autoscale.StabilizeDown)
		old := prev[fs.Name]
		start := 0
		for i, s := range old {
			if now.Sub(s.At) > keep {
				start = i
			}
		}
		h := append([]DesiredSample(nil), old[start:]...)
		if out == nil {
			out = make(map[string][]DesiredSample)
		}
		out[fs.Name] = append(h, DesiredSample{At: now, Raw: fs.Desired.Raw})
	}
	return out
}
