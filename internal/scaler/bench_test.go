package scaler_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// benchWorld is 100 fleets over 50,000 offers in markets markets, with 3 instances per fleet
// (some failed, some loading), a third of the fleets below target, a third above, a third
// blocked by a max price below every offer (the worst case: every offer is looked at).
func benchWorld(markets int) (scaler.Observation, *policy.Config) {
	rng := rand.New(rand.NewPCG(1, 2))
	const fleets, offers = 100, 50_000
	obs := scaler.Observation{At: t0, Offers: map[string][]vastapi.Offer{}, User: vastapi.User{Credit: 1e6}}
	var ms []*policy.Market
	for i := range markets {
		m := testMarket(fmt.Sprintf("m%d", i), vastapi.OnDemand)
		ms = append(ms, m)
		list := make([]vastapi.Offer, 0, offers/markets)
		for j := range offers / markets {
			o := testOffer(int64(i*offers+j+1), 0.2+rng.Float64())
			list = append(list, o)
		}
		obs.Offers[m.Name] = list
	}
	var fs []*policy.Fleet
	id := int64(1)
	for i := range fleets {
		f := testFleet(fmt.Sprintf("f%d", i), ms[i%markets], func(f *policy.Fleet) {
			f.Max = 10
			f.Budget = 100
			switch i % 3 {
			case 0:
				f.Target = 6
			case 1:
				f.Target = 1
			case 2:
				f.Target = 6
				f.MaxPrice = 0.1 // below every offer
			}
		})
		fs = append(fs, f)
		for k := range 3 {
			status := []string{"running", "loading", "exited"}[k]
			in := testInstance(id, f.Name, fmt.Sprintf("n%d", id), status, 0.3)
			in.StartDate = float64(t0.Add(-time.Minute).Unix())
			obs.Instances = append(obs.Instances, in)
			id++
		}
	}
	cfg := testConfig(fs...)
	cfg.Account.MaxSpendPerHour = 1e4
	return obs, cfg
}

func BenchmarkPlan(b *testing.B) {
	for _, markets := range []int{1, 10} {
		b.Run(fmt.Sprintf("100fleets_50000offers_%dmarkets", markets), func(b *testing.B) {
			obs, cfg := benchWorld(markets)
			st := scaler.State{PendingGrace: 10 * time.Minute}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r := scaler.Plan(t0, obs, cfg, st)
				if len(r.Actions) == 0 {
					b.Fatal("no actions")
				}
			}
		})
	}
}
