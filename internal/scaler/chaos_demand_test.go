package scaler_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// chaosDemand is an autoscaled fleet's demand source at its worst: each cycle, drawn from the
// seed, it gives a value that flaps between calm and busy, an error, NaN, ±Inf, or an outage of
// several cycles (longer than stale_after). Draws happen once per cycle (next), so a seed replays.
type chaosDemand struct {
	mu      sync.Mutex
	rng     *rand.Rand
	value   float64
	err     error
	outage  int
	missing int // cycles that read no value
}

var _ scaler.DemandReader = (*chaosDemand)(nil)

func newChaosDemand(seed uint64) *chaosDemand {
	return &chaosDemand{rng: rand.New(rand.NewPCG(seed, 23))}
}

// settle ends the chaos: a steady load of 15 (two instances) from now on.
func (d *chaosDemand) settle() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.value, d.err, d.outage = 15, nil, 0
}

// next draws this cycle's answer.
func (d *chaosDemand) next() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.err = nil
	switch r := d.rng.Float64(); {
	case d.outage > 0:
		d.outage--
		d.err = errors.New("prometheus unreachable")
	case r < 0.01:
		d.outage = 8 // 8 minutes of polls: past stale_after
		d.err = errors.New("prometheus unreachable")
	case r < 0.10:
		d.err = errors.New("the query gave 0 samples")
	case r < 0.15:
		d.value = math.NaN()
	case r < 0.17:
		d.value = math.Inf(1)
	case r < 0.40:
		// Flapping: calm, busy, calm.
		d.value = []float64{0, 35, 5, 28}[d.rng.IntN(4)]
	default:
		if math.IsNaN(d.value) || math.IsInf(d.value, 0) {
			d.value = 15
		}
	}
}

func (d *chaosDemand) ReadDemand(context.Context, *policy.Fleet) (float64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil || math.IsNaN(d.value) || math.IsInf(d.value, 0) {
		d.missing++
	}
	return d.value, d.err
}

// autoChaosFleet is the chaos's autoscaled fleet: demand at 10 per instance, a 5-minute
// scale-down window, a cold pool of one, over market m.
func autoChaosFleet(m *policy.Market) *policy.Fleet {
	f := testFleet("auto", m, simSized(1))
	f.Min, f.Max, f.Budget, f.MaxPrice = 0, 3, 0.45, 0.15
	f.BootTimeout = 4 * time.Minute
	f.CooldownDown = time.Minute
	f.Cold = 1
	f.Autoscale = &policy.Autoscale{StabilizeDown: 5 * time.Minute,
		Demand: &policy.Demand{Query: "sum(queue)", PerInstance: 10, StaleAfter: 3 * time.Minute}}
	return f
}

// planTarget is the fleet's target as the plan set it (an autoscaled fleet's follows its
// demand), or its schedule's when the plan has no such fleet.
func planTarget(rep scaler.CycleReport, f *policy.Fleet) int {
	if fs := rep.Plan.Fleet(f.Name); fs != nil && f.Autoscale != nil {
		return fs.Target
	}
	return f.TargetAt(rep.At)
}

// checkDemandNeverScalesDownOnMissingData: while an autoscaled fleet's demand is stale, its
// target never falls below what it counted, and no instance of it is removed for being above
// target.
func checkDemandNeverScalesDownOnMissingData(c int, rep scaler.CycleReport, st *chaosStats) {
	for _, fs := range rep.Plan.Fleets {
		d := fs.Desired
		if !d.HasDemand || !d.DemandStale {
			continue
		}
		st.staleCycles++
		for _, a := range rep.Plan.Actions {
			if a.Fleet == fs.Name && a.Reason == scaler.ReasonAboveTarget {
				st.violate(c, "fleet %s scaled down on missing demand data: %s", fs.Name, a)
			}
		}
	}
}

// coldDiscount is how much less than full price a fleet's cold pool commits (docs/design.md §5):
// its cheapest stopped instances, up to cold.instances, commit only their storage.
func coldDiscount(f *policy.Fleet, ins []vastapi.Instance) float64 {
	if f == nil || f.Cold <= 0 {
		return 0
	}
	var full []float64
	for _, in := range ins {
		if in.Status() == "stopped" {
			full = append(full, simCommitted(in)-in.StorageCost*in.DiskSpace/vastapi.HoursPerMonth)
		}
	}
	// The planner picks the cheapest by the price they commit running, which simCommitted is.
	slices.Sort(full)
	d := 0.0
	for _, gpu := range full[:min(len(full), f.Cold)] {
		d += gpu
	}
	return d
}
