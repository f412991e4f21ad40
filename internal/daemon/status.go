package daemon

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/report"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// statusView builds the status page's view from the last published cycle. It takes no lock a
// cycle holds, so the page answers at once while a cycle runs.
func (d *Daemon) statusView() *statusView {
	cfg := d.cfg.current()
	now := d.clk.Now()
	last := d.last.load()
	v := &statusView{
		Version: d.o.Build.Version, Now: now, DryRun: d.last.dryRun || cfg.DryRun, Leader: d.lead.acting() != nil,
		LeaderElection: d.lead.enabled(), LeaderName: d.lead.leaderName(), Simulated: d.last.simulated,
		Ready: d.last.ready.Load(), ConfigSource: cfgSource(cfg), ReloadErrs: lines(d.cfg.lastError()),
		Warnings: cfg.Warnings, NoDiscovery: !hasDiscovery(cfg),
		LastPoll: last.poll, LastSuccess: last.success, LastPollErr: last.err,
	}
	v.ReloadOK = len(v.ReloadErrs) == 0
	for _, dec := range last.decisions {
		v.Decisions = append(v.Decisions, statusDecision{Fleet: dec.Fleet, Decision: dec.Decision, Reason: dec.Reason, Detail: dec.Detail})
	}
	for _, a := range last.outcomes {
		sa := statusAction{Text: a.Action.String(), Result: a.Result, Error: a.Why}
		if a.Err != nil && sa.Error == "" {
			sa.Error = a.Err.Error()
		}
		v.Actions = append(v.Actions, sa)
	}
	if last.view == nil {
		for _, m := range cfg.Markets {
			v.Markets = append(v.Markets, statusMarket{Name: m.Name, Type: string(m.Type)})
		}
		return v
	}
	d.describe(v, cfg, last)
	return v
}

// describe fills the parts of the page that come from a successful cycle's view.
func (d *Daemon) describe(v *statusView, cfg *policy.Config, last *published) {
	view := last.view
	acc := &statusAccount{Credit: view.Account.Credit, Burn: view.Account.Burn, Floor: cfg.Account.CreditFloor,
		Cap: cfg.Account.MaxSpendPerHour, Committed: view.Account.Committed}
	if acc.Burn > 0 {
		acc.HasRunway = true
		acc.Runway = time.Duration(max(0, acc.Credit) / acc.Burn * float64(time.Hour))
	}
	v.Account, v.Overs = acc, view.Explained
	for _, m := range cfg.Markets {
		ms := last.markets[m.Name]
		v.Markets = append(v.Markets, statusMarket{Name: m.Name, Type: string(m.Type), Offers: ms.offers,
			Best: ms.best, Median: ms.median, HasPrices: ms.ok, Chart: d.prices.svg(m.Name, 320, 60),
			SearchErr: ms.failed, EmptyPolls: emptyPolls(ms.empty)})
	}
	for _, f := range view.Fleets {
		sf := statusFleet{Name: f.Name, Target: f.Target, Min: f.Min, Max: f.Max, Spend: f.SpendBefore,
			Budget: f.Budget, Blocked: f.Blocked, Counts: phaseCounts(f),
			Month: f.MonthSpend, Forecast: f.MonthForecast, MonthBudget: f.MonthBudget, Over: f.OverBudget,
			Avoided: f.AvoidedText(), Burst: f.BurstText()}
		if pf := cfg.Fleet(f.Name); pf != nil && pf.Market != nil {
			sf.Market = pf.Market.Name
		}
		if f.Desired.Autoscaled {
			sf.Desired, sf.Chart = report.DesiredText(f.Desired), d.sizes.svg(f.Name, 240, 48)
		}
		v.Fleets = append(v.Fleets, sf)
	}
	for _, iv := range view.Instances {
		v.Instances = append(v.Instances, statusInstanceOf(iv, v, cfg.AllowPrivateAddresses))
	}
	for _, a := range view.Avoided {
		reason := "an instance failed or was outbid there"
		if a.Failures > 1 {
			reason = fmt.Sprintf("%d failures; each doubles the avoidance", a.Failures)
		}
		v.Avoided = append(v.Avoided, statusAvoided{MachineID: a.Machine, Fleet: a.Fleet, Until: a.Until, Reason: reason})
	}
	sort.Slice(v.Avoided, func(i, j int) bool { return v.Avoided[i].MachineID < v.Avoided[j].MachineID })
}

// statusInstanceOf is one row of the instance table; it notes on v whether a readiness or
// drain column and an orphan line are needed.
func statusInstanceOf(iv scaler.InstanceView, v *statusView, allowPrivate bool) statusInstance {
	in := iv.Instance
	si := statusInstance{ID: in.ID, MachineID: in.MachineID, GPU: in.GPUName, NumGPUs: in.NumGPUs,
		Price: iv.Price, SSH: sshEndpoint(in, allowPrivate), Fleet: iv.Fleet, State: iv.State, Label: in.Label.Or("")}
	if !iv.Start.IsZero() {
		si.Age = v.Now.Sub(iv.Start)
	}
	if m := iv.Managed; m != nil {
		si.Service, si.ServiceOK = serviceState(m, v.Now)
		v.HasService = v.HasService || si.Service != ""
		if m.Orphan {
			v.Orphans++
		}
	}
	return si
}

// serviceState says in words where an instance stands with its fleet's readiness probe or
// drain; ok marks a ready instance. "" when neither applies.
func serviceState(m *scaler.Managed, now time.Time) (string, bool) {
	if d := m.Drain; d != nil {
		s := fmt.Sprintf("draining for %s, then %s (%s)", now.Sub(d.Since).Round(time.Second), d.Then, d.Reason)
		switch {
		case !d.Acked.IsZero():
			s += "; webhook answered 2xx"
		case d.LastError != "":
			s += fmt.Sprintf("; webhook: %d calls, last: %s", d.Calls, d.LastError)
		}
		return s, false
	}
	pr := m.Probe
	if pr == nil {
		if m.Phase == scaler.PhaseFailed && m.Why == scaler.WhyReadinessTimeout {
			return "never passed its readiness probe", false
		}
		return "", false
	}
	ago := now.Sub(pr.At).Round(time.Second)
	switch {
	case m.Ready:
		return fmt.Sprintf("ready: probe passed %s ago (%s)", ago, pr.Target), true
	case pr.OK:
		return fmt.Sprintf("probe passed %s ago", ago), false
	case pr.Passed.IsZero():
		return fmt.Sprintf("not ready yet: %s (%s ago)", pr.Err, ago), false
	default:
		return fmt.Sprintf("not ready: %s (%s ago); out of /sd until it passes", pr.Err, ago), false
	}
}

func phaseCounts(f scaler.FleetStatus) string {
	var parts []string
	for _, p := range []scaler.Phase{scaler.PhaseRunning, scaler.PhasePending, scaler.PhaseStopped, scaler.PhaseOutbid, scaler.PhaseFailed, scaler.PhaseDraining} {
		if n := f.Counts[p]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, p))
		}
	}
	if f.Ready != f.Counts[scaler.PhaseRunning] {
		parts = append(parts, fmt.Sprintf("%d ready", f.Ready))
	}
	if f.PendingCreates > 0 {
		parts = append(parts, fmt.Sprintf("%d creating", f.PendingCreates))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// sshEndpoint is direct SSH (public address + mapped 22/tcp) when the instance has one, else
// the proxy (docs/vast-api.md §4).
func sshEndpoint(in *vastapi.Instance, allowPrivate bool) string {
	if a := scaler.PublicAddr(in, 22, allowPrivate); a != "" {
		return a
	}
	if in.SSHHost != "" && in.SSHPort > 0 {
		return fmt.Sprintf("%s:%d", in.SSHHost, in.SSHPort)
	}
	return ""
}

// emptyPolls is how many polls in a row a market matched nothing, once that is worth saying.
func emptyPolls(n int) int {
	if n < emptyPollsToWarn {
		return 0
	}
	return n
}

// lines splits a multi-line message (a reload's problems) into its lines; none for "".
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// hasDiscovery reports whether some fleet lists discovery ports for /sd.
func hasDiscovery(cfg *policy.Config) bool {
	for _, f := range cfg.Fleets {
		if len(f.DiscoveryPorts) > 0 {
			return true
		}
	}
	return false
}
