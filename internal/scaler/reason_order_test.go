package scaler_test

import (
	"slices"
	"testing"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// onMachine is testOffer on a given machine.
func onMachine(o vastapi.Offer, machine int64) vastapi.Offer {
	o.MachineID = machine
	return o
}

// A blocked fleet names the constraint that binds, in the order docs/design.md §8 gives: the
// money limits win over the spread when some offer the fleet could place costs too much; the
// spread is named only when every offer it could pay for sits where it may not go.
func TestABlockedFleetNamesTheConstraintThatBinds(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	// One instance on machine 1011 commits $0.41/h; one per machine.
	spread := func(budget float64) *policy.Fleet {
		return testFleet("f", od, func(f *policy.Fleet) {
			f.Target, f.Budget = 2, budget
			f.Spread = policy.Spread{MaxPerMachine: 1}
		})
	}
	running := testInstance(11, "f", "a", "running", 0.40)
	cases := []struct {
		name   string
		fleet  *policy.Fleet
		offers []vastapi.Offer
		want   string
	}{
		{"cheap offers only on the used machine, dearer ones over the budget: budget",
			spread(0.60), []vastapi.Offer{onMachine(testOffer(1, 0.10), 1011), testOffer(2, 0.30)}, scaler.ReasonBudget},
		{"cheap offers only on the used machine, nothing else: spread",
			spread(0.60), []vastapi.Offer{onMachine(testOffer(1, 0.10), 1011)}, scaler.ReasonSpread},
		{"the used machine's offer fits, the others are over the price cap: spread",
			spread(5), []vastapi.Offer{onMachine(testOffer(1, 0.10), 1011), testOffer(2, 1.50)}, scaler.ReasonSpread},
		{"every offer over the price cap: price_cap",
			spread(5), []vastapi.Offer{testOffer(1, 1.50), onMachine(testOffer(2, 1.20), 1011)}, scaler.ReasonPriceCap},
		{"placeable offers over the account cap: account_cap",
			testFleet("f", od, func(f *policy.Fleet) { f.Target, f.Spread = 2, policy.Spread{MaxPerMachine: 1} }),
			[]vastapi.Offer{onMachine(testOffer(1, 0.05), 1011), testOffer(2, 0.30)}, scaler.ReasonAccountCap},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(c.fleet)
			cfg.Account.MaxSpendPerHour = 0.60
			if c.want != scaler.ReasonAccountCap {
				cfg.Account.MaxSpendPerHour = 0
			}
			res := scaler.Plan(t0, obsOf(100, map[string][]vastapi.Offer{"m": c.offers}, running), cfg, scaler.State{})
			if got := res.Fleet("f").Blocked; !slices.Equal(got, []string{c.want}) {
				t.Fatalf("blocked %v, want [%s]; actions %v", got, c.want, kinds(res))
			}
		})
	}
}
