package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// cycleState is what the loop keeps between cycles for the HTTP surface.
type cycleState struct {
	ready     atomic.Bool
	simulated bool
	dryRun    bool
	history   *priceHistory

	mu          sync.Mutex
	lastPoll    time.Time
	lastSuccess time.Time
	lastErr     string
	lastReport  *scaler.CycleReport // last successful cycle, without its offers (see cycle)
	lastMarkets map[string]marketSummary
	lastPlan    []scaler.Decision // last cycle's decisions, failed ones included
	lastActions []scaler.ActionOutcome
}

func newCycleState(simulated, dryRun bool) *cycleState {
	return &cycleState{simulated: simulated, dryRun: dryRun, history: newPriceHistory(6*time.Hour, 720)}
}

// cycle runs one round: observe → plan → execute while this replica leads, observe → plan
// (for the metrics and the status page, never executed) while it follows.
func (d *daemon) cycle(ctx context.Context) {
	cfg := d.cfg.current()
	start := d.clk.Now()
	var (
		rep scaler.CycleReport
		err error
	)
	// With no fleets vastwatch only watches: it never calls a mutating endpoint, whatever the
	// key allows (spec.md §8), so not even orphans are destroyed.
	if act := d.lead.acting(); act != nil && len(cfg.Fleets) > 0 {
		// Losing the lease cancels the cycle at once: no new action starts, and a create in
		// flight is journalled as unknown.
		cctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(act, cancel)
		rep, err = d.scaler.Cycle(cctx, cfg)
		stop()
		cancel()
	} else {
		rep, err = d.observeOnly(ctx, cfg, start)
	}
	if err == nil {
		d.charges.refresh(ctx, start)
	}
	d.publish(cfg, start, rep, err)
}

// observeOnly is a follower's cycle: the same observation and plan, so its metrics match the
// leader's, but nothing is executed or counted as a decision.
func (d *daemon) observeOnly(ctx context.Context, cfg *policy.Config, now time.Time) (scaler.CycleReport, error) {
	rep := scaler.CycleReport{At: now}
	obs, err := scaler.Observe(ctx, d.api, cfg, now)
	if err != nil {
		return rep, fmt.Errorf("observe: %w", err)
	}
	st, jerr := scaler.ReadState(d.o.stateDir, d.o.pendingGrace)
	if jerr != nil {
		// Not shared with the leader, or not written yet: the plan shown is then made from the
		// instance list alone. A follower never acts on it.
		d.logger.Debug("follower: no journal to plan with", "err", jerr)
	}
	rep.Observation = obs
	// Probes only read; a follower's /sd must be as right as the leader's.
	d.followerProbes = scaler.ProbeAll(ctx, scaler.NetProber{}, now, cfg, obs, st.Creates, d.followerProbes)
	st.Probes = d.followerProbes
	rep.Plan = scaler.Plan(now, obs, cfg, st)
	return rep, nil
}

// publish hands a cycle's outcome to the metrics and the status page.
func (d *daemon) publish(cfg *policy.Config, start time.Time, rep scaler.CycleReport, err error) {
	st := d.state
	st.mu.Lock()
	st.lastPoll = start
	st.lastPlan = rep.Plan.Decisions
	st.lastActions = rep.Outcomes
	if err != nil {
		st.lastErr = err.Error()
		st.mu.Unlock()
		d.exporter.SetPoll(false, start)
		d.logger.Warn("poll failed; keeping the previous snapshot, no action this cycle", "err", err)
		return
	}
	st.mu.Unlock()
	if rep.SpendErr != nil {
		d.logger.Warn("month-to-date spend not saved; fleets under a monthly budget stop creating", "err", rep.SpendErr)
	}

	snap := buildSnapshot(cfg, &rep, avoidedByFleet(d.scaler.AvoidedMachines()))
	snap.Account.MonthCharges = d.charges.current()
	// The status page needs only each market's count and prices: keeping the offers themselves
	// until the next cycle would double the daemon's peak memory on a large market.
	markets := make(map[string]marketSummary, len(cfg.Markets))
	for _, m := range cfg.Markets {
		offers := rep.Observation.Digests(m.Name)
		ms := marketSummary{offers: len(offers)}
		ms.best, ms.median, ms.ok = bestAndMedian(offers)
		markets[m.Name] = ms
	}
	kept := rep
	kept.Observation.Offers, kept.Observation.Watched = nil, nil
	st.mu.Lock()
	st.lastErr = ""
	st.lastSuccess = start
	st.lastReport = &kept
	st.lastMarkets = markets
	st.mu.Unlock()

	if err := d.exporter.Publish(snap); err != nil {
		d.logger.Error("publish metrics snapshot", "err", err)
	}
	for fleet, dollars := range rep.Cost {
		d.exporter.AddFleetCost(fleet, dollars)
	}
	d.exporter.SetPoll(true, start)
	keep := map[string]bool{}
	for name, ms := range markets {
		keep[name] = true
		if ms.ok {
			st.history.add(name, pricePoint{At: start, Best: ms.best, Median: ms.median})
		}
	}
	st.history.retain(keep)
	st.ready.Store(true)
	d.logger.Debug("cycle done", "took", d.clk.Now().Sub(start), "actions", len(rep.Outcomes),
		"instances", len(rep.Observation.Instances), "credit", rep.Observation.User.Credit)
}

// marketSummary is what the status page shows of a market's last search.
type marketSummary struct {
	offers       int
	best, median float64
	ok           bool
}

// bestAndMedian are the lowest and the nearest-rank median dph_total of a market's offers.
func bestAndMedian(offers []scaler.OfferDigest) (best, median float64, ok bool) {
	if len(offers) == 0 {
		return 0, 0, false
	}
	p := make([]float64, len(offers))
	for i := range offers {
		p[i] = offers[i].DphTotal
	}
	sort.Float64s(p)
	return p[0], p[(len(p)+1)/2-1], true
}

// buildSnapshot turns a cycle's observation and plan into the metrics snapshot.
// avoided counts, per fleet, the machines avoided because an instance of that fleet failed or
// was outbid there (every fleet skips every avoided machine; the count says whose failures).
func buildSnapshot(cfg *policy.Config, rep *scaler.CycleReport, avoided map[string]int) *metrics.Snapshot {
	obs := &rep.Observation
	s := &metrics.Snapshot{At: rep.At, Orphans: rep.Plan.Orphans}
	for _, m := range cfg.Markets {
		s.Markets = append(s.Markets, metrics.MarketSnapshotOf(m, obs.Digests(m.Name), metrics.DefaultMaxGroups))
	}
	burn := 0.0
	probed := map[string]bool{}
	for _, f := range cfg.Fleets {
		probed[f.Name] = f.Readiness != nil
	}
	managed := map[int64]*scaler.Managed{}
	for i := range rep.Plan.Managed {
		managed[rep.Plan.Managed[i].Instance.ID] = &rep.Plan.Managed[i]
	}
	for i := range obs.Instances {
		in := &obs.Instances[i]
		burn += scaler.Burn(in)
		row := metrics.InstanceRow{ID: in.ID, MachineID: in.MachineID, GPUName: in.GPUName, NumGPUs: in.NumGPUs,
			Price: in.DphTotal}
		if in.StartDate > 0 {
			row.StartTime = time.Unix(0, int64(in.StartDate*1e9))
		}
		if m, ok := managed[in.ID]; ok {
			row.Fleet, row.State, row.Price = m.Fleet, string(m.Phase), m.Price
			row.Probed, row.Ready = probed[m.Fleet], m.Ready
		} else {
			p, _ := scaler.Classify(in, rep.At, time.Time{}, 0, false)
			row.State = string(p)
		}
		s.Instances = append(s.Instances, row)
	}
	s.Account = &metrics.AccountSnapshot{Credit: obs.User.Credit, Burn: burn,
		MonthSpend: rep.Plan.AccountMonthSpend, MonthForecast: rep.Plan.AccountMonthForecast}
	for _, f := range rep.Plan.Fleets {
		s.Fleets = append(s.Fleets, metrics.FleetRow{
			Name: f.Name, Target: f.Target, Min: f.Min, Max: f.Max, Spend: f.SpendBefore, Budget: f.Budget,
			Blocked: f.Blocked, AvoidedMachines: avoided[f.Name],
			MonthSpend: f.MonthSpend, MonthForecast: f.MonthForecast,
		})
	}
	return s
}

// statusView builds the status page's view from the last cycle; it is cheap and lock-bounded.
func (d *daemon) statusView() *statusView {
	st := d.state
	cfg := d.cfg.current()
	now := d.clk.Now()
	v := &statusView{
		Version: version, Now: now, DryRun: st.dryRun || cfg.DryRun, Leader: d.lead.acting() != nil,
		LeaderElection: d.lead.enabled(), LeaderName: d.lead.leaderName(), Simulated: st.simulated,
		Ready: st.ready.Load(), ConfigSource: cfgSource(cfg), ReloadErr: d.cfg.lastError(),
	}
	v.ReloadOK = v.ReloadErr == ""
	st.mu.Lock()
	v.LastPoll, v.LastSuccess, v.LastPollErr = st.lastPoll, st.lastSuccess, st.lastErr
	rep := st.lastReport
	markets := st.lastMarkets
	for _, dec := range st.lastPlan {
		v.Decisions = append(v.Decisions, statusDecision{Fleet: dec.Fleet, Decision: dec.Decision, Reason: dec.Reason, Detail: dec.Detail})
	}
	for _, a := range st.lastActions {
		sa := statusAction{Text: a.Action.String(), Result: a.Result, Error: a.Why}
		if a.Err != nil && sa.Error == "" {
			sa.Error = a.Err.Error()
		}
		v.Actions = append(v.Actions, sa)
	}
	st.mu.Unlock()
	if rep == nil {
		for _, m := range cfg.Markets {
			v.Markets = append(v.Markets, statusMarket{Name: m.Name, Type: string(m.Type)})
		}
		return v
	}
	obs := &rep.Observation
	burn := 0.0
	for i := range obs.Instances {
		burn += scaler.Burn(&obs.Instances[i])
	}
	acc := &statusAccount{Credit: obs.User.Credit, Burn: burn, Floor: cfg.Account.CreditFloor,
		Cap: cfg.Account.MaxSpendPerHour, Committed: rep.Plan.CommittedBefore}
	if burn > 0 {
		acc.HasRunway = true
		acc.Runway = time.Duration(max(0, obs.User.Credit) / burn * float64(time.Hour))
	}
	v.Account = acc
	for _, m := range cfg.Markets {
		ms := markets[m.Name]
		sm := statusMarket{Name: m.Name, Type: string(m.Type), Offers: ms.offers, Best: ms.best, Median: ms.median, HasPrices: ms.ok}
		sm.Chart = st.history.svg(m.Name, 320, 60)
		v.Markets = append(v.Markets, sm)
	}
	for _, f := range rep.Plan.Fleets {
		sf := statusFleet{Name: f.Name, Target: f.Target, Min: f.Min, Max: f.Max, Spend: f.SpendBefore,
			Budget: f.Budget, Blocked: f.Blocked, Counts: phaseCounts(f),
			Month: f.MonthSpend, Forecast: f.MonthForecast, MonthBudget: f.MonthBudget}
		for _, pf := range cfg.Fleets {
			if pf.Name == f.Name && pf.Market != nil {
				sf.Market = pf.Market.Name
			}
		}
		v.Fleets = append(v.Fleets, sf)
	}
	managed := map[int64]*scaler.Managed{}
	for i := range rep.Plan.Managed {
		managed[rep.Plan.Managed[i].Instance.ID] = &rep.Plan.Managed[i]
	}
	for i := range obs.Instances {
		in := &obs.Instances[i]
		si := statusInstance{ID: in.ID, MachineID: in.MachineID, GPU: in.GPUName, NumGPUs: in.NumGPUs,
			Price: in.DphTotal, SSH: sshEndpoint(in)}
		if in.StartDate > 0 {
			si.Age = now.Sub(time.Unix(0, int64(in.StartDate*1e9)))
		}
		if m, ok := managed[in.ID]; ok {
			si.Fleet, si.State, si.Price = m.Fleet, string(m.Phase), m.Price
			si.Service, si.ServiceOK = serviceState(m, now)
			v.HasService = v.HasService || si.Service != ""
			if m.Orphan {
				v.Orphans++
			}
		} else {
			p, _ := scaler.Classify(in, now, time.Time{}, 0, false)
			si.State = string(p)
		}
		v.Instances = append(v.Instances, si)
	}
	for _, a := range d.scaler.AvoidedMachines() {
		reason := "an instance failed or was outbid there"
		if a.Failures > 1 {
			reason = fmt.Sprintf("%d failures; each doubles the avoidance", a.Failures)
		}
		v.Avoided = append(v.Avoided, statusAvoided{MachineID: a.Machine, Fleet: a.Fleet, Until: a.Until, Reason: reason})
	}
	sort.Slice(v.Avoided, func(i, j int) bool { return v.Avoided[i].MachineID < v.Avoided[j].MachineID })
	return v
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
// the proxy (vast-api.md §4).
func sshEndpoint(in *vastapi.Instance) string {
	if a := scaler.PublicAddr(in, 22); a != "" {
		return a
	}
	if in.SSHHost != "" && in.SSHPort > 0 {
		return fmt.Sprintf("%s:%d", in.SSHHost, in.SSHPort)
	}
	return ""
}

// avoidedByFleet counts avoided machines by the fleet whose instance failed there.
func avoidedByFleet(list []scaler.AvoidedMachine) map[string]int {
	out := map[string]int{}
	for _, a := range list {
		out[a.Fleet]++
	}
	return out
}
