package scaler

import (
	"fmt"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Kind is what an action does.
type Kind string

// The action kinds. They are also the `action` label of vastwatch_scaler_actions_total.
const (
	KindCreate  Kind = "create"
	KindStart   Kind = "start"
	KindStop    Kind = "stop"
	KindDestroy Kind = "destroy"
	// KindRebid raises an outbid instance's bid (Bid) within the fleet's caps.
	KindRebid Kind = "rebid"
	// KindDrain takes an instance out of service before its removal: the drain is journalled
	// and the fleet's webhook, if any, is POSTed the instance (again each cycle until it
	// answers 2xx).
	KindDrain Kind = "drain"
)

// Reasons: every decision and action carries one (docs/metrics.md). The same text appears in
// logs, `vastwatch plan`, the status page and the decision counter's reason label.
const (
	ReasonAtTarget       = "at_target"
	ReasonBelowTarget    = "below_target"
	ReasonAboveTarget    = "above_target"
	ReasonBudget         = "budget_exhausted"
	ReasonAccountCap     = "account_cap"
	ReasonCreditFloor    = "credit_floor"
	ReasonPriceCap       = "price_cap"
	ReasonNoOffers       = "no_offers"
	ReasonCooldown       = "cooldown"
	ReasonPendingCreate  = "pending_create"
	ReasonAPIError       = "api_error"
	ReasonDryRun         = "dry_run"
	ReasonAvoidedMachine = "avoided_machine"
	ReasonOutbid         = "outbid"
	ReasonFailed         = "failed"
	ReasonStoppedTTL     = "stopped_ttl"
	ReasonMaxInstances   = "max_instances"
	ReasonMaxActions     = "max_actions"
	ReasonReconciling    = "reconciling"
	ReasonJournal        = "journal_error"
	ReasonReservedMarket = "reserved_market"
	ReasonOrphan         = "orphan"
	// ReasonRebid: an outbid instance's bid is raised to the current min_bid within the caps.
	ReasonRebid = "rebid"
	// ReasonListingEnding: the host's listing ends within the margin; the instance is replaced
	// make-before-break (or destroyed at the end when no replacement runs by then).
	ReasonListingEnding = "listing_ending"
	// ReasonRebalance: an equivalent offer is cheaper by at least min_savings; the instance is
	// replaced make-before-break.
	ReasonRebalance = "rebalance"
	// ReasonSavingsBelow: rebalancing is on, but no offer is cheaper by min_savings.
	ReasonSavingsBelow = "savings_below_threshold"
	// ReasonFailedCreate: a create whose reply reported failure still made an instance
	// (new_contract) that is not on its way to running: it is destroyed.
	ReasonFailedCreate = "failed_create"
	// ReasonReplacing: a replacement is in flight; the old instance waits until it runs.
	ReasonReplacing = "replacement_in_flight"
	// ReasonSpread: every offer within the caps would put more of the fleet's instances on one
	// machine, host or country than its spread allows (or is in an unknown country while
	// max_per_country is set).
	ReasonSpread = "spread"
	// ReasonMonthlyBudget: the create would take the projected month-end spend (month-to-date +
	// committed $/h × hours left in the month) of the fleet or the account past its monthly
	// budget, or the month-to-date spend is unknown.
	ReasonMonthlyBudget = "monthly_budget"
	// ReasonDraining: an instance is being drained; it is removed once the webhook answered
	// 2xx (or the drain timeout passed) and the drain delay passed. The removal then carries
	// the reason the drain was for (above_target, rebalance, listing_ending).
	ReasonDraining = "draining"
	// ReasonPriceUnknown: an instance of the fleet lists no sane price (negative, NaN, absurd)
	// and none was journalled at its create, so the fleet's committed spend is unknown; under an
	// account-wide budget such an instance of any fleet, or an orphan, blocks every fleet.
	ReasonPriceUnknown = "price_unknown"
	// ReasonFailureBurst: the fleet's instances failed on at least BurstMachines machines within
	// BurstWindow, the pattern of a platform or image problem: a failed instance is destroyed
	// and replaced, but the machines are not avoided for it.
	ReasonFailureBurst = "failure_burst"
)

// WhyReadinessTimeout is what makes a failed instance failed when it never passed its fleet's
// readiness probe within boot_timeout.
const WhyReadinessTimeout = "readiness_timeout"

// Decision kinds (the `decision` label of vastwatch_scaler_decisions_total).
const (
	DecisionHold      = "hold"
	DecisionScaleUp   = "scale_up"
	DecisionScaleDown = "scale_down"
	DecisionReplace   = "replace"
	DecisionRebid     = "rebid"
	DecisionCleanup   = "cleanup"
	DecisionBlocked   = "blocked"
	DecisionWait      = "wait"
	DecisionSkip      = "skip" // no action at all this cycle (observation failed)
)

// Action is one thing the executor should do, as a value. Create fields are set only for
// KindCreate. Price is the instance's committed $/h (what a create adds, what a destroy frees).
type Action struct {
	Kind       Kind
	Fleet      string
	Reason     string
	Detail     string // free text for humans: "2/3", "exited", …
	InstanceID int64  // start, stop, destroy
	MachineID  int64
	Price      float64

	// Create only.
	Offer   vastapi.Offer
	Nonce   string
	Label   string
	Bid     float64 // the bid sent as price; 0 = on-demand
	Request vastapi.CreateRequest
	// Query re-checks the offer just before renting: the market's query narrowed to the offer.
	Query vastapi.Query
	// Market is the market the offer came from.
	Market string
	// Replaces is the instance a make-before-break create replaces (0: none).
	Replaces int64

	// Drain only: what follows the drain (destroy or stop), the fleet's drain settings and the
	// notice its webhook is sent.
	Then   Kind
	Drain  *policy.Drain
	Notice *DrainNotice
}

// String is one line for logs and `vastwatch plan`, free of secrets.
func (a Action) String() string {
	why := a.Reason
	if a.Detail != "" {
		why += " (" + a.Detail + ")"
	}
	switch a.Kind {
	case KindCreate:
		how := "on-demand"
		if a.Bid > 0 {
			how = fmt.Sprintf("bid $%.4f/h", a.Bid)
		}
		repl := ""
		if a.Replaces != 0 {
			repl = fmt.Sprintf(" replaces=%d", a.Replaces)
		}
		return fmt.Sprintf("create fleet=%s offer=%d machine=%d $%.4f/h %s nonce=%s%s: %s",
			a.Fleet, a.Offer.ID, a.MachineID, a.Price, how, a.Nonce, repl, why)
	case KindDrain:
		return fmt.Sprintf("drain fleet=%s instance=%d machine=%d $%.4f/h, then %s: %s",
			a.Fleet, a.InstanceID, a.MachineID, a.Price, a.Then, why)
	case KindRebid:
		return fmt.Sprintf("rebid fleet=%s instance=%d machine=%d bid $%.4f/h ($%.4f/h committed): %s",
			a.Fleet, a.InstanceID, a.MachineID, a.Bid, a.Price, why)
	default:
		return fmt.Sprintf("%s fleet=%s instance=%d machine=%d $%.4f/h: %s",
			a.Kind, a.Fleet, a.InstanceID, a.MachineID, a.Price, why)
	}
}

// Decision is what the planner decided for a fleet and why.
type Decision struct {
	Fleet    string
	Decision string
	Reason   string
	Detail   string
}

// String is one line for logs and `vastwatch plan`.
func (d Decision) String() string {
	s := fmt.Sprintf("fleet=%s decision=%s reason=%s", d.Fleet, d.Decision, d.Reason)
	if d.Detail != "" {
		s += " (" + d.Detail + ")"
	}
	return s
}

// Managed is one instance of ours as the planner sees it.
type Managed struct {
	Instance *vastapi.Instance // points into the observation
	Fleet    string
	Nonce    string // from the label; "" when owned by journalled id only
	Phase    Phase
	Why      string  // what made a failed instance failed
	Price    float64 // committed $/h
	// Unpriced: the instance lists no sane price and none was journalled, so Price (0) is not
	// what it commits; its fleet (every fleet, under an account-wide budget) creates nothing.
	Unpriced bool
	Orphan   bool
	// Replaces is the instance this one was created to replace make-before-break (0: none).
	Replaces int64
	// Ready: the instance runs and, when its fleet has a readiness probe, its last probe
	// passed. Only ready instances are offered to Prometheus (/sd).
	Ready bool
	// Probe is the instance's last readiness probe (nil: none yet, or no probe configured).
	Probe *ProbeResult
	// Drain is the instance's drain while it is draining (phase draining), else nil.
	Drain *DrainRecord
	// Cold: a stopped instance kept in its fleet's cold pool (cold.go); Price is then its
	// storage, what it commits until started.
	Cold bool

	runPrice    float64 // a cold instance's committed $/h once started
	failedReply bool    // made by a create whose reply reported failure
	country     string  // from the instance's geolocation, else the create record's
}

// FleetStatus is a fleet's state after planning.
type FleetStatus struct {
	Name           string
	Target         int
	Min, Max       int
	Counts         map[Phase]int // managed instances by phase
	PendingCreates int           // journalled creates not listed yet
	// Ready counts the instances that are ready (running and, with a probe, passing it);
	// Draining those being drained (also in Counts[PhaseDraining]).
	Ready, Draining int
	// SpendBefore is the fleet's committed $/h now; SpendAfter once the plan is carried out.
	SpendBefore, SpendAfter float64
	Budget                  float64
	// Burn is what the fleet's instances bill now: running at dph_total, others at storage.
	Burn float64
	// Blocked holds the reasons the target is out of reach; empty when it is not.
	Blocked []string
	// MonthBudget is the fleet's monthly budget ($, 0: none); MonthSpend its committed spend
	// so far this calendar month (UTC); MonthForecast that plus SpendAfter × hours left.
	MonthBudget, MonthSpend, MonthForecast float64
	// Desired says where Target came from: the schedule, or an autoscaled fleet's sources.
	Desired Desired
	// OverBudget says, in words, that the fleet's committed spend is above its hourly budget
	// (a budget lowered below it): no new rentals, existing instances kept. "" when it is not.
	OverBudget string
	// Eligible counts the machines of the fleet's market it could rent on (enough disk, listed
	// for min_duration, within its price caps); Avoided those avoided for it at the end of the
	// plan, at most ⌊avoid.max_share × Eligible⌋; Lapsed the avoidances of eligible machines
	// that lapsed early for it this plan (beyond the share, forgiven in a failure burst, or
	// because only avoided machines fitted while it was below target). docs/design.md §8.
	Eligible, Avoided, Lapsed int
	// Burst counts the machines on which the fleet's instances failed within BurstWindow
	// while they make a failure burst (at least BurstMachines); 0 otherwise.
	Burst int
}

// Result is the plan of one cycle.
type Result struct {
	At        time.Time
	Actions   []Action
	Decisions []Decision
	Fleets    []FleetStatus
	Managed   []Managed
	// Orphans counts managed instances whose fleet left the config, by that fleet's name.
	Orphans map[string]int
	// CommittedBefore/After are the account's committed $/h across all managed instances and
	// pending creates.
	CommittedBefore, CommittedAfter float64
	Credit                          float64
	// Avoided lists the machines not rented on at plan time, soonest release first.
	Avoided []AvoidedMachine
	// AccountMonthSpend is the account's committed spend so far this calendar month (UTC);
	// AccountMonthForecast that plus CommittedAfter × hours left in the month.
	AccountMonthSpend, AccountMonthForecast float64
	// Over holds the account-wide limits passed before this cycle's actions (over.go).
	Over Overs
}

// Fleet returns the status of the named fleet, or nil.
func (r *Result) Fleet(name string) *FleetStatus {
	for i := range r.Fleets {
		if r.Fleets[i].Name == name {
			return &r.Fleets[i]
		}
	}
	return nil
}
