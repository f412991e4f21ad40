package report

import (
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// TestPlanSaysHowManyEligibleMachinesAreAvoided: each fleet's block says "N of M eligible
// machines avoided" and, in a failure burst, that it is one (docs/design.md §8).
func TestPlanSaysHowManyEligibleMachinesAreAvoided(t *testing.T) {
	res := scaler.Result{At: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Fleets: []scaler.FleetStatus{
		{Name: "web", Target: 3, Eligible: 12, Avoided: 2, Lapsed: 1, Burst: 4, Counts: map[scaler.Phase]int{}},
		{Name: "batch", Target: 1, Eligible: 5, Counts: map[scaler.Phase]int{}},
	}}
	var b strings.Builder
	if err := Plan(&b, res, nil, policy.Account{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	web, batch, _ := strings.Cut(out, "fleet batch")
	for _, want := range []string{"  2 of 12 eligible machines avoided (1 lapsed early)\n",
		"  failure burst: 4 machines within 10 minutes, likely a platform or image problem; machines not avoided\n"} {
		if !strings.Contains(web, want) {
			t.Errorf("fleet web lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(batch, "  0 of 5 eligible machines avoided\n") || strings.Contains(batch, "burst") {
		t.Errorf("fleet batch:\n%s", out)
	}
}
