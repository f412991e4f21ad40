package scaler

import (
	"cmp"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// The cold pool (docs/design.md §8): a fleet with `cold: {instances: N}` keeps up to N of its
// instances stopped instead of destroying them on a scale-down, and starts them before renting
// on a scale-up. A cold instance commits only its storage until it is started, and is never
// expired by stopped_ttl. A start whose GPUs were rented by someone else meanwhile waits in
// `scheduling` for good: after coldStartGrace it is failed, destroyed and replaced by a rental.

// coldStartGrace is how long a started instance may wait in `scheduling` before its start
// counts as failed: long enough for the API to place it, short enough that a scale-up does not
// wait a whole boot_timeout on GPUs that someone else holds.
const coldStartGrace = 2 * time.Minute

// Why and reason of a failed start.
const (
	// WhyStartFailed: we started a stopped instance, and it waits in scheduling for GPUs
	// another renter holds.
	WhyStartFailed = "start_failed"
	// ReasonStartFailed is the destroy of such an instance. Its machine is not avoided: nothing
	// is wrong with it, its GPUs are just taken.
	ReasonStartFailed = "start_failed"
)

// markCold picks each cold fleet's pool among its stopped instances, cheapest first, and has
// them commit their storage only.
func (p *planner) markCold() {
	for _, f := range p.cfg.Fleets {
		if f.Cold <= 0 {
			continue
		}
		var stopped []*Managed
		for _, m := range p.byFleet[f.Name] {
			// A frozen instance keeps its GPU and bills it: never a cold one.
			if m.Phase == PhaseStopped && m.Instance.Status() == "stopped" {
				stopped = append(stopped, m)
			}
		}
		slices.SortStableFunc(stopped, func(a, b *Managed) int { return cmp.Compare(a.Price, b.Price) })
		for _, m := range stopped[:min(len(stopped), f.Cold)] {
			storage := storagePrice(m.Instance, f.Instance.DiskGB)
			m.Cold, m.runPrice = true, m.Price
			p.account -= m.Price - storage
			m.Price = storage
		}
	}
}

// storagePrice is what a stopped instance commits: its storage for the fleet's disk.
func storagePrice(in *vastapi.Instance, disk float64) float64 {
	if disk <= 0 {
		disk = in.DiskSpace
	}
	return in.StorageCost * disk / vastapi.HoursPerMonth
}

// startFailed reports whether an instance we started waits in scheduling past the grace.
func (p *planner) startFailed(in *vastapi.Instance) bool {
	started, ok := p.st.StartedByUs[in.ID]
	return ok && in.Status() == "scheduling" && p.now.Sub(started) > coldStartGrace
}

// coldStartFits reports whether starting cold instance m keeps the fleet's and the account's
// budgets: its price goes from storage to running.
func (fp *fleetPlan) coldStartFits(m *Managed) bool {
	delta := m.runPrice - m.Price
	f := fp.f
	switch {
	case f.Budget > 0 && fp.committed+delta > f.Budget+eps:
		return false
	case fp.cfg.Account.MaxSpendPerHour > 0 && fp.account+delta > fp.cfg.Account.MaxSpendPerHour+eps:
		return false
	}
	return fp.monthFits(delta)
}

// commitStart books what starting m commits.
func (fp *fleetPlan) commitStart(m *Managed) {
	if m.Cold {
		fp.committed += m.runPrice - m.Price
		fp.account += m.runPrice - m.Price
	}
}

// intoCold reports whether a scale-down of the fleet stops its next victim into the cold pool
// (room left in it) rather than destroying it, given how many are stopped already.
func intoCold(f *policy.Fleet, stopped int) bool { return f.Cold > 0 && stopped < f.Cold }

// notCold is spares without the cold pool.
func notCold(spares []*Managed) []*Managed {
	var out []*Managed
	for _, m := range spares {
		if !m.Cold {
			out = append(out, m)
		}
	}
	return out
}

// intoColdPool books a stop into the cold pool: once stopped, m commits its storage only.
func (fp *fleetPlan) intoColdPool(m *Managed) {
	storage := storagePrice(m.Instance, fp.f.Instance.DiskGB)
	fp.committed -= m.Price - storage
	fp.account -= m.Price - storage
}
