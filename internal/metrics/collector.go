package metrics

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vastwatch/vastwatch/internal/scaler"
)

// Descriptors of the snapshot's fixed-label metrics, built once. The market metrics carry the
// market's group_by labels, so their descriptors are built per market at render time.
var (
	descMarketSearch = prometheus.NewDesc("vastwatch_market_search_success",
		"1 when the market's search succeeded in the last poll, 0 when it failed (its vast_offer* series are then absent and the fleets renting from it hold).",
		[]string{"market"}, nil)
	descMarketDropped = prometheus.NewDesc("vastwatch_market_dropped_groups",
		"Label sets of the market's last search left out of the vast_offer* metrics by the per-market cap.",
		[]string{"market"}, nil)

	descCredit = prometheus.NewDesc("vast_account_credit_dollars",
		"Spendable credit of the Vast.ai account.", nil, nil)
	descBurn = prometheus.NewDesc("vast_account_spend_dollars_per_hour",
		"What the account pays now: running and frozen instances at dph_total, every other non-destroyed instance at its storage cost.", nil, nil)
	descRunway = prometheus.NewDesc("vast_account_runway_seconds",
		"How long the credit lasts at the current spend (credit / spend); absent while spend is 0.", nil, nil)
	descMonthCharges = prometheus.NewDesc("vast_account_month_charges_dollars",
		"What Vast charged the account this calendar month (UTC) so far, by item (gpu, disk, bwd, bwu), from /api/v0/charges/; absent when the key may not read billing.",
		[]string{"item"}, nil)

	descInstances = prometheus.NewDesc("vast_instances",
		"Instances of the account by fleet (\"\" = not managed by vastwatch) and phase.",
		[]string{"fleet", "state"}, nil)
	descInstanceInfo = prometheus.NewDesc("vast_instance_info",
		"One series per instance of the account, value 1.",
		[]string{"id", "fleet", "machine_id", "gpu_name", "num_gpus", "state", "ssh_host", "ssh_port"}, nil)
	descInstancePrice = prometheus.NewDesc("vast_instance_price_dollars_per_hour",
		"What the instance costs per hour when running (dph_total, or the bid plus storage).",
		[]string{"id", "fleet"}, nil)
	descInstanceReady = prometheus.NewDesc("vastwatch_instance_ready",
		"1 while the instance is ready (running and passing its fleet's readiness probe), else 0; only for fleets with a probe.",
		[]string{"id", "fleet"}, nil)
	descInstanceStart = prometheus.NewDesc("vast_instance_start_timestamp_seconds",
		"When the instance was started, Unix time.",
		[]string{"id", "fleet"}, nil)

	descFleetTarget = prometheus.NewDesc("vastwatch_fleet_target_instances",
		"Instances the fleet should have now (schedule applied).", []string{"fleet"}, nil)
	descFleetMin = prometheus.NewDesc("vastwatch_fleet_min_instances",
		"Configured minimum size of the fleet.", []string{"fleet"}, nil)
	descFleetMax = prometheus.NewDesc("vastwatch_fleet_max_instances",
		"Configured maximum size of the fleet.", []string{"fleet"}, nil)
	descFleetSpend = prometheus.NewDesc("vastwatch_fleet_spend_dollars_per_hour",
		"Committed spend of the fleet: managed instances in any state but destroyed and pending creates, at full price.",
		[]string{"fleet"}, nil)
	descFleetBudget = prometheus.NewDesc("vastwatch_fleet_budget_dollars_per_hour",
		"Configured budget of the fleet.", []string{"fleet"}, nil)
	descFleetBlocked = prometheus.NewDesc("vastwatch_fleet_blocked",
		"1 while the fleet's target is unreachable, one series per reason.",
		[]string{"fleet", "reason"}, nil)
	descAvoided = prometheus.NewDesc("vastwatch_avoided_machines",
		"Machines the fleet avoids after failures.", []string{"fleet"}, nil)
	descFleetEligible = prometheus.NewDesc("vastwatch_fleet_eligible_machines",
		"Machines of the fleet's market it could rent on: an offer with enough disk, listed for min_duration, within its price caps.",
		[]string{"fleet"}, nil)
	descFleetAvoided = prometheus.NewDesc("vastwatch_fleet_avoided_machines",
		"Eligible machines avoided for the fleet after failures, at most avoid.max_share of vastwatch_fleet_eligible_machines.",
		[]string{"fleet"}, nil)
	descFleetBurst = prometheus.NewDesc("vastwatch_fleet_failure_burst_machines",
		"Machines on which the fleet's instances failed in the last 10 minutes while they number 3 or more (likely a platform or image problem); 0 otherwise.",
		[]string{"fleet"}, nil)
	descFleetMonthSpend = prometheus.NewDesc("vastwatch_fleet_month_spend_dollars",
		"Committed spend of the fleet integrated over the current calendar month (UTC), or what Vast charged for its listed instances when more.", []string{"fleet"}, nil)
	descFleetMonthForecast = prometheus.NewDesc("vastwatch_fleet_month_forecast_dollars",
		"Month-to-date committed spend of the fleet plus its committed spend per hour times the hours left in the month (UTC).",
		[]string{"fleet"}, nil)
	descFleetDesired = prometheus.NewDesc("vastwatch_fleet_desired_instances",
		"Desired size of the fleet by source: demand (ceil(value / per_instance), or the fallback while stale), price (what the price curve allows), schedule (the target, or an autoscaled fleet's floor) and final (the target in force, stabilised and clamped).",
		[]string{"fleet", "source"}, nil)
	descFleetOverBudget = prometheus.NewDesc("vastwatch_fleet_over_budget",
		"1 while the fleet's committed spend is above its hourly budget (a budget lowered below it): no new rentals, existing instances kept; else 0.",
		[]string{"fleet"}, nil)
	descAccountOverLimit = prometheus.NewDesc("vastwatch_account_over_limit",
		"1 while the account is past a limit, spend_cap (committed spend above account.max_spend_dollars_per_hour) or credit_floor (credit under account.credit_floor_dollars): no new rentals, existing instances kept; else 0.",
		[]string{"limit"}, nil)
	descFleetDemand = prometheus.NewDesc("vastwatch_fleet_demand_value",
		"Last good value of the fleet's demand query; absent until it has one.",
		[]string{"fleet"}, nil)
	descAccountMonthSpend = prometheus.NewDesc("vastwatch_account_month_spend_dollars",
		"Committed spend of all managed instances integrated over the current calendar month (UTC), or what Vast charged the account this month when more.", nil, nil)
	descAccountMonthForecast = prometheus.NewDesc("vastwatch_account_month_forecast_dollars",
		"Month-to-date committed spend of all managed instances plus their committed spend per hour times the hours left in the month (UTC).",
		nil, nil)
	descCreditFloor = prometheus.NewDesc("vastwatch_account_credit_floor_dollars",
		"The config's account.credit_floor_dollars: below this credit nothing is rented or started.", nil, nil)
	descAccountMonthBudget = prometheus.NewDesc("vastwatch_account_budget_dollars_per_month",
		"The config's account.max_spend_dollars_per_month; absent when there is none.", nil, nil)
	descFleetMonthBudget = prometheus.NewDesc("vastwatch_fleet_budget_dollars_per_month",
		"The fleet's budget_dollars_per_month; absent when there is none.", []string{"fleet"}, nil)
	descOrphaned = prometheus.NewDesc("vastwatch_orphaned_instances",
		"Managed instances whose fleet is no longer in the config, by that fleet.", []string{"fleet"}, nil)
)

// marketDescs are one market's descriptors: labels market, the group_by labels, and percentile
// on the three statistics.
type marketDescs struct {
	offers, price, gpuPrice, perf *prometheus.Desc
}

func newMarketDescs(groupBy []string) marketDescs {
	base := append([]string{"market"}, groupBy...)
	pct := append(append([]string{}, base...), "percentile")
	return marketDescs{
		offers: prometheus.NewDesc("vast_offers",
			"Offers the market's last search returned.", base, nil),
		price: prometheus.NewDesc("vast_offer_price_dollars_per_hour",
			"Nearest-rank percentile of the whole-offer price (dph_total, with the market's storage) over the market's last search.",
			pct, nil),
		gpuPrice: prometheus.NewDesc("vast_offer_gpu_price_dollars_per_hour",
			"Nearest-rank percentile of the per-GPU price (dph_total / num_gpus) weighted by GPU count, GPUs shared by offers of one machine counted once.",
			pct, nil),
		perf: prometheus.NewDesc("vast_offer_dlperf_per_dollar",
			"Nearest-rank percentile of dlperf / dph_total over the market's last search.",
			pct, nil),
	}
}

// NewCollector returns a collector that emits the snapshot as const metrics. It is unchecked
// (describes nothing) because the market metrics' labels follow each market's group_by. The
// Exporter renders it once per Publish; tests use it directly.
//
// Rows that repeat an earlier row's identity (market name, fleet name, instance id, a group's
// labels) are skipped: the first wins.
func NewCollector(s *Snapshot) prometheus.Collector { return snapshotCollector{s} }

// snapshotCollector emits one snapshot, one method per part of it (markets, account, fleets,
// orphans, instances), as node_exporter's collectors do per metric family.
type snapshotCollector struct{ s *Snapshot }

func (snapshotCollector) Describe(chan<- *prometheus.Desc) {}

func (c snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s == nil {
		return
	}
	emit := emitter{ch}
	c.collectMarkets(emit)
	c.collectAccount(emit)
	// vast_instances counts rows of two parts: every fleet's phases at zero, then the
	// instances; it is emitted once both have been counted.
	counts := &stateCounts{n: map[fleetState]int{}}
	c.collectFleets(emit, counts)
	c.collectOrphans(emit)
	c.collectInstances(emit, counts)
	counts.collect(emit)
}

// emitter sends gauges to a collect channel. Label values are made valid UTF-8 in place: the
// exposition cannot carry anything else, and one bad value must not drop the whole family.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	for i, l := range labels {
		labels[i] = strings.ToValidUTF8(l, "\uFFFD")
	}
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}

func (c snapshotCollector) collectMarkets(emit emitter) {
	seen := map[string]bool{}
	for i := range c.s.Markets {
		m := &c.s.Markets[i]
		if seen[m.Name] {
			continue
		}
		seen[m.Name] = true
		c.collectMarket(emit, m)
	}
}

func (c snapshotCollector) collectAccount(emit emitter) {
	a := c.s.Account
	if a == nil {
		return
	}
	emit.gauge(descCredit, a.Credit)
	emit.gauge(descBurn, a.Burn)
	emit.gauge(descAccountMonthSpend, a.MonthSpend)
	emit.gauge(descAccountMonthForecast, a.MonthForecast)
	emit.gauge(descAccountOverLimit, boolValue(a.OverSpendCap), "spend_cap")
	emit.gauge(descAccountOverLimit, boolValue(a.BelowCreditFloor), "credit_floor")
	emit.gauge(descCreditFloor, a.CreditFloor)
	if a.MonthBudget > 0 {
		emit.gauge(descAccountMonthBudget, a.MonthBudget)
	}
	if r, ok := a.runwaySeconds(); ok {
		emit.gauge(descRunway, r)
	}
	items := slices.Sorted(maps.Keys(a.MonthCharges))
	for _, item := range items {
		emit.gauge(descMonthCharges, a.MonthCharges[item], item)
	}
}

func (c snapshotCollector) collectFleets(emit emitter, counts *stateCounts) {
	fleets := map[string]bool{}
	for i := range c.s.Fleets {
		f := &c.s.Fleets[i]
		if fleets[f.Name] {
			continue
		}
		fleets[f.Name] = true
		for _, st := range Phases {
			counts.add(fleetState{f.Name, st}, 0)
		}
		if f.ColdPool {
			counts.add(fleetState{f.Name, scaler.StateCold}, 0)
		}
		emit.gauge(descFleetTarget, float64(f.Target), f.Name)
		emit.gauge(descFleetMin, float64(f.Min), f.Name)
		emit.gauge(descFleetMax, float64(f.Max), f.Name)
		emit.gauge(descFleetSpend, f.Spend, f.Name)
		emit.gauge(descFleetBudget, f.Budget, f.Name)
		emit.gauge(descAvoided, float64(f.AvoidedMachines), f.Name)
		emit.gauge(descFleetEligible, float64(f.EligibleMachines), f.Name)
		emit.gauge(descFleetAvoided, float64(f.EligibleAvoided), f.Name)
		emit.gauge(descFleetBurst, float64(f.BurstMachines), f.Name)
		emit.gauge(descFleetMonthSpend, f.MonthSpend, f.Name)
		emit.gauge(descFleetMonthForecast, f.MonthForecast, f.Name)
		emit.gauge(descFleetOverBudget, boolValue(f.OverBudget), f.Name)
		if f.MonthBudget > 0 {
			emit.gauge(descFleetMonthBudget, f.MonthBudget, f.Name)
		}
		for _, src := range DesiredSources {
			if n, ok := f.Desired[src]; ok {
				emit.gauge(descFleetDesired, float64(n), f.Name, src)
			}
		}
		if f.HasDemand {
			emit.gauge(descFleetDemand, f.DemandValue, f.Name)
		}
		reasons := map[string]bool{}
		for _, r := range f.Blocked {
			if !reasons[r] {
				reasons[r] = true
				emit.gauge(descFleetBlocked, 1, f.Name, r)
			}
		}
	}
}

func (c snapshotCollector) collectOrphans(emit emitter) {
	for fleet, n := range c.s.Orphans {
		emit.gauge(descOrphaned, float64(n), fleet)
	}
}

func (c snapshotCollector) collectInstances(emit emitter, counts *stateCounts) {
	ids := map[int64]bool{}
	for i := range c.s.Instances {
		in := &c.s.Instances[i]
		if ids[in.ID] {
			continue
		}
		ids[in.ID] = true
		id := strconv.FormatInt(in.ID, 10)
		counts.add(fleetState{in.Fleet, in.State}, 1)
		sshPort := ""
		if in.SSHPort > 0 {
			sshPort = strconv.Itoa(in.SSHPort)
		}
		emit.gauge(descInstanceInfo, 1, id, in.Fleet, strconv.FormatInt(in.MachineID, 10), in.GPUName,
			strconv.Itoa(in.NumGPUs), in.State, in.SSHHost, sshPort)
		emit.gauge(descInstancePrice, in.Price, id, in.Fleet)
		if !in.StartTime.IsZero() {
			emit.gauge(descInstanceStart, float64(in.StartTime.UnixNano())/1e9, id, in.Fleet)
		}
		if in.Probed {
			ready := 0.0
			if in.Ready {
				ready = 1
			}
			emit.gauge(descInstanceReady, ready, id, in.Fleet)
		}
	}
}

// fleetState is one series of vast_instances.
type fleetState struct{ fleet, state string }

// stateCounts tallies vast_instances in the order its series first appear.
type stateCounts struct {
	n     map[fleetState]int
	order []fleetState
}

func (sc *stateCounts) add(k fleetState, n int) {
	if _, ok := sc.n[k]; !ok {
		sc.order = append(sc.order, k)
	}
	sc.n[k] += n
}

func (sc *stateCounts) collect(emit emitter) {
	for _, k := range sc.order {
		emit.gauge(descInstances, float64(sc.n[k]), k.fleet, k.state)
	}
}

func (snapshotCollector) collectMarket(emit emitter, m *MarketSnapshot) {
	if m.SearchFailed {
		emit.gauge(descMarketSearch, 0, m.Name)
		return
	}
	emit.gauge(descMarketSearch, 1, m.Name)
	d := newMarketDescs(m.GroupBy)
	emit.gauge(descMarketDropped, float64(m.DroppedGroups), m.Name)
	if len(m.Groups) == 0 {
		// A search that returned nothing is 0 offers, not missing data: one series with the
		// group labels empty (which Prometheus stores as {market="…"}).
		emit.gauge(d.offers, 0, append([]string{m.Name}, make([]string, len(m.GroupBy))...)...)
		return
	}
	seen := map[string]bool{}
	for i := range m.Groups {
		g := &m.Groups[i]
		if len(g.Labels) != len(m.GroupBy) {
			emit.gauge(d.offers, 0, append([]string{m.Name}, g.Labels...)...) // reports the mismatch
			continue
		}
		key := strings.Join(g.Labels, "\xff")
		if seen[key] {
			continue
		}
		seen[key] = true
		base := append([]string{m.Name}, g.Labels...)
		emit.gauge(d.offers, float64(g.Offers), base...)
		for _, st := range []struct {
			desc *prometheus.Desc
			p    *Percentiles
		}{{d.price, &g.Price}, {d.gpuPrice, &g.GPUPrice}, {d.perf, &g.DLPerfPerDollar}} {
			if !st.p.Valid {
				continue
			}
			for j, v := range st.p.Values {
				emit.gauge(st.desc, v, append(append(make([]string, 0, len(base)+1), base...), PercentileLabels[j])...)
			}
		}
	}
}

// boolValue is 1 for true, 0 for false.
func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
