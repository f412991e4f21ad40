package metrics

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Snapshot is what one poll observed and decided, as the metrics contract exports it. It is
// immutable once published: the publisher builds a new one every poll and never mutates a
// published one (the exporter and the status page read it without locks).
//
// It covers every per-poll metric of docs/metrics.md. The Exporter keeps the process counters
// and status gauges itself (API requests, scaler actions and decisions, fleet cost, poll and
// reload status, leader, build info).
type Snapshot struct {
	At        time.Time
	Markets   []MarketSnapshot
	Account   *AccountSnapshot // nil when the account call has not succeeded yet
	Instances []InstanceRow    // every instance of the account, managed or not
	Fleets    []FleetRow       // every fleet of the running config
	// Orphans counts managed instances whose fleet left the config, by that fleet's name
	// (vastwatch_orphaned_instances).
	Orphans map[string]int
}

// MarketSnapshot is one market's search reply reduced to its statistics.
type MarketSnapshot struct {
	Name    string
	GroupBy []string // label names, a subset of policy.GroupByLabels, in config order
	Groups  []GroupStats
	// DroppedGroups is how many label sets of this search were not exported because the market
	// had more than its cap (vastwatch_market_dropped_groups).
	DroppedGroups int
	// SearchFailed: the market's search failed this poll; it then has no statistics
	// (vastwatch_market_search_success 0, no vast_offer* series).
	SearchFailed bool
}

// GroupStats are the statistics of the offers sharing one set of group_by label values.
type GroupStats struct {
	Labels []string // values, parallel to MarketSnapshot.GroupBy
	Offers int
	// Price is dph_total, each offer counted once.
	Price Percentiles
	// GPUPrice is dph_total ÷ num_gpus, weighted by GPU count; GPUs that several offers of one
	// machine share are counted once, at the price of the largest of those offers.
	GPUPrice Percentiles
	// DLPerfPerDollar is dlperf ÷ dph_total, each offer counted once; offers without a dlperf
	// score are left out.
	DLPerfPerDollar Percentiles
}

// Percents are the percentiles exported, as integers; PercentileLabels are their label values.
var (
	Percents         = [...]int{0, 10, 50, 90, 100}
	PercentileLabels = [...]string{"0", "10", "50", "90", "100"}
)

// Percentiles holds nearest-rank percentiles at Percents. Valid is false when no offer
// contributed (the series are then not exported).
type Percentiles struct {
	Valid  bool
	Values [len(Percents)]float64
}

// AccountSnapshot is the account's money state.
type AccountSnapshot struct {
	Credit float64 // $
	// Burn is what the account pays now in $/h: running and frozen instances at dph_total,
	// every other non-destroyed instance at its storage cost (docs/design.md §5).
	Burn float64
	// MonthSpend is the account's committed spend integrated over this calendar month (UTC),
	// $; MonthForecast adds the committed $/h × hours left in the month
	// (vastwatch_account_month_spend_dollars, vastwatch_account_month_forecast_dollars).
	MonthSpend, MonthForecast float64
	// MonthCharges is what Vast charged this calendar month (UTC) so far, $, by item (gpu,
	// disk, bwd, bwu, …) from /api/v0/charges/; nil when the key may not read billing
	// (vast_account_month_charges_dollars, absent then).
	MonthCharges map[string]float64
	// OverSpendCap and BelowCreditFloor say the account is past a limit: no new rentals,
	// existing instances kept (vastwatch_account_over_limit).
	OverSpendCap, BelowCreditFloor bool
	// CreditFloor is account.credit_floor_dollars, $ (vastwatch_account_credit_floor_dollars);
	// MonthBudget is account.max_spend_dollars_per_month, $, 0 when there is none
	// (vastwatch_account_budget_dollars_per_month, absent then). They are the config's, exported
	// so that alerts compare against the thresholds the daemon enforces.
	CreditFloor, MonthBudget float64
}

// Runway is how long the credit lasts at the current burn. ok is false while burn is 0; a
// negative credit gives 0.
func (a *AccountSnapshot) Runway() (d time.Duration, ok bool) {
	s, ok := a.runwaySeconds()
	return time.Duration(s * float64(time.Second)), ok
}

func (a *AccountSnapshot) runwaySeconds() (float64, bool) {
	if a.Burn <= 0 {
		return 0, false
	}
	return max(0, a.Credit) / a.Burn * 3600, true
}

// InstanceRow is one instance of the account.
type InstanceRow struct {
	ID        int64
	Fleet     string // "" when the instance is not managed by vastwatch
	MachineID int64
	GPUName   string
	NumGPUs   int
	// State is the instance's phase (docs/design.md §8): pending, running, stopped, outbid, failed or
	// draining; or cold, a stopped instance kept in its fleet's cold pool.
	State     string
	Price     float64   // $/h the instance costs when running (dph_total, or the bid plus storage)
	StartTime time.Time // zero when unknown: the start timestamp is then not exported
	// Probed: the instance's fleet has a readiness probe; Ready then says whether the instance
	// is ready (running and its last probe passed) (vastwatch_instance_ready).
	Probed, Ready bool
	// SSHHost and SSHPort are the endpoint a person would ssh to (vastapi.Instance.SSH): ""
	// and 0 when the instance has none.
	SSHHost string
	SSHPort int
}

// Phases are the instance states every configured fleet exports in vast_instances, zero
// included, so that "fleet below target" alerts do not depend on a series appearing. They are
// the scaler's phases, in its order; a fleet with a cold pool exports scaler.StateCold too.
var Phases = phaseNames(scaler.Phases)

func phaseNames(phases []scaler.Phase) []string {
	out := make([]string, len(phases))
	for i, p := range phases {
		out[i] = string(p)
	}
	return out
}

// FleetRow is one configured fleet's sizes, money and health.
type FleetRow struct {
	Name   string
	Target int // the target in force now (schedule applied)
	Min    int
	Max    int
	Spend  float64 // committed spend, $/h
	Budget float64 // $/h
	// Blocked lists why the target is unreachable now (decision reasons such as
	// budget_exhausted, price_cap, no_offers, credit_floor); empty when it is not blocked.
	Blocked         []string
	AvoidedMachines int // machines this fleet avoids after failures
	// EligibleMachines are the machines of the fleet's market it could rent on;
	// EligibleAvoided those of them avoided for it after its avoid.max_share bound
	// (vastwatch_fleet_eligible_machines, vastwatch_fleet_avoided_machines); BurstMachines the
	// machines of its failure burst, 0 when none (vastwatch_fleet_failure_burst_machines).
	EligibleMachines, EligibleAvoided, BurstMachines int
	// MonthSpend is the fleet's committed spend integrated over this calendar month (UTC), $;
	// MonthForecast adds its committed $/h × hours left in the month
	// (vastwatch_fleet_month_spend_dollars, vastwatch_fleet_month_forecast_dollars).
	MonthSpend, MonthForecast float64
	// MonthBudget is the fleet's budget_dollars_per_month, $, 0 when there is none
	// (vastwatch_fleet_budget_dollars_per_month, absent then).
	MonthBudget float64
	// Desired is the fleet's desired size by source (DesiredSources: demand and price only
	// when configured, schedule and final always) (vastwatch_fleet_desired_instances).
	Desired map[string]int
	// HasDemand: the fleet has a demand source with a good value, DemandValue
	// (vastwatch_fleet_demand_value).
	HasDemand   bool
	DemandValue float64
	// ColdPool: the fleet keeps a cold pool, so it exports vast_instances{state="cold"}.
	ColdPool bool
	// OverBudget: the fleet's committed spend is above its hourly budget (a budget lowered
	// below it): no new rentals, existing instances kept (vastwatch_fleet_over_budget).
	OverBudget bool
}

// DesiredSources are the sources of vastwatch_fleet_desired_instances, in their order.
var DesiredSources = []string{"demand", "price", "schedule", "final"}

// DefaultMaxGroups is the per-market cap on exported label sets that the daemon uses: each set
// is 16 series (one count, three statistics at five percentiles), so 300 sets stay under 5,000
// series per market.
const DefaultMaxGroups = 300

// NewMarketSnapshot groups a market's search reply by the market's group_by labels and computes
// each group's statistics. When there are more than maxGroups label sets, the sets with the most
// offers are kept (ties broken by label values) and the rest are counted in DroppedGroups;
// maxGroups ≤ 0 means no cap.
//
// Label values: gpu_name, gpu_arch and verification as the API sends them; num_gpus in decimal;
// country is the code after the last ", " of geolocation ("" when null); datacenter is "true"
// for hosting_type 1, "false" for other values and "" when null.
func NewMarketSnapshot(m *policy.Market, offers []vastapi.Offer, maxGroups int) MarketSnapshot {
	return marketSnapshot(m, len(offers), false, func(i int, _ *vastapi.Offer) *vastapi.Offer { return &offers[i] }, maxGroups)
}

// MarketSnapshotOf is NewMarketSnapshot over offer digests, what an observation keeps of a
// market no fleet rents from (scaler.Observation.Watched). A digest holds every field the
// statistics and labels read, so the snapshot is the one NewMarketSnapshot makes of the offers
// the digests were made from.
func MarketSnapshotOf(m *policy.Market, digests []scaler.OfferDigest, maxGroups int) MarketSnapshot {
	return marketSnapshot(m, len(digests), true, func(i int, dst *vastapi.Offer) *vastapi.Offer {
		digests[i].Into(dst)
		return dst
	}, maxGroups)
}

// marketSnapshot is NewMarketSnapshot over n offers read through at: at(i, dst) returns offer
// i, built in dst when builds is true (dst then lives as long as the caller keeps it).
func marketSnapshot(m *policy.Market, n int, builds bool, at func(i int, dst *vastapi.Offer) *vastapi.Offer, maxGroups int) MarketSnapshot {
	ms := MarketSnapshot{Name: m.Name, GroupBy: slices.Clone(m.GroupBy)}
	type group struct {
		labels  []string
		members []int // offer indices, in reply order
	}
	byKey := map[string]*group{}
	var groups []*group
	var scratch vastapi.Offer
	for i := range n {
		o := at(i, &scratch)
		labels := make([]string, len(ms.GroupBy))
		for j, name := range ms.GroupBy {
			labels[j] = GroupLabel(o, name)
		}
		key := strings.Join(labels, "\xff")
		g := byKey[key]
		if g == nil {
			g = &group{labels: labels}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.members = append(g.members, i)
	}
	slices.SortFunc(groups, func(a, b *group) int {
		if c := cmp.Compare(len(b.members), len(a.members)); c != 0 {
			return c
		}
		return slices.Compare(a.labels, b.labels)
	})
	if maxGroups > 0 && len(groups) > maxGroups {
		ms.DroppedGroups = len(groups) - maxGroups
		groups = groups[:maxGroups]
	}
	slices.SortFunc(groups, func(a, b *group) int { return slices.Compare(a.labels, b.labels) })
	ms.Groups = make([]GroupStats, 0, len(groups))
	// Offers are built one group at a time into one buffer (groupStats keeps none of them), so
	// a market of digests never has more than its largest group as whole offers.
	var buf []vastapi.Offer
	for _, g := range groups {
		var built []vastapi.Offer
		if builds {
			if cap(buf) < len(g.members) {
				buf = make([]vastapi.Offer, len(g.members))
			}
			built = buf[:len(g.members)]
		}
		offers := make([]*vastapi.Offer, len(g.members))
		for k, i := range g.members {
			var dst *vastapi.Offer
			if builds {
				dst = &built[k]
			}
			offers[k] = at(i, dst)
		}
		ms.Groups = append(ms.Groups, groupStats(g.labels, offers))
	}
	return ms
}

// GroupLabel is the value of one group_by label for an offer ("" for an unknown label name).
func GroupLabel(o *vastapi.Offer, name string) string {
	switch name {
	case "gpu_name":
		return strings.ToValidUTF8(o.GPUName, "\uFFFD")
	case "num_gpus":
		return strconv.Itoa(o.NumGPUs)
	case "gpu_arch":
		return strings.ToValidUTF8(o.GPUArch, "\uFFFD")
	case "country":
		return country(o.Geolocation)
	case "verification":
		return strings.ToValidUTF8(o.Verification, "\uFFFD")
	case "datacenter":
		if !o.HostingType.Valid {
			return ""
		}
		return strconv.FormatBool(o.HostingType.V == 1)
	}
	return ""
}

// country takes the code from "Region, CC" (the reply form) or a bare "CC".
func country(geo vastapi.Opt[string]) string {
	if !geo.Valid {
		return ""
	}
	s := geo.V
	if i := strings.LastIndex(s, ","); i >= 0 {
		s = s[i+1:]
	}
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 || !isUpperASCII(s) {
		return ""
	}
	return s
}

func isUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
