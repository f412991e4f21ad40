package scaler_test

import (
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// A budget lowered below what the fleet commits keeps its instances, rents nothing, and says
// so; likewise the account's cap and the credit floor.
func TestOverALimitIsExplained(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	f := testFleet("f", od, func(f *policy.Fleet) { f.Target, f.Budget = 3, 0.60 })
	cfg := testConfig(f)
	cfg.Account.MaxSpendPerHour = 0.50
	obs := obsOf(5, map[string][]vastapi.Offer{"m": {testOffer(1, 0.10)}},
		testInstance(11, "f", "a", "running", 0.30), testInstance(12, "f", "b", "running", 0.30))
	res := scaler.Plan(t0, obs, cfg, scaler.State{})
	fs := res.Fleet("f")
	if want := "over budget: $0.62/h of $0.60/h, no new rentals; existing instances kept"; fs.OverBudget != want {
		t.Fatalf("fleet says %q, want %q", fs.OverBudget, want)
	}
	if len(res.Actions) != 0 {
		t.Fatalf("actions %v: nothing is rented, and nothing removed for a lowered limit", kinds(res))
	}
	got := strings.Join(res.Explain(cfg.Account.MaxSpendPerHour, cfg.Account.CreditFloor), "\n")
	want := "over the account's spend cap: $0.62/h of $0.50/h, no new rentals; existing instances kept\n" +
		"credit $5.00 is under the floor $10.00: no new rentals; existing instances kept"
	if got != want || !res.Over.SpendCap || !res.Over.CreditFloor {
		t.Fatalf("account says\n%s\nwant\n%s", got, want)
	}
	res = scaler.Plan(t0, obsOf(100, nil), testConfig(testFleet("f", od)), scaler.State{})
	if res.Fleet("f").OverBudget != "" || len(res.Explain(0, 10)) != 0 {
		t.Fatalf("under every limit, nothing is said: %q %q", res.Fleet("f").OverBudget, res.Explain(0, 10))
	}
}
