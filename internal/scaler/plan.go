package scaler

import (
	"cmp"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// eps absorbs float rounding in money comparisons; it is far below a cent per hour.
const eps = 1e-9

// noLimit stands for "no max_actions_per_cycle".
const noLimit = math.MaxInt

// Plan decides what to do this cycle. It is pure: no I/O, no clock, no logging; the same inputs
// give the same plan. It plans only from obs, which must be a complete observation.
func Plan(now time.Time, obs Observation, cfg *policy.Config, st State) Result {
	p := &planner{
		now:      now,
		obs:      obs,
		cfg:      cfg,
		st:       st,
		fleets:   make(map[string]*policy.Fleet, len(cfg.Fleets)),
		byFleet:  make(map[string][]*Managed),
		pending:  make(map[string][]*CreateRecord),
		takenOff: make(map[int64]bool),
		takenMac: make(map[int64]bool),
	}
	p.res.At = now
	p.hoursLeft = HoursLeftInMonth(now)
	p.monthFleets, p.monthAccount = st.MonthToDate.At(now)
	p.res.Credit = obs.User.Credit
	p.res.Orphans = map[string]int{}
	p.res.Avoided = activeAvoided(now, st.Avoided, st.Failures)
	for _, f := range cfg.Fleets {
		p.fleets[f.Name] = f
	}
	p.classify()
	p.res.CommittedBefore = p.account
	for _, f := range cfg.Fleets {
		p.planFleet(f)
	}
	p.planOrphans()
	p.res.CommittedAfter = p.account
	p.res.AccountMonthSpend = p.monthAccount
	p.res.AccountMonthForecast = p.monthAccount + p.account*p.hoursLeft
	p.order()
	return p.res
}

type planner struct {
	now time.Time
	obs Observation
	cfg *policy.Config
	st  State
	res Result

	fleets  map[string]*policy.Fleet
	byFleet map[string][]*Managed
	pending map[string][]*CreateRecord
	// account is the committed $/h of every managed instance and pending create, kept current
	// as actions are planned.
	account  float64
	takenOff map[int64]bool // offers chosen this cycle
	takenMac map[int64]bool // machines rented on this cycle (their offers overlap)
	rowCache map[string][]offerRow
	seq      int
	// hoursLeft is the time left in now's calendar month (UTC); monthFleets and monthAccount
	// the spend so far this month.
	hoursLeft    float64
	monthFleets  map[string]float64
	monthAccount float64
}

// classify finds our instances, their fleets, phases and prices, and the pending creates.
func (p *planner) classify() {
	byID := make(map[int64]*CreateRecord, len(p.st.Creates))
	byNonce := make(map[string]*CreateRecord, len(p.st.Creates))
	for i := range p.st.Creates {
		c := &p.st.Creates[i]
		if c.InstanceID != 0 {
			byID[c.InstanceID] = c
		}
		byNonce[c.Fleet+"\x00"+c.Nonce] = c
	}
	listed := make(map[*CreateRecord]bool)
	p.res.Managed = make([]Managed, 0, len(p.obs.Instances))
	for i := range p.obs.Instances {
		in := &p.obs.Instances[i]
		owner, fleet, nonce, labelled := ParseLabel(in.Label.Or(""))
		ours := labelled && owner == p.cfg.Owner
		rec := byID[in.ID]
		if rec == nil && ours {
			rec = byNonce[fleet+"\x00"+nonce]
		}
		if !ours && rec == nil {
			continue // not ours: never touched
		}
		if !ours {
			fleet, nonce = rec.Fleet, rec.Nonce
		}
		if rec != nil {
			listed[rec] = true
		}
		m := Managed{Instance: in, Fleet: fleet, Nonce: nonce}
		m.country = Country(in.Geolocation.Or(""))
		if rec != nil {
			m.Replaces = rec.Replaces
			m.failedReply = rec.FailedReply
			if m.country == "" {
				m.country = rec.Country
			}
		}
		f := p.fleets[fleet]
		var boot time.Duration
		disk := in.DiskSpace
		if f == nil {
			m.Orphan = true
		} else {
			boot = f.BootTimeout
			disk = f.Instance.DiskGB
		}
		bootSince := startTime(in)
		if t, ok := p.st.StartedByUs[in.ID]; ok && t.After(bootSince) {
			bootSince = t
		}
		_, stopped := p.st.StoppedByUs[in.ID]
		m.Phase, m.Why = Classify(in, p.now, bootSince, boot, stopped)
		m.Ready = m.Phase == PhaseRunning
		if f != nil && f.Readiness != nil {
			p.gate(&m, f, bootSince)
		}
		if d, ok := p.st.Draining[in.ID]; ok && m.Phase != PhaseFailed {
			m.Phase, m.Ready, m.Drain = PhaseDraining, false, &d
		}
		m.Price = instancePrice(in, disk, rec)
		p.res.Managed = append(p.res.Managed, m)
	}
	slices.SortStableFunc(p.res.Managed, func(a, b Managed) int {
		return cmp.Or(cmp.Compare(a.Fleet, b.Fleet), cmp.Compare(a.Instance.ID, b.Instance.ID))
	})
	for i := range p.res.Managed {
		m := &p.res.Managed[i]
		p.byFleet[m.Fleet] = append(p.byFleet[m.Fleet], m)
		p.account += m.Price
		if m.Orphan {
			p.res.Orphans[m.Fleet]++
		}
	}
	for i := range p.st.Creates {
		c := &p.st.Creates[i]
		if listed[c] || !c.SeenAt.IsZero() {
			continue // listed now, or listed before and gone since
		}
		if p.st.PendingGrace > 0 && p.now.Sub(c.IntentAt) > p.st.PendingGrace {
			continue // never showed up within the grace period
		}
		p.pending[c.Fleet] = append(p.pending[c.Fleet], c)
		p.account += c.Price
	}
}

// gate applies the fleet's readiness probe to a running instance: until it first passes, the
// instance is still booting (pending), and failed once boot_timeout has passed since it began
// booting; after that it is ready while its last probe passes.
func (p *planner) gate(m *Managed, f *policy.Fleet, bootSince time.Time) {
	if pr, ok := p.st.Probes[m.Instance.ID]; ok {
		m.Probe = &pr
	}
	if m.Phase != PhaseRunning {
		m.Ready = false
		return
	}
	if m.Probe != nil && !m.Probe.Passed.IsZero() {
		m.Ready = m.Probe.OK
		return
	}
	m.Ready = false
	if f.BootTimeout > 0 && !bootSince.IsZero() && p.now.Sub(bootSince) > f.BootTimeout {
		m.Phase, m.Why = PhaseFailed, WhyReadinessTimeout
		return
	}
	m.Phase = PhasePending
}

// instancePrice is an instance's committed $/h (spec.md §5): on-demand at dph for the fleet's
// disk; a bid at the bid we recorded plus storage. Without a record it never guesses low.
func instancePrice(in *vastapi.Instance, disk float64, rec *CreateRecord) float64 {
	if disk <= 0 {
		disk = in.DiskSpace
	}
	storage := in.StorageCost * disk / vastapi.HoursPerMonth
	if rec != nil && rec.Bid > 0 {
		return rec.Bid + storage
	}
	if in.IsBid {
		return max(in.DphTotal, in.MinBid+storage, in.DphBase+storage)
	}
	price := in.DphBase + storage
	if in.DphBase == 0 {
		price = in.DphTotal
	}
	if rec != nil && rec.Price > price {
		price = rec.Price
	}
	return price
}

// Burn is what an instance bills now (docs/design.md §5 "burn"): running at dph_total, any
// other non-destroyed state at its storage cost. The daemon sums it for
// vast_account_spend_dollars_per_hour.
func Burn(in *vastapi.Instance) float64 {
	if in.Status() == "running" {
		return in.DphTotal
	}
	if in.StorageTotalCost > 0 {
		return in.StorageTotalCost
	}
	return in.StorageCost * in.DiskSpace / vastapi.HoursPerMonth
}

// fleetPlan is the running tally of one fleet while it is planned.
type fleetPlan struct {
	f         *policy.Fleet
	status    FleetStatus
	committed float64
	count     int // managed non-destroyed + pending creates: what max bounds
	actions   int
	limit     int
	// The fleet's instances (pending creates and replacements included) per machine, host and
	// country, for the spread limits; kept current as actions are planned.
	perMachine, perHost map[int64]int
	perCountry          map[string]int
}

// occupy adds n instances of the fleet at a machine, host and country.
func (fp *fleetPlan) occupy(machine, host int64, country string, n int) {
	if machine != 0 {
		fp.perMachine[machine] += n
	}
	if host != 0 {
		fp.perHost[host] += n
	}
	if country != "" {
		fp.perCountry[country] += n
	}
}

// spreadAllows reports whether one more instance at machine, host and country stays within
// the fleet's spread limits. An unknown country (null geolocation) never matches another, but
// is refused while max_per_country is set: it could be any country.
func (fp *fleetPlan) spreadAllows(machine, host int64, country string) bool {
	sp := fp.f.Spread
	switch {
	case sp.MaxPerMachine > 0 && fp.perMachine[machine]+1 > sp.MaxPerMachine:
		return false
	case sp.MaxPerHost > 0 && host != 0 && fp.perHost[host]+1 > sp.MaxPerHost:
		return false
	case sp.MaxPerCountry > 0 && (country == "" || fp.perCountry[country]+1 > sp.MaxPerCountry):
		return false
	}
	return true
}

func (p *planner) emit(fp *fleetPlan, a Action) bool {
	if fp.actions >= fp.limit {
		return false
	}
	fp.actions++
	a.Fleet = fp.f.Name
	p.res.Actions = append(p.res.Actions, a)
	return true
}

func (p *planner) decide(f string, decision, reason, detail string) {
	p.res.Decisions = append(p.res.Decisions, Decision{Fleet: f, Decision: decision, Reason: reason, Detail: detail})
}

func (p *planner) remove(fp *fleetPlan, m *Managed, kind Kind, reason, detail string) bool {
	if !p.emit(fp, Action{Kind: kind, Reason: reason, Detail: detail, InstanceID: m.Instance.ID,
		MachineID: m.Instance.MachineID, Price: m.Price}) {
		return false
	}
	if kind == KindDestroy {
		fp.count--
		fp.committed -= m.Price
		p.account -= m.Price
		fp.occupy(m.Instance.MachineID, m.Instance.HostID, m.country, -1)
	}
	return true
}

// retire takes an instance out of the fleet for reason: at once (kind: destroy or stop), or,
// when the fleet drains, by starting its drain; the removal follows once the drain is done.
func (p *planner) retire(fp *fleetPlan, m *Managed, kind Kind, reason, detail string) bool {
	d := fp.f.Drain
	if d == nil {
		return p.remove(fp, m, kind, reason, detail)
	}
	return p.emit(fp, Action{Kind: KindDrain, Reason: reason, Detail: detail, InstanceID: m.Instance.ID,
		MachineID: m.Instance.MachineID, Price: m.Price, Then: kind, Drain: d,
		Notice: p.notice(fp, m, kind, reason, p.now)})
}

// notice describes a draining instance for the fleet's webhook.
func (p *planner) notice(fp *fleetPlan, m *Managed, then Kind, reason string, since time.Time) *DrainNotice {
	in := m.Instance
	n := &DrainNotice{Event: "drain", Owner: p.cfg.Owner, Fleet: fp.f.Name, InstanceID: in.ID,
		MachineID: in.MachineID, HostID: in.HostID, Label: in.Label.Or(""), GPUName: in.GPUName,
		NumGPUs: in.NumGPUs, PublicIP: in.PublicIPAddr, Reason: reason, Then: then, Since: since.UTC(),
		Deadline: since.Add(max(fp.f.Drain.Timeout, fp.f.Drain.Delay)).UTC()}
	for key, b := range in.Ports {
		if len(b) > 0 && b[0].HostPort != "" && in.PublicIPAddr != "" {
			if n.Ports == nil {
				n.Ports = map[string]string{}
			}
			n.Ports[key] = net.JoinHostPort(in.PublicIPAddr, b[0].HostPort)
		}
	}
	return n
}

// planDrained handles an instance being drained: once its drain is done it is removed as the
// drain intended; while the webhook has not answered 2xx and the drain timeout has not passed,
// the webhook is called again; otherwise it waits. It reports false when an action was due but
// max_actions_per_cycle was reached.
func (p *planner) planDrained(fp *fleetPlan, m *Managed) bool {
	name, id, d := fp.f.Name, m.Instance.ID, m.Drain
	dr := fp.f.Drain
	elapsed := p.now.Sub(d.Since)
	hook := dr != nil && dr.Webhook.Reveal() != ""
	acked := !d.Acked.IsZero()
	timedOut := dr == nil || elapsed >= dr.Timeout
	delayed := dr == nil || elapsed >= dr.Delay
	switch {
	case (!hook || acked || timedOut) && delayed:
		how := "drain delay passed"
		switch {
		case dr == nil:
			how = "drain no longer configured"
		case hook && acked:
			how = "webhook answered 2xx"
			if dr.Delay > 0 {
				how += " and drain delay passed"
			}
		case hook:
			how = fmt.Sprintf("webhook did not answer 2xx within %s", dr.Timeout)
		}
		detail := fmt.Sprintf("instance %d drained: %s", id, how)
		then := d.Then
		if then != KindStop {
			then = KindDestroy
		}
		if !p.remove(fp, m, then, d.Reason, detail) {
			return false
		}
		decision := DecisionReplace
		if d.Reason == ReasonAboveTarget {
			decision = DecisionScaleDown
		}
		p.decide(name, decision, d.Reason, detail)
		return true
	case hook && !acked:
		detail := fmt.Sprintf("instance %d: webhook call %d", id, d.Calls+1)
		if d.LastError != "" {
			detail += " (last: " + d.LastError + ")"
		}
		ok := p.emit(fp, Action{Kind: KindDrain, Reason: d.Reason, Detail: detail, InstanceID: id,
			MachineID: m.Instance.MachineID, Price: m.Price, Then: d.Then, Drain: dr,
			Notice: p.notice(fp, m, d.Then, d.Reason, d.Since)})
		p.decide(name, DecisionWait, ReasonDraining, fmt.Sprintf("instance %d: waiting for the webhook's 2xx until %s",
			id, d.Since.Add(dr.Timeout).UTC().Format(time.RFC3339)))
		return ok
	default:
		p.decide(name, DecisionWait, ReasonDraining, fmt.Sprintf("instance %d: drain delay until %s",
			id, d.Since.Add(dr.Delay).UTC().Format(time.RFC3339)))
		return true
	}
}

func (p *planner) planFleet(f *policy.Fleet) {
	target := f.TargetAt(p.now)
	fp := &fleetPlan{f: f, limit: f.MaxActionsPerCycle,
		perMachine: map[int64]int{}, perHost: map[int64]int{}, perCountry: map[string]int{}}
	if fp.limit <= 0 {
		fp.limit = noLimit
	}
	fp.status = FleetStatus{Name: f.Name, Target: target, Min: f.Min, Max: f.Max, Budget: f.Budget,
		Counts: make(map[Phase]int, len(Phases))}
	managed := p.byFleet[f.Name]
	pend := p.pending[f.Name]
	for _, m := range managed {
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
	for _, c := range pend {
		fp.committed += c.Price
		fp.occupy(c.MachineID, c.HostID, c.Country, 1)
	}
	fp.count = len(managed) + len(pend)
	fp.status.PendingCreates = len(pend)
	fp.status.SpendBefore = fp.committed
	name := f.Name

	// Make-before-break replacements in flight: old instance → its replacement is pending or
	// running. The old one no longer counts toward the target; its replacement does.
	// An old instance no longer listed is gone: its replacement is an ordinary member now.
	listedIDs := make(map[int64]bool, len(managed))
	for _, m := range managed {
		listedIDs[m.Instance.ID] = true
	}
	inflight := map[int64]*Managed{} // replacement listed (nil value: a pending create)
	for _, c := range pend {
		if c.Replaces != 0 && listedIDs[c.Replaces] {
			inflight[c.Replaces] = nil
		}
	}
	for _, m := range managed {
		if m.Replaces != 0 && listedIDs[m.Replaces] && (m.Phase == PhasePending || m.Phase == PhaseRunning) {
			inflight[m.Replaces] = m
		}
	}

	// Repairs first: failed instances are destroyed and replaced (spec.md §5.7); outbid ones are
	// rebid within the caps, or destroyed and replaced after the outbid grace.
	var booting, running, spares []*Managed
	limited := false
	replacing := 0
	// Active before repairs: an outbid instance is rebid only while the fleet needs it.
	activeBefore := len(pend)
	for _, m := range managed {
		if _, old := inflight[m.Instance.ID]; !old && (m.Phase == PhasePending || m.Phase == PhaseRunning) {
			activeBefore++
		}
	}
	for _, m := range managed {
		if m.failedReply && (m.Phase == PhaseStopped || m.Phase == PhaseOutbid) {
			// A create that "failed" yet made an instance, left stopped: it only bills storage.
			if p.remove(fp, m, KindDestroy, ReasonFailedCreate, "failed create reply with new_contract") {
				p.decide(name, DecisionCleanup, ReasonFailedCreate, fmt.Sprintf("instance %d", m.Instance.ID))
			} else {
				limited = true
			}
			continue
		}
		switch m.Phase {
		case PhaseFailed:
			if p.remove(fp, m, KindDestroy, ReasonFailed, m.Why) {
				p.decide(name, DecisionReplace, ReasonFailed, fmt.Sprintf("instance %d: %s", m.Instance.ID, m.Why))
			} else {
				limited = true
			}
		case PhaseOutbid:
			switch p.planOutbid(fp, m, activeBefore < target) {
			case outbidRebid:
				booting = append(booting, m) // on its way back: it counts toward the target
				activeBefore++
			case outbidLimited:
				limited = true
			}
		case PhasePending, PhaseRunning:
			if r, ok := inflight[m.Instance.ID]; ok {
				replacing++
				if p.finishReplacement(fp, m, r) == outbidLimited {
					limited = true
				}
				continue
			}
			if m.Phase == PhasePending {
				booting = append(booting, m)
			} else {
				running = append(running, m)
			}
		case PhaseStopped:
			spares = append(spares, m)
		case PhaseDraining:
			if !p.planDrained(fp, m) {
				limited = true
			}
		}
	}
	active := len(booting) + len(running) + len(pend)
	started := map[*Managed]bool{}
	var blocked []string

	switch {
	case active < target:
		need := target - active
		detail := fmt.Sprintf("%d/%d", active, target)
		ups := 0
		reason, decision := "", ""
		switch {
		case p.inCooldown(p.st.LastScaleUp, name, f.CooldownUp):
			reason, decision = ReasonCooldown, DecisionWait
		case p.obs.User.Credit < p.cfg.Account.CreditFloor:
			reason, decision = ReasonCreditFloor, DecisionBlocked
		default:
			// Our own stopped instances come back before anything new is rented.
			slices.SortStableFunc(spares, func(a, b *Managed) int { return cmp.Compare(a.Price, b.Price) })
			for _, m := range spares {
				if need == 0 {
					break
				}
				if !p.emit(fp, Action{Kind: KindStart, Reason: ReasonBelowTarget, Detail: detail,
					InstanceID: m.Instance.ID, MachineID: m.Instance.MachineID, Price: m.Price}) {
					break
				}
				started[m] = true
				need--
				active++
				ups++
			}
			for need > 0 {
				r, d := p.createOne(fp, detail)
				if r != "" {
					reason, decision = r, d
					break
				}
				need--
				active++
				ups++
			}
		}
		if ups > 0 {
			p.decide(name, DecisionScaleUp, ReasonBelowTarget, detail)
		}
		if reason != "" {
			p.decide(name, decision, reason, fmt.Sprintf("%d/%d", active, target))
			if decision == DecisionBlocked {
				blocked = append(blocked, reason)
			}
		}
	case active > target && len(booting)+len(running) <= target:
		// Over target only through creates not listed yet: nothing listed is removed to make
		// room for an instance that may never appear; once it is listed, the surplus goes.
		p.decide(name, DecisionHold, ReasonPendingCreate, fmt.Sprintf("%d/%d with %d pending", active, target, len(pend)))
	case active > target:
		if p.inCooldown(p.st.LastScaleDown, name, f.CooldownDown) {
			p.decide(name, DecisionWait, ReasonCooldown, fmt.Sprintf("%d/%d", active, target))
			break
		}
		excess := min(active, len(booting)+len(running)) - target
		// Removal order (spec.md §5.7): pending, stopped, then the most expensive running.
		slices.SortStableFunc(booting, func(a, b *Managed) int {
			return cmp.Compare(b.Instance.StartDate, a.Instance.StartDate)
		})
		slices.SortStableFunc(running, func(a, b *Managed) int {
			return cmp.Or(cmp.Compare(b.Price, a.Price), cmp.Compare(b.Instance.StartDate, a.Instance.StartDate))
		})
		kind := KindDestroy
		if f.ScaleDown == policy.ScaleDownStop {
			kind = KindStop
		}
		downs := 0
		victims := slices.Concat(booting, running)
		if kind == KindDestroy {
			victims = slices.Concat(booting, spares, running)
		}
		for _, m := range victims {
			if excess == 0 {
				break
			}
			if !p.retire(fp, m, kind, ReasonAboveTarget, fmt.Sprintf("%d/%d", active, target)) {
				limited = true
				break
			}
			started[m] = true // handled: not a spare any more
			if m.Phase != PhaseStopped {
				excess--
				active--
			}
			downs++
		}
		if downs > 0 {
			p.decide(name, DecisionScaleDown, ReasonAboveTarget, fmt.Sprintf("%d/%d", active+downs, target))
		}
	default:
		if len(pend) > 0 {
			p.decide(name, DecisionHold, ReasonPendingCreate, fmt.Sprintf("%d pending", len(pend)))
		} else {
			p.decide(name, DecisionHold, ReasonAtTarget, fmt.Sprintf("%d/%d", active, target))
		}
	}

	// Stopped instances beyond target bill storage: destroyed once stopped longer than
	// stopped_ttl (spec.md §5.6).
	if active >= target && f.StoppedTTL > 0 {
		for _, m := range spares {
			if started[m] {
				continue
			}
			since, ok := p.st.StoppedSince[m.Instance.ID]
			// Our own stop is journalled: its time survives a restart, unlike the memory.
			if t, byUs := p.st.StoppedByUs[m.Instance.ID]; byUs && (!ok || t.Before(since)) {
				since, ok = t, true
			}
			if !ok || p.now.Sub(since) <= f.StoppedTTL {
				continue
			}
			if !p.remove(fp, m, KindDestroy, ReasonStoppedTTL, "stopped since "+since.UTC().Format(time.RFC3339)) {
				limited = true
				break
			}
			p.decide(name, DecisionCleanup, ReasonStoppedTTL, fmt.Sprintf("instance %d", m.Instance.ID))
		}
	}
	// Make-before-break moves, one in flight per fleet: a host listing about to end first, then
	// rebalancing to a cheaper equivalent offer when the fleet is otherwise settled.
	if replacing == 0 && len(inflight) == 0 {
		settled := active == target && len(pend) == 0 && len(booting) == 0
		if !p.planListingEnd(fp, slices.Concat(running, booting)) && settled && f.Rebalance != nil {
			p.planRebalance(fp, running)
		}
	}
	if limited {
		p.decide(name, DecisionWait, ReasonMaxActions, fmt.Sprintf("%d actions", fp.actions))
	}
	fp.status.SpendAfter = fp.committed
	fp.status.MonthBudget = f.Monthly
	fp.status.MonthSpend = p.monthFleets[name]
	fp.status.MonthForecast = fp.status.MonthSpend + fp.committed*p.hoursLeft
	fp.status.Blocked = blocked
	p.res.Fleets = append(p.res.Fleets, fp.status)
}

func (p *planner) inCooldown(last map[string]time.Time, fleet string, d time.Duration) bool {
	t, ok := last[fleet]
	return ok && d > 0 && p.now.Sub(t) < d
}

// createOne plans one create for the fleet, or says why it cannot: every rule of spec.md §5.2
// that the plan can check (the executor re-checks the offer just before renting).
func (p *planner) createOne(fp *fleetPlan, detail string) (reason, decision string) {
	f := fp.f
	switch {
	case p.st.CreatesBlocked != "":
		return ReasonJournal, DecisionBlocked
	case f.Market == nil || f.Market.Type == vastapi.Reserved:
		return ReasonReservedMarket, DecisionBlocked
	case p.now.Before(p.st.CreatesNotBefore):
		return ReasonReconciling, DecisionWait
	case fp.count >= f.Max:
		return ReasonMaxInstances, DecisionBlocked
	case p.obs.User.Credit < p.cfg.Account.CreditFloor:
		return ReasonCreditFloor, DecisionBlocked
	case fp.actions >= fp.limit:
		return ReasonMaxActions, DecisionWait
	case p.monthUnknown(f):
		return ReasonMonthlyBudget, DecisionBlocked
	}
	o, price, bid, why := p.pickOffer(fp, pick{})
	if o == nil {
		return why, DecisionBlocked
	}
	p.emitCreate(fp, o, price, bid, ReasonBelowTarget, detail, 0)
	return "", ""
}

// emitCreate plans the create of o for the fleet and books its price.
func (p *planner) emitCreate(fp *fleetPlan, o *vastapi.Offer, price, bid float64, reason, detail string, replaces int64) {
	f := fp.f
	nonce := makeNonce(p.now, f.Name, o.ID, p.seq)
	p.seq++
	label := Label(p.cfg.Owner, f.Name, nonce)
	req := createRequest(f, label, bid)
	q := f.Market.Query.Clone()
	q.Set("id", vastapi.OpEq, vastapi.NumberValue(float64(o.ID)))
	q.Limit = 1
	p.emit(fp, Action{Kind: KindCreate, Reason: reason, Detail: detail, MachineID: o.MachineID,
		Price: price, Offer: *o, Nonce: nonce, Label: label, Bid: bid, Request: req, Query: q,
		Market: f.Market.Name, Replaces: replaces})
	fp.count++
	fp.committed += price
	p.account += price
	p.takenOff[o.ID] = true
	p.takenMac[o.MachineID] = true
	fp.occupy(o.MachineID, o.HostID, Country(o.Geolocation.Or("")), 1)
}

// monthFits reports whether adding delta $/h to the fleet's committed spend keeps the projected
// month-end spend (month-to-date + committed $/h × hours left in the month) within the fleet's
// and the account's monthly budgets.
func (p *planner) monthFits(fp *fleetPlan, delta float64) bool {
	if c := fp.f.Monthly; c > 0 && p.monthFleets[fp.f.Name]+(fp.committed+delta)*p.hoursLeft > c+eps {
		return false
	}
	if c := p.cfg.Account.MonthlyBudget; c > 0 && p.monthAccount+(p.account+delta)*p.hoursLeft > c+eps {
		return false
	}
	return true
}

// monthUnknown reports whether a monthly budget binds the fleet while the month-to-date spend
// is unknown.
func (p *planner) monthUnknown(f *policy.Fleet) bool {
	return p.st.MonthUnknown != "" && (f.Monthly > 0 || p.cfg.Account.MonthlyBudget > 0)
}

// Country is the country code of a geolocation ("Quebec, CA" → "CA", ", US" → "US"); "" when
// unknown.
func Country(geo string) string {
	cc := geo
	if i := strings.LastIndexByte(geo, ','); i >= 0 {
		cc = geo[i+1:]
	}
	cc = strings.ToUpper(strings.TrimSpace(cc))
	if len(cc) != 2 {
		return ""
	}
	return cc
}

// OfferPrice is what renting o costs the fleet in committed $/h, recomputed for the fleet's
// disk; for a bid market also the bid to send (min_bid × multiplier, capped by bid.max and by
// the fleet's max price). ok is false when no bid within the caps reaches min_bid.
func OfferPrice(f *policy.Fleet, o *vastapi.Offer) (price, bid float64, ok bool) {
	return rowPrice(f, o.DphBase, o.StorageCost, o.MinBid)
}

func rowPrice(f *policy.Fleet, base, storageCost, minBid float64) (price, bid float64, ok bool) {
	disk := f.Instance.DiskGB
	storage := storageCost * disk / vastapi.HoursPerMonth
	if f.Market == nil || f.Market.Type != vastapi.Bid {
		return base + storage, 0, true
	}
	mult, bidMax := 1.0, math.Inf(1)
	if f.Bid != nil {
		if f.Bid.Multiplier > 0 {
			mult = f.Bid.Multiplier
		}
		if f.Bid.MaxPerHour > 0 {
			bidMax = f.Bid.MaxPerHour
		}
	}
	bid = minBid * mult
	bid = min(bid, bidMax)
	if f.MaxPrice > 0 {
		bid = min(bid, f.MaxPrice-storage)
	}
	if bid+eps < minBid || bid < 0.001 {
		return 0, 0, false
	}
	return bid + storage, bid, true
}

// offerRow is the part of an offer the planner's walk reads, packed so that walking tens of
// thousands of offers per fleet stays within the cache (an Offer is ~1 KB).
type offerRow struct {
	base, storage, minBid, disk float64
	end                         float64 // epoch seconds; 0 = unknown
	machine, id, host           int64
	country                     string
}

// rows returns the packed offers of a market, built once per plan.
func (p *planner) rows(market string) []offerRow {
	if r, ok := p.rowCache[market]; ok {
		return r
	}
	offers := p.obs.Offers[market]
	r := make([]offerRow, len(offers))
	for i := range offers {
		o := &offers[i]
		r[i] = offerRow{base: o.DphBase, storage: o.StorageCost, minBid: o.MinBid, disk: o.DiskSpace,
			end: o.EndDate.Or(0), machine: o.MachineID, id: o.ID, host: o.HostID,
			country: Country(o.Geolocation.Or(""))}
	}
	if p.rowCache == nil {
		p.rowCache = map[string][]offerRow{}
	}
	p.rowCache[market] = r
	return r
}

// pick narrows pickOffer for a replacement.
type pick struct {
	ceiling     float64       // > 0: the price must not exceed it (rebalance savings)
	minDuration time.Duration // > 0: the listing must last at least this long (beyond min_duration)
	notMachine  int64         // != 0: not on this machine (the one being left)
}

// pickOffer walks the market's offers in the order the search returned them (the market's
// `order`) and takes the first that passes every check. When none does, the reason is the last
// check that the furthest-getting offer failed: an offer under the price cap that only an
// avoided machine keeps out says avoided_machine, not price_cap.
func (p *planner) pickOffer(fp *fleetPlan, opt pick) (*vastapi.Offer, float64, float64, string) {
	f := fp.f
	rows := p.rows(f.Market.Name)
	const (
		stageNone = iota
		stagePrice
		stageSavings
		stageBudget
		stageAccount
		stageMonthly
		stageSpread
		stageAvoided
	)
	stage := stageNone
	disk := f.Instance.DiskGB
	accountCap := p.cfg.Account.MaxSpendPerHour
	spread := f.Spread.Any()
	minEnd := 0.0
	if d := max(f.MinDuration, opt.minDuration); d > 0 {
		minEnd = float64(p.now.Add(d).Unix())
	}
	for i := range rows {
		r := &rows[i]
		if disk > 0 && r.disk > 0 && r.disk+eps < disk {
			continue
		}
		if minEnd > 0 && r.end > 0 && r.end < minEnd {
			continue // the host's listing ends too soon (min_duration)
		}
		if opt.notMachine != 0 && r.machine == opt.notMachine {
			continue
		}
		price, bid, ok := rowPrice(f, r.base, r.storage, r.minBid)
		if !ok || (f.MaxPrice > 0 && price > f.MaxPrice+eps) {
			stage = max(stage, stagePrice)
			continue
		}
		if opt.ceiling > 0 && price > opt.ceiling+eps {
			stage = max(stage, stageSavings)
			continue
		}
		if f.Budget > 0 && fp.committed+price > f.Budget+eps {
			stage = max(stage, stageBudget)
			continue
		}
		if accountCap > 0 && p.account+price > accountCap+eps {
			stage = max(stage, stageAccount)
			continue
		}
		if !p.monthFits(fp, price) {
			stage = max(stage, stageMonthly)
			continue
		}
		if spread && !fp.spreadAllows(r.machine, r.host, r.country) {
			stage = max(stage, stageSpread)
			continue
		}
		if p.takenOff[r.id] || p.takenMac[r.machine] {
			continue // chosen by an earlier create of this plan
		}
		if until, ok := p.st.Avoided[r.machine]; ok && p.now.Before(until) {
			stage = stageAvoided
			continue
		}
		return &p.obs.Offers[f.Market.Name][i], price, bid, ""
	}
	switch stage {
	case stageAvoided:
		return nil, 0, 0, ReasonAvoidedMachine
	case stageSpread:
		return nil, 0, 0, ReasonSpread
	case stageMonthly:
		return nil, 0, 0, ReasonMonthlyBudget
	case stageAccount:
		return nil, 0, 0, ReasonAccountCap
	case stageBudget:
		return nil, 0, 0, ReasonBudget
	case stageSavings:
		return nil, 0, 0, ReasonSavingsBelow
	case stagePrice:
		return nil, 0, 0, ReasonPriceCap
	}
	return nil, 0, 0, ReasonNoOffers
}

// createRequest is the create body for the fleet's template: the label set in the request
// itself (ownership, spec.md §5.1) and, on a bid market, always an explicit price.
func createRequest(f *policy.Fleet, label string, bid float64) vastapi.CreateRequest {
	t := f.Instance
	req := vastapi.CreateRequest{
		Image:          t.Image,
		DiskGB:         t.DiskGB,
		Label:          label,
		Onstart:        t.Onstart,
		Runtype:        t.Runtype,
		Args:           slices.Clone(t.Args),
		ImageLogin:     t.ImageLogin.Reveal(),
		TemplateHashID: t.TemplateHashID,
	}
	if len(t.Env) > 0 {
		req.Env = make(map[string]string, len(t.Env))
		for _, e := range t.Env {
			req.Env[e.Name] = e.Value.Reveal()
		}
	}
	// The ports the daemon reaches (readiness, /sd) must be mapped: Vast maps only the container
	// ports a create asks for with `-p HOST:CONTAINER` env keys (vast-api.md §3).
	for _, port := range exposedPorts(f) {
		if !mapsPort(req.Env, port) {
			if req.Env == nil {
				req.Env = map[string]string{}
			}
			req.Env[fmt.Sprintf("-p %d:%d", port, port)] = "1"
		}
	}
	if bid > 0 {
		b := bid
		req.Price = &b
	}
	return req
}

// exposedPorts are the container ports the daemon reaches on the fleet's instances.
func exposedPorts(f *policy.Fleet) []int {
	ports := slices.Clone(f.DiscoveryPorts)
	if f.Readiness != nil && !slices.Contains(ports, f.Readiness.Port) {
		ports = append(ports, f.Readiness.Port)
	}
	return ports
}

// mapsPort reports whether env already has a `-p HOST:PORT` (or PORT/tcp) key for the
// container port.
func mapsPort(env map[string]string, port int) bool {
	suffix := ":" + strconv.Itoa(port)
	for k := range env {
		if strings.HasPrefix(k, "-p ") && (strings.HasSuffix(k, suffix) || strings.HasSuffix(k, suffix+"/tcp")) {
			return true
		}
	}
	return false
}

// planOrphans destroys managed instances whose fleet left the config, only when the config
// says `orphans: destroy` (spec.md §5.1).
func (p *planner) planOrphans() {
	if p.cfg.Orphans != policy.OrphansDestroy {
		for name, n := range p.res.Orphans {
			p.decide(name, DecisionHold, ReasonOrphan, fmt.Sprintf("%d kept", n))
		}
		return
	}
	for i := range p.res.Managed {
		m := &p.res.Managed[i]
		if !m.Orphan {
			continue
		}
		p.res.Actions = append(p.res.Actions, Action{Kind: KindDestroy, Fleet: m.Fleet, Reason: ReasonOrphan,
			InstanceID: m.Instance.ID, MachineID: m.Instance.MachineID, Price: m.Price})
		p.account -= m.Price
		p.decide(m.Fleet, DecisionCleanup, ReasonOrphan, fmt.Sprintf("instance %d", m.Instance.ID))
	}
}

// order puts what frees money and capacity first: destroys, stops, starts, then creates. The
// executor skips the creates when an earlier destroy or stop failed.
func (p *planner) order() {
	rank := map[Kind]int{KindDestroy: 0, KindStop: 1, KindDrain: 1, KindStart: 2, KindCreate: 3}
	slices.SortStableFunc(p.res.Actions, func(a, b Action) int { return cmp.Compare(rank[a.Kind], rank[b.Kind]) })
}
