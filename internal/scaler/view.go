package scaler

import (
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// View is one cycle as every reader shows it: the metrics snapshot, the status page and /sd are
// all built from it, so they cannot disagree about an instance's fleet, state or price, or an
// account's burn (docs/design.md §4). It holds no offers and no secret.
type View struct {
	At        time.Time
	Account   AccountView
	Instances []InstanceView
	Fleets    []FleetStatus
	// Orphans counts managed instances whose fleet left the config, by that fleet's name.
	Orphans map[string]int
	// Avoided are the machines being avoided at the end of the cycle, soonest release first.
	Avoided   []AvoidedMachine
	Decisions []Decision
	Outcomes  []ActionOutcome
	// Over holds the account-wide limits passed, and Explained says so in words.
	Over      Overs
	Explained []string
}

// AccountView is the account's money as of the cycle (docs/design.md §5).
type AccountView struct {
	Credit float64
	// Burn is what the account pays now; Committed what every managed instance and pending
	// create commits before this cycle's actions.
	Burn, Committed float64
	// MonthSpend is the committed spend so far this month; MonthForecast that plus the
	// committed rate after this cycle's actions until the month ends.
	MonthSpend, MonthForecast float64
}

// StateCold is how a stopped instance of a fleet's cold pool shows in the view (and
// vast_instances): stopped on purpose, committing only its storage, the first to start.
const StateCold = "cold"

// InstanceView is one listed instance: ours with its fleet and phase, or anyone's with the phase
// its status maps to.
type InstanceView struct {
	Instance *vastapi.Instance
	// Managed is our record of the instance; nil when it is not ours.
	Managed *Managed
	// Fleet is "" when the instance is not ours; State is its phase's name.
	Fleet, State string
	// Price is what it commits: the locked or bid price for ours, dph_total for anyone's.
	Price float64
	Start time.Time
	// Probed says the instance's fleet has a readiness probe; Ready that it is running and
	// passing it (or running, in a fleet without one), and not draining.
	Probed, Ready bool
}

// NewView builds the view of one cycle's report under cfg. avoided are the machines avoided
// at the end of the cycle (the plan's, when nothing was executed).
func NewView(cfg *policy.Config, rep *CycleReport, avoided []AvoidedMachine) *View {
	obs := &rep.Observation
	v := &View{At: rep.At, Fleets: rep.Plan.Fleets, Orphans: rep.Plan.Orphans, Avoided: avoided,
		Decisions: rep.Plan.Decisions, Outcomes: rep.Outcomes}
	v.Over, v.Explained = rep.Plan.Over, rep.Plan.Explain(cfg.Account.MaxSpendPerHour, cfg.Account.CreditFloor)
	v.Account = AccountView{Credit: obs.User.Credit, Committed: rep.Plan.CommittedBefore,
		MonthSpend: rep.Plan.AccountMonthSpend, MonthForecast: rep.Plan.AccountMonthForecast}
	probed := make(map[string]bool, len(cfg.Fleets))
	for _, f := range cfg.Fleets {
		probed[f.Name] = f.Readiness != nil
	}
	managed := make(map[int64]*Managed, len(rep.Plan.Managed))
	for i := range rep.Plan.Managed {
		managed[rep.Plan.Managed[i].Instance.ID] = &rep.Plan.Managed[i]
	}
	v.Instances = make([]InstanceView, 0, len(obs.Instances))
	for i := range obs.Instances {
		in := &obs.Instances[i]
		v.Account.Burn += Burn(in)
		iv := InstanceView{Instance: in, Price: in.DphTotal}
		if in.StartDate > 0 {
			iv.Start = time.Unix(0, int64(in.StartDate*1e9))
		}
		if m, ok := managed[in.ID]; ok {
			iv.Managed, iv.Fleet, iv.State, iv.Price = m, m.Fleet, string(m.Phase), m.Price
			iv.Probed, iv.Ready = probed[m.Fleet], m.Ready
			if m.Cold {
				iv.State = StateCold
			}
		} else {
			p, _ := Classify(in, rep.At, time.Time{}, 0, false)
			iv.State = string(p)
		}
		v.Instances = append(v.Instances, iv)
	}
	return v
}

// AvoidedByFleet counts the avoided machines by the fleet whose instance failed there last.
func (v *View) AvoidedByFleet() map[string]int {
	out := map[string]int{}
	for _, a := range v.Avoided {
		out[a.Fleet]++
	}
	return out
}
