package scaler

import "fmt"

// repairRule is one way an instance needs more than being counted toward its fleet's target,
// in the manner of Karpenter's disruption methods: one small type per rule, in the file of
// what it repairs. The first rule that applies to an instance plans it.
type repairRule interface {
	applies(fp *fleetPlan, m *Managed) bool
	plan(fp *fleetPlan, m *Managed)
}

// repairRules in the order they are tried. A failed create's leftover goes first, whatever its
// phase says.
var repairRules = []repairRule{failedCreate{}, failedInstance{}, outbidInstance{}, replacedInstance{}, drainingInstance{}}

// fate is what became of an instance a repair planned.
type fate int

const (
	fateKept    fate = iota // kept as it is this cycle
	fateRebid               // rebid: on its way back
	fateGone                // destroyed (or its drain started)
	fateLimited             // an action was due but max_actions_per_cycle was reached
)

// repair goes through the fleet's instances in order, repairs first (docs/design.md §8), and
// sorts what no repair took into booting, running and spares; then counts what is active
// toward the target.
func (fp *fleetPlan) repair() {
	fp.activeBefore = fp.counted()
	for _, m := range fp.managed {
		if r := repairOf(fp, m); r != nil {
			r.plan(fp, m)
			continue
		}
		switch m.Phase {
		case PhasePending:
			fp.booting = append(fp.booting, m)
		case PhaseRunning:
			fp.running = append(fp.running, m)
		case PhaseStopped:
			fp.spares = append(fp.spares, m)
		}
	}
	fp.active = len(fp.booting) + len(fp.running) + len(fp.pend)
}

// repairOf is the first repair rule that applies to m, or nil.
func repairOf(fp *fleetPlan, m *Managed) repairRule {
	for _, r := range repairRules {
		if r.applies(fp, m) {
			return r
		}
	}
	return nil
}

// failedCreate cleans up an instance that a create reply reporting failure still made
// (new_contract), left stopped: it only bills storage.
type failedCreate struct{}

func (failedCreate) applies(_ *fleetPlan, m *Managed) bool {
	return m.failedReply && (m.Phase == PhaseStopped || m.Phase == PhaseOutbid)
}

func (failedCreate) plan(fp *fleetPlan, m *Managed) {
	if !fp.remove(m, KindDestroy, ReasonFailedCreate, "failed create reply with new_contract") {
		fp.limited = true
		return
	}
	fp.decide(DecisionCleanup, ReasonFailedCreate, fmt.Sprintf("instance %d", m.Instance.ID))
}

// failedInstance destroys a failed instance (exited, offline, past its boot timeout, never
// ready); the size rules replace it.
type failedInstance struct{}

func (failedInstance) applies(_ *fleetPlan, m *Managed) bool { return m.Phase == PhaseFailed }

func (failedInstance) plan(fp *fleetPlan, m *Managed) {
	reason, detail := ReasonFailed, fmt.Sprintf("instance %d: %s", m.Instance.ID, m.Why)
	switch n := fp.avoid.burst; {
	case m.Why == WhyStartFailed:
		reason = ReasonStartFailed // its GPUs are taken: the machine is not to blame
	case n > 0:
		reason = ReasonFailureBurst
		detail += fmt.Sprintf("; failures on %d machines within %s: likely a platform or image problem, machines not avoided", n, burstWindowText)
	}
	if !fp.remove(m, KindDestroy, reason, m.Why) {
		fp.limited = true
		return
	}
	fp.decide(DecisionReplace, reason, detail)
}
