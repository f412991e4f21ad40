package scaler

import (
	"github.com/vastwatch/vastwatch/internal/policy"
)

// fleetPlan is one fleet while it is planned: its running tally and its sets. The rules of
// planFleet share it, so that none of them threads the others' results through arguments.
type fleetPlan struct {
	*planner
	f      *policy.Fleet
	target int // the fleet's target at now (its schedule applied)
	status FleetStatus

	committed float64
	count     int // managed non-destroyed + pending creates: what max bounds
	actions   int
	limit     int
	// The fleet's instances (pending creates and replacements included) per machine, host and
	// country, for the spread limits; kept current as actions are planned.
	perMachine, perHost map[int64]int
	perCountry          map[string]int

	// managed are the fleet's listed instances, by id; pend its creates not listed yet.
	managed []*Managed
	pend    []*CreateRecord
	// inflight holds the make-before-break replacements in flight: old instance → its listed
	// replacement, pending or running (nil: a create not listed yet).
	inflight map[int64]*Managed
	// activeBefore counts toward the target during the repairs: an outbid instance is rebid
	// only while the fleet needs it.
	activeBefore int
	// What the repairs leave to the size rules: booting (pending, or rebid and on its way
	// back), running, and spares (stopped). The size rules sort them in place.
	booting, running, spares []*Managed
	// active counts booting, running and pending creates, kept current as instances are
	// started, created and retired.
	active int
	// handled holds what the size rules started or retired: a spare no longer. Nil until one
	// is (see handle).
	handled map[*Managed]bool
	// limited: an action was due but max_actions_per_cycle was reached.
	limited bool
	// blocked holds the reasons the target is out of reach.
	blocked []string
	// avoid is the fleet's view of the avoided machines (avoid.go).
	avoid *avoidance
}

// newFleetPlan tallies the fleet's instances and pending creates before any rule runs.
func (p *planner) newFleetPlan(f *policy.Fleet) *fleetPlan {
	fp := &fleetPlan{planner: p, f: f, limit: f.MaxActionsPerCycle,
		perMachine: map[int64]int{}, perHost: map[int64]int{}, perCountry: map[string]int{},
		managed: p.byFleet[f.Name], pend: p.pending[f.Name]}
	if fp.limit <= 0 {
		fp.limit = noLimit
	}
	fp.status = FleetStatus{Name: f.Name, Min: f.Min, Max: f.Max, Budget: f.Budget,
		Counts: make(map[Phase]int, len(Phases))}
	for _, m := range fp.managed {
		fp.status.Counts[m.Phase]++
		if m.Ready {
			fp.status.Ready++
		}
		if m.Phase == PhaseDraining {
			fp.status.Draining++
		}
		fp.committed += m.Price
		fp.status.Burn += Burn(m.Instance)
		fp.occupy(m.Instance.MachineID, m.Instance.HostID, m.country, 1)
	}
	for _, c := range fp.pend {
		fp.committed += c.Price
		fp.occupy(c.MachineID, c.HostID, c.Country, 1)
	}
	fp.count = len(fp.managed) + len(fp.pend)
	fp.status.PendingCreates = len(fp.pend)
	fp.status.SpendBefore = fp.committed
	fp.status.OverBudget = overBudget(fp.committed, f.Budget)
	fp.inflight = inFlight(fp.managed, fp.pend)
	fp.avoid = fp.newAvoidance()
	fp.status.Desired = fp.desired(fp.counted())
	fp.target = fp.status.Desired.Final
	fp.status.Target = fp.target
	return fp
}

// counted is how many instances count toward the target before any rule runs: pending creates,
// and booting or running instances that are not the old half of a replacement.
func (fp *fleetPlan) counted() int {
	n := len(fp.pend)
	for _, m := range fp.managed {
		if _, old := fp.inflight[m.Instance.ID]; !old && (m.Phase == PhasePending || m.Phase == PhaseRunning) {
			n++
		}
	}
	return n
}

// finish is the fleet's status once its plan is carried out.
func (fp *fleetPlan) finish() FleetStatus {
	fp.status.SpendAfter = fp.committed
	fp.status.MonthBudget = fp.f.Monthly
	fp.status.MonthSpend = fp.monthFleets[fp.f.Name]
	fp.status.MonthForecast = fp.status.MonthSpend + fp.committed*fp.hoursLeft
	fp.status.Blocked = fp.blocked
	fp.status.Eligible, fp.status.Avoided, fp.status.Lapsed = fp.avoid.eligible, len(fp.avoid.kept), fp.avoid.lapsed
	fp.status.Burst = fp.avoid.burst
	return fp.status
}

// emit plans a for the fleet; it reports false, planning nothing, once max_actions_per_cycle
// is reached.
func (fp *fleetPlan) emit(a Action) bool {
	if fp.actions >= fp.limit {
		return false
	}
	fp.actions++
	a.Fleet = fp.f.Name
	fp.res.Actions = append(fp.res.Actions, a)
	return true
}

// decide records a decision of the fleet.
func (fp *fleetPlan) decide(decision, reason, detail string) {
	fp.planner.decide(fp.f.Name, decision, reason, detail)
}

// remove plans the destroy or stop of m at once; a destroy frees its price and its place.
func (fp *fleetPlan) remove(m *Managed, kind Kind, reason, detail string) bool {
	if !fp.emit(Action{Kind: kind, Reason: reason, Detail: detail, InstanceID: m.Instance.ID,
		MachineID: m.Instance.MachineID, Price: m.Price}) {
		return false
	}
	if kind == KindDestroy {
		fp.count--
		fp.committed -= m.Price
		fp.account -= m.Price
		fp.occupy(m.Instance.MachineID, m.Instance.HostID, m.country, -1)
	}
	return true
}

// handle marks m as started or retired by the size rules.
func (fp *fleetPlan) handle(m *Managed) {
	if fp.handled == nil {
		fp.handled = map[*Managed]bool{}
	}
	fp.handled[m] = true
}
