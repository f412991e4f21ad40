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
		s.Markets = append(s.Markets, metrics.MarketSnapshotOf(m, obs.Digests(m.Name), metrics.DefaultMaxGroups))
	}
	for _, iv := range v.Instances {
		in := iv.Instance
		s.Instances = append(s.Instances, metrics.InstanceRow{ID: in.ID, MachineID: in.MachineID,
			GPUName: in.GPUName, NumGPUs: in.NumGPUs, Price: iv.Price, StartTime: iv.Start,
			Fleet: iv.Fleet, State: iv.State, Probed: iv.Probed, Ready: iv.Ready})
	}
	s.Account = &metrics.AccountSnapshot{Credit: v.Account.Credit, Burn: v.Account.Burn,
		MonthSpend: v.Account.MonthSpend, MonthForecast: v.Account.MonthForecast}
	avoided := v.AvoidedByFleet()
	for _, f := range v.Fleets {
		s.Fleets = append(s.Fleets, metrics.FleetRow{
			Name: f.Name, Target: f.Target, Min: f.Min, Max: f.Max, Spend: f.SpendBefore, Budget: f.Budget,
			Blocked: f.Blocked, AvoidedMachines: avoided[f.Name],
			EligibleMachines: f.Eligible, EligibleAvoided: f.Avoided, BurstMachines: f.Burst,
			MonthSpend: f.MonthSpend, MonthForecast: f.MonthForecast,
		})
	}
	return s
}
