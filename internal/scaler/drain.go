package scaler

import (
	"fmt"
	"time"
)

// A fleet with a drain takes an instance out of service before removing it: the drain is
// journalled, the instance leaves /sd and its fleet's count, and the fleet's webhook, if any,
// is told; the removal follows once the webhook answered 2xx (or the drain timeout passed) and
// the drain delay passed.

// drainingInstance removes a draining instance once its drain is done, calls the webhook again
// while it has not answered, or waits.
type drainingInstance struct{}

func (drainingInstance) applies(_ *fleetPlan, m *Managed) bool { return m.Phase == PhaseDraining }

func (drainingInstance) plan(fp *fleetPlan, m *Managed) {
	if !fp.planDrained(m) {
		fp.limited = true
	}
}

// retire takes an instance out of the fleet for reason: at once (kind: destroy or stop), or,
// when the fleet drains, by starting its drain; the removal follows once the drain is done.
func (fp *fleetPlan) retire(m *Managed, kind Kind, reason, detail string) bool {
	d := fp.f.Drain
	if d == nil {
		return fp.remove(m, kind, reason, detail)
	}
	return fp.emit(Action{Kind: KindDrain, Reason: reason, Detail: detail, InstanceID: m.Instance.ID,
		MachineID: m.Instance.MachineID, Price: m.Price, Then: kind, Drain: d,
		Notice: fp.notice(m, kind, reason, fp.now)})
}

// notice describes a draining instance for the fleet's webhook.
func (fp *fleetPlan) notice(m *Managed, then Kind, reason string, since time.Time) *DrainNotice {
	in := m.Instance
	n := &DrainNotice{Event: "drain", Owner: fp.cfg.Owner, Fleet: fp.f.Name, InstanceID: in.ID,
		MachineID: in.MachineID, HostID: in.HostID, Label: in.Label.Or(""), GPUName: in.GPUName,
		NumGPUs: in.NumGPUs, PublicIP: in.PublicIPAddr, Reason: reason, Then: then, Since: since.UTC(),
		Deadline: since.Add(max(fp.f.Drain.Timeout, fp.f.Drain.Delay)).UTC()}
	for key, b := range in.Ports {
		if len(b) == 0 {
			continue
		}
		if addr := HostAddr(in.PublicIPAddr, b[0].HostPort, fp.cfg.AllowPrivateAddresses); addr != "" {
			if n.Ports == nil {
				n.Ports = map[string]string{}
			}
			n.Ports[key] = addr
		}
	}
	return n
}

// planDrained handles an instance being drained: once its drain is done it is removed as the
// drain intended; while the webhook has not answered 2xx and the drain timeout has not passed,
// the webhook is called again; otherwise it waits. It reports false when an action was due but
// max_actions_per_cycle was reached.
func (fp *fleetPlan) planDrained(m *Managed) bool {
	id, d := m.Instance.ID, m.Drain
	dr := fp.f.Drain
	elapsed := fp.now.Sub(d.Since)
	hook := dr != nil && dr.Webhook.Reveal() != ""
	acked := !d.Acked.IsZero()
	timedOut := dr == nil || elapsed >= dr.Timeout
	delayed := dr == nil || elapsed >= dr.Delay
	switch {
	case (!hook || acked || timedOut) && delayed:
		return fp.drained(m, fp.drainDone(hook, acked))
	case hook && !acked:
		detail := fmt.Sprintf("instance %d: webhook call %d", id, d.Calls+1)
		if d.LastError != "" {
			detail += " (last: " + d.LastError + ")"
		}
		ok := fp.emit(Action{Kind: KindDrain, Reason: d.Reason, Detail: detail, InstanceID: id,
			MachineID: m.Instance.MachineID, Price: m.Price, Then: d.Then, Drain: dr,
			Notice: fp.notice(m, d.Then, d.Reason, d.Since)})
		fp.decide(DecisionWait, ReasonDraining, fmt.Sprintf("instance %d: waiting for the webhook's 2xx until %s",
			id, d.Since.Add(dr.Timeout).UTC().Format(time.RFC3339)))
		return ok
	default:
		fp.decide(DecisionWait, ReasonDraining, fmt.Sprintf("instance %d: drain delay until %s",
			id, d.Since.Add(dr.Delay).UTC().Format(time.RFC3339)))
		return true
	}
}

// drainDone says how a finished drain finished.
func (fp *fleetPlan) drainDone(hook, acked bool) string {
	dr := fp.f.Drain
	switch {
	case dr == nil:
		return "drain no longer configured"
	case hook && acked:
		if dr.Delay > 0 {
			return "webhook answered 2xx and drain delay passed"
		}
		return "webhook answered 2xx"
	case hook:
		return fmt.Sprintf("webhook did not answer 2xx within %s", dr.Timeout)
	}
	return "drain delay passed"
}

// drained removes an instance whose drain is done, as the drain intended.
func (fp *fleetPlan) drained(m *Managed, how string) bool {
	d := m.Drain
	detail := fmt.Sprintf("instance %d drained: %s", m.Instance.ID, how)
	then := d.Then
	if then != KindStop {
		then = KindDestroy
	}
	if !fp.remove(m, then, d.Reason, detail) {
		return false
	}
	decision := DecisionReplace
	switch d.Reason {
	case ReasonAboveTarget:
		decision = DecisionScaleDown
	case ReasonOrphan:
		decision = DecisionCleanup
	}
	fp.decide(decision, d.Reason, detail)
	return true
}
