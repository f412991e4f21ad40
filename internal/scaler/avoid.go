package scaler

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// AvoidedMachine is a machine being avoided after failures of instances on it.
type AvoidedMachine struct {
	Machine  int64
	Until    time.Time
	Failures int    // remembered failures (the avoidance doubles with each); 0 when unknown
	Fleet    string // the fleet whose instance failed there last; "" when unknown
}

// AvoidedMachines returns the machines being avoided now, soonest release first, with their
// remembered failures and the fleet whose instance failed there last (for the status page,
// `vastwatch plan` and vastwatch_avoided_machines{fleet}). It is nil while the journal is
// unusable.
func (s *Scaler) AvoidedMachines() []AvoidedMachine {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return nil
	}
	return activeAvoided(s.o.Clock.Now(), s.journal.Avoided(), s.journal.Failures())
}

// activeAvoided lists the avoidances running at now, soonest release first.
func activeAvoided(now time.Time, avoided map[int64]time.Time, failures map[int64]MachineFailures) []AvoidedMachine {
	var out []AvoidedMachine
	for m, until := range avoided {
		if now.Before(until) {
			out = append(out, AvoidedMachine{Machine: m, Until: until, Failures: failures[m].Count, Fleet: failures[m].Fleet})
		}
	}
	slices.SortFunc(out, func(a, b AvoidedMachine) int {
		return cmp.Or(a.Until.Compare(b.Until), cmp.Compare(a.Machine, b.Machine))
	})
	return out
}

// LapseOrder is the order in which avoidances lapse early for a fleet (docs/design.md §8):
// closest to expiry first, then fewest failures, then the lower machine id. The avoidance that
// would end soonest anyway is the one given up, and it is the one with the least evidence
// against its machine: avoidance grows with each failure.
func LapseOrder(a, b AvoidedMachine) int {
	return cmp.Or(a.Until.Compare(b.Until), cmp.Compare(a.Failures, b.Failures), cmp.Compare(a.Machine, b.Machine))
}

// FailingNow is how a plan counts the machine of a fleet's instance failed now, before the
// executor records the failure: avoided, and last of all to lapse (until FailureMemory from
// now, beyond any avoidance the journal gives), with the failure to come counted.
func FailingNow(now time.Time, machine int64, fleet string, f MachineFailures) AvoidedMachine {
	return AvoidedMachine{Machine: machine, Until: now.Add(FailureMemory), Failures: f.Count + 1, Fleet: fleet}
}

// AvoidBound is how many of a fleet's eligible machines may be avoided for it at once:
// ⌊share × eligible⌋, so fewer than all of them whenever share < 1 (none of one machine, one of
// two or three).
func AvoidBound(share float64, eligible int) int {
	return int(math.Floor(share*float64(eligible) + eps))
}

// Failure bursts (docs/design.md §8): failures of one fleet's instances on at least
// BurstMachines distinct machines within BurstWindow are the pattern of a platform or image
// problem, not of bad machines. They are reported (reason failure_burst,
// vastwatch_fleet_failure_burst_machines) and forgiven: the machines are not avoided for them.
const (
	BurstWindow   = 10 * time.Minute
	BurstMachines = 3
)

// burstWindowText is BurstWindow as the reasons' details say it.
var burstWindowText = fmt.Sprintf("%.0f minutes", BurstWindow.Minutes())

// burstCount counts the distinct machines on which instances of fleet failed within
// BurstWindow up to now, as failures remember them, together with the machines of failing (the
// fleet's instances failed now, not recorded yet). At BurstMachines or more they are a burst.
func burstCount(now time.Time, failures map[int64]MachineFailures, fleet string, failing []int64) int {
	seen := map[int64]bool{}
	for m, f := range failures {
		if inBurstWindow(now, f, fleet) {
			seen[m] = true
		}
	}
	for _, m := range failing {
		if m != 0 {
			seen[m] = true
		}
	}
	return len(seen)
}

// inBurstWindow reports whether a machine's last failure was of fleet within BurstWindow of now.
func inBurstWindow(now time.Time, f MachineFailures, fleet string) bool {
	return f.Fleet == fleet && !f.Last.IsZero() && !f.Last.After(now) && now.Sub(f.Last) <= BurstWindow
}

// avoidance is one fleet's view of the avoided machines in one plan: how many machines of its
// market it could rent on, which of them it avoids (at most avoid.max_share), and how many
// avoidances lapsed early for it.
type avoidance struct {
	eligible int
	kept     map[int64]AvoidedMachine // avoided for the fleet now, by machine
	lapsed   int
	// floor holds the machines whose avoidance lapsed this plan because only avoided machines
	// fitted while the fleet was below target.
	floor map[int64]bool
	// burst counts the machines of the fleet's failure burst; 0 when there is none.
	burst int
}

// newAvoidance bounds the avoided machines for the fleet: the active avoidances on its eligible
// machines, less those of a failure burst of its own (forgiven), and the machines of its
// instances failed now (avoided once the executor destroys them, and meanwhile never rented
// again by this plan's first choices: they lapse last); at most ⌊max_share × eligible⌋ of them,
// the rest lapsing early in LapseOrder.
func (fp *fleetPlan) newAvoidance() *avoidance {
	var failing []int64
	for _, m := range fp.managed {
		if m.Phase == PhaseFailed {
			failing = append(failing, m.Instance.MachineID)
		}
	}
	a := &avoidance{}
	if n := burstCount(fp.now, fp.st.Failures, fp.f.Name, failing); n >= BurstMachines {
		a.burst = n
	}
	el := fp.eligibleMachines(fp.f)
	a.eligible = el.n
	byMachine := map[int64]AvoidedMachine{}
	for _, am := range fp.res.Avoided {
		if !el.has(am.Machine) {
			continue
		}
		if a.burst > 0 && inBurstWindow(fp.now, fp.st.Failures[am.Machine], fp.f.Name) {
			a.lapsed++ // part of the fleet's burst: not the machine's fault
			continue
		}
		byMachine[am.Machine] = am
	}
	for _, m := range failing {
		if a.burst == 0 && el.has(m) {
			byMachine[m] = FailingNow(fp.now, m, fp.f.Name, fp.st.Failures[m])
		}
	}
	cands := slices.SortedFunc(maps.Values(byMachine), LapseOrder)
	if over := len(cands) - AvoidBound(fp.f.Avoid.Share(), a.eligible); over > 0 {
		a.lapsed += over
		cands = cands[over:]
	}
	if len(cands) > 0 {
		a.kept = make(map[int64]AvoidedMachine, len(cands))
		for _, am := range cands {
			a.kept[am.Machine] = am
		}
	}
	return a
}

// lapse ends machine's avoidance for the fleet for the rest of the plan: only avoided machines
// fitted while it was below target.
func (a *avoidance) lapse(machine int64) {
	delete(a.kept, machine)
	a.lapsed++
	if a.floor == nil {
		a.floor = map[int64]bool{}
	}
	a.floor[machine] = true
}

// eligibleSet is the machines of a market that a fleet of one shape could rent on, by the
// market's machine index (offerRow.mi).
type eligibleSet struct {
	n     int
	in    []bool
	index map[int64]int32
}

func (e *eligibleSet) has(machine int64) bool {
	i, ok := e.index[machine]
	return ok && e.in[i]
}

// eligibleKey is what decides which offers of a market a fleet could rent on, whatever its
// sizes and money: fleets of one shape share one eligibleSet per plan.
type eligibleKey struct {
	market                     string
	disk, maxPrice, mult, bmax float64
	minDuration                time.Duration
}

// eligibleMachines are the machines of the fleet's market with an offer the fleet could rent
// on whatever else it holds: enough disk, a listing that lasts min_duration, and a price within
// its caps (docs/design.md §8). Computed once per plan for each market and fleet shape.
func (p *planner) eligibleMachines(f *policy.Fleet) *eligibleSet {
	key := eligibleKey{disk: f.Instance.DiskGB, maxPrice: f.MaxPrice, minDuration: f.MinDuration}
	if f.Market != nil {
		key.market = f.Market.Name
	}
	if f.Bid != nil {
		key.mult, key.bmax = f.Bid.Multiplier, f.Bid.MaxPerHour
	}
	if e, ok := p.eligCache[key]; ok {
		return e
	}
	e := &eligibleSet{}
	if f.Market != nil {
		rows := p.rows(f.Market.Name)
		e.index = p.machineIdx[f.Market.Name]
		e.in = make([]bool, len(e.index))
		minEnd := 0.0
		if f.MinDuration > 0 {
			minEnd = float64(p.now.Add(f.MinDuration).Unix())
		}
		for i := range rows {
			r := &rows[i]
			if e.in[r.mi] || !rowEligible(f, r, minEnd) {
				continue
			}
			e.in[r.mi] = true
			e.n++
		}
	}
	if p.eligCache == nil {
		p.eligCache = map[eligibleKey]*eligibleSet{}
	}
	p.eligCache[key] = e
	return e
}

// rowEligible applies pickOffer's checks that depend only on the fleet's shape: disk, listing
// end (minEnd, epoch seconds; 0: any) and price caps.
func rowEligible(f *policy.Fleet, r *offerRow, minEnd float64) bool {
	if disk := f.Instance.DiskGB; disk > 0 && r.disk > 0 && r.disk+eps < disk {
		return false
	}
	if minEnd > 0 && r.end > 0 && r.end < minEnd {
		return false
	}
	price, _, ok := rowPrice(f, r.base, r.storage, r.minBid)
	return ok && (f.MaxPrice <= 0 || price <= f.MaxPrice+eps)
}

// AvoidedText says how many of the fleet's eligible machines are avoided for it, as the status
// page and `vastwatch plan` show it: "2 of 12 eligible machines avoided (1 lapsed early)".
func (f FleetStatus) AvoidedText() string {
	s := fmt.Sprintf("%d of %d eligible machines avoided", f.Avoided, f.Eligible)
	if f.Lapsed > 0 {
		s += fmt.Sprintf(" (%d lapsed early)", f.Lapsed)
	}
	return s
}

// BurstText says that the fleet is in a failure burst; "" when it is not.
func (f FleetStatus) BurstText() string {
	if f.Burst == 0 {
		return ""
	}
	return fmt.Sprintf("failure burst: %d machines within %s, likely a platform or image problem; machines not avoided", f.Burst, burstWindowText)
}
