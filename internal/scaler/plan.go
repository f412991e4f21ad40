package scaler

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
)

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
		unpriced: make(map[string]bool),
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
	p.applyBill() // bill.go: month-to-date is never below Vast's charges
	p.res.CommittedBefore = p.account
	p.overs()
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

// planner is one Plan: its inputs, the result it builds, and what every fleet's plan shares
// (the account's committed spend, the offers already chosen).
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
	// unpriced holds the fleets (orphans: their old fleets) with an instance whose committed
	// price is unknown (Managed.Unpriced).
	unpriced map[string]bool
	rowCache map[string][]offerRow
	// machineIdx numbers each market's machines (offerRow.mi); eligCache holds the eligible
	// machines per market and fleet shape (avoid.go).
	machineIdx map[string]map[int64]int32
	eligCache  map[eligibleKey]*eligibleSet
	seq        int
	// hoursLeft is the time left in now's calendar month (UTC); monthFleets and monthAccount
	// the spend so far this month.
	hoursLeft    float64
	monthFleets  map[string]float64
	monthAccount float64
}

// planFleet plans one fleet rule by rule. Each rule reads the fleet's sets as the rules before
// it left them and narrows them in turn; their order is the order of the fleet's actions and
// decisions.
func (p *planner) planFleet(f *policy.Fleet) {
	fp := p.newFleetPlan(f)
	if fp.holdForFailedSearch() { // search_failed.go: no action on half a view
		p.res.Fleets = append(p.res.Fleets, fp.finish())
		return
	}
	fp.repair()        // repair.go: failed, failed creates, outbid, replaced, draining
	fp.size()          // size.go: scale up, hold, scale down
	fp.expireStopped() // stopped_ttl.go
	fp.move()          // replace.go: a listing about to end, then rebalance
	if fp.limited {
		fp.decide(DecisionWait, ReasonMaxActions, fmt.Sprintf("%d actions", fp.actions))
	}
	p.res.Fleets = append(p.res.Fleets, fp.finish())
}

func (p *planner) decide(f string, decision, reason, detail string) {
	p.res.Decisions = append(p.res.Decisions, Decision{Fleet: f, Decision: decision, Reason: reason, Detail: detail})
}

// order puts what frees money and capacity first: destroys, stops and drains, then what spends
// again (rebids and starts), then creates. The executor skips what spends when an earlier
// destroy or stop failed.
func (p *planner) order() {
	rank := map[Kind]int{KindDestroy: 0, KindStop: 1, KindDrain: 1, KindRebid: 2, KindStart: 2, KindCreate: 3}
	slices.SortStableFunc(p.res.Actions, func(a, b Action) int { return cmp.Compare(rank[a.Kind], rank[b.Kind]) })
}
