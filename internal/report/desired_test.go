package report

import (
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// DesiredText says each source's inputs and desired size, the combination and the target, as
// vastwatch plan and the status page print them.
func TestDesiredTextSaysEachSource(t *testing.T) {
	at := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		d    scaler.Desired
		want string
	}{
		{"demand", scaler.Desired{Autoscaled: true, HasDemand: true, Demand: 4, DemandValue: 35, Schedule: 1, Raw: 4, Final: 4},
			"demand 4 (value 35), floor 1, combined 4, target 4"},
		{"price curve", scaler.Desired{Autoscaled: true, HasPrice: true, Price: 6, Schedule: 2, Raw: 6, Final: 6},
			"price 6, floor 2, combined 6, target 6"},
		{"both, stabilised", scaler.Desired{Autoscaled: true, HasDemand: true, Demand: 5, DemandValue: 41.5, HasPrice: true, Price: 3, Schedule: 1, Raw: 3, Final: 5},
			"demand 5 (value 41.5), price 3, floor 1, combined 3, target 5 (stabilised)"},
		{"stale, with the last error", scaler.Desired{Autoscaled: true, HasDemand: true, Demand: 2, DemandValue: 17, DemandAt: at, DemandStale: true, DemandErr: "prometheus: 503 Service Unavailable", Schedule: 1, Raw: 2, Final: 2},
			"demand 2 (value 17 stale since 2026-12-06T05:00:00Z, fallback), floor 1, combined 2, target 2; last demand read: prometheus: 503 Service Unavailable"},
		{"no good value yet", scaler.Desired{Autoscaled: true, HasDemand: true, Demand: 2, DemandStale: true, Schedule: 1, Raw: 2, Final: 2},
			"demand 2 (no good value yet, fallback), floor 1, combined 2, target 2"},
	} {
		if got := DesiredText(c.d); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// vastwatch plan prints an autoscaled fleet's desired by source under its target line, and
// nothing of the kind for a plain fleet.
func TestPlanPrintsTheDesiredBySource(t *testing.T) {
	res := scaler.Result{At: time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC), Fleets: []scaler.FleetStatus{
		{Name: "llm", Target: 4, Min: 1, Max: 6, Counts: map[scaler.Phase]int{},
			Desired: scaler.Desired{Autoscaled: true, HasDemand: true, Demand: 4, DemandValue: 35, Schedule: 1, Raw: 4, Final: 4}},
		{Name: "batch", Target: 1, Counts: map[scaler.Phase]int{}, Desired: scaler.Desired{Schedule: 1, Raw: 1, Final: 1}},
	}}
	var b strings.Builder
	if err := Plan(&b, res, nil, policy.Account{}); err != nil {
		t.Fatal(err)
	}
	llm, batch, _ := strings.Cut(b.String(), "fleet batch")
	if !strings.Contains(llm, "\n  desired: demand 4 (value 35), floor 1, combined 4, target 4\n") || strings.Contains(batch, "desired") {
		t.Fatalf("plan:\n%s", b.String())
	}
}
