package metrics_test

import (
	"slices"
	"testing"

	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// FuzzMarketStatistics builds a market from arbitrary bytes (three per offer: machine, price,
// a bitmask of the machine's 8 GPUs) and checks what must hold for any search: percentiles
// never decrease, p0 and p100 are the extreme prices, every per-GPU percentile is the per-GPU
// price of some offer, and the offer counts add up.
func FuzzMarketStatistics(f *testing.F) {
	f.Add([]byte{1, 10, 0xff, 1, 6, 0x0f, 1, 2, 0x01, 2, 1, 0x01})
	f.Add([]byte{3, 0, 0, 3, 5, 0x03, 3, 9, 0x06})
	f.Fuzz(func(t *testing.T, data []byte) {
		var offers []vastapi.Offer
		for i := 0; i+2 < len(data); i += 3 {
			var ids []int64
			for b := range 8 {
				if data[i+2]&(1<<b) != 0 {
					ids = append(ids, int64(b))
				}
			}
			offers = append(offers, vastapi.Offer{ID: int64(i), MachineID: int64(data[i] % 4),
				DphTotal: float64(data[i+1]) / 10, NumGPUs: len(ids), GPUIDs: ids, DLPerf: 10,
				GPUName: []string{"A", "B"}[data[i]%2]})
		}
		m := &policy.Market{Name: "f", GroupBy: []string{"gpu_name"}}
		ms := metrics.NewMarketSnapshot(m, offers, 0)
		total := 0
		for _, g := range ms.Groups {
			total += g.Offers
			var prices, perGPU []float64
			for _, o := range offers {
				if o.GPUName != g.Labels[0] {
					continue
				}
				prices = append(prices, o.DphTotal)
				if o.NumGPUs > 0 {
					perGPU = append(perGPU, o.DphTotal/float64(o.NumGPUs))
				}
			}
			for _, p := range []metrics.Percentiles{g.Price, g.GPUPrice, g.DLPerfPerDollar} {
				if p.Valid && !slices.IsSorted(p.Values[:]) {
					t.Fatalf("percentiles decrease: %v", p.Values)
				}
			}
			if !g.Price.Valid || g.Price.Values[0] != slices.Min(prices) || g.Price.Values[4] != slices.Max(prices) {
				t.Fatalf("price p0/p100 %v, prices %v", g.Price, prices)
			}
			if g.GPUPrice.Valid != (len(perGPU) > 0) {
				t.Fatalf("gpu price valid %v with %d priced offers", g.GPUPrice.Valid, len(perGPU))
			}
			for _, v := range g.GPUPrice.Values[:] {
				if g.GPUPrice.Valid && !slices.Contains(perGPU, v) {
					t.Fatalf("gpu percentile %v is no offer's per-GPU price %v", v, perGPU)
				}
			}
		}
		if total != len(offers) {
			t.Fatalf("groups count %d offers, search had %d", total, len(offers))
		}
	})
}
