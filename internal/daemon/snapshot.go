package daemon

import (
	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// snapshotOf is the metrics snapshot of one cycle's view, with the price statistics of each
// market's offers (docs/metrics.md).
func snapshotOf(cfg *policy.Config, v *scaler.View, obs *scaler.Observation) *metrics.Snapshot {
	s := &metrics.Snapshot{At: v.At, Orphans: v.Orphans}
	for _, m := range cfg.Markets {
		if _, failed := obs.Failed[m.Name]; failed {
			s.Markets = append(s.Markets, metrics.MarketSnapshot{Name: m.Name, GroupBy: m.GroupBy, SearchFailed: true})
			continue
		}
		s.Markets = append(s.Markets, metrics.MarketSnapshotOf(m, obs.Digests(m.Name), metrics.DefaultMaxGroups))
	}
	for _, iv := range v.Instances {
		in := iv.Instance
		ssh, _ := in.SSH()
		s.Instances = append(s.Instances, metrics.InstanceRow{ID: in.ID, MachineID: in.MachineID,
			GPUName: in.GPUName, NumGPUs: in.NumGPUs, Price: iv.Price, StartTime: iv.Start,
			Fleet: iv.Fleet, State: iv.State, Probed: iv.Probed, Ready: iv.Ready, SSHHost: ssh.Host, SSHPort: ssh.Port})
	}
	s.Account = &metrics.AccountSnapshot{Credit: v.Account.Credit, Burn: v.Account.Burn,
		MonthSpend: v.Account.MonthSpend, MonthForecast: v.Account.MonthForecast,
		OverSpendCap: v.Over.SpendCap, BelowCreditFloor: v.Over.CreditFloor,
		CreditFloor: cfg.Account.CreditFloor, MonthBudget: cfg.Account.MonthlyBudget}
	avoided := v.AvoidedByFleet()
	for _, f := range v.Fleets {
		s.Fleets = append(s.Fleets, metrics.FleetRow{
			Name: f.Name, Target: f.Target, Min: f.Min, Max: f.Max, Spend: f.SpendBefore, Budget: f.Budget,
			Blocked: f.Blocked, AvoidedMachines: avoided[f.Name],
			EligibleMachines: f.Eligible, EligibleAvoided: f.Avoided, BurstMachines: f.Burst,
			MonthSpend: f.MonthSpend, MonthForecast: f.MonthForecast, MonthBudget: f.MonthBudget,
			Desired: desiredBySource(f.Desired), HasDemand: f.Desired.HasDemand && !f.Desired.DemandAt.IsZero(),
			DemandValue: f.Desired.DemandValue, ColdPool: coldPool(cfg, f.Name), OverBudget: f.OverBudget != "",
		})
	}
	return s
}

// desiredBySource is the fleet's desired size by the sources it has.
func desiredBySource(d scaler.Desired) map[string]int {
	out := map[string]int{"schedule": d.Schedule, "final": d.Final}
	if d.HasDemand {
		out["demand"] = d.Demand
	}
	if d.HasPrice {
		out["price"] = d.Price
	}
	return out
}

// coldPool reports whether the named fleet keeps a cold pool.
func coldPool(cfg *policy.Config, fleet string) bool {
	f := cfg.Fleet(fleet)
	return f != nil && f.Cold > 0
}
