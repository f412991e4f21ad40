package metrics_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// offer builds a test offer: id, machine, price (dph_total), GPU ids (num_gpus = len(ids)).
func offer(id, machine int64, price float64, gpuIDs ...int64) vastapi.Offer {
	return vastapi.Offer{ID: id, MachineID: machine, DphTotal: price, NumGPUs: len(gpuIDs),
		GPUIDs: gpuIDs, GPUName: "RTX 4090"}
}

func pct(p0, p10, p50, p90, p100 float64) metrics.Percentiles {
	return metrics.Percentiles{Valid: true, Values: [5]float64{p0, p10, p50, p90, p100}}
}

func single(t *testing.T, offers []vastapi.Offer) metrics.GroupStats {
	t.Helper()
	ms := metrics.NewMarketSnapshot(&policy.Market{Name: "m"}, offers, 0)
	require.Len(t, ms.Groups, 1)
	return ms.Groups[0]
}

// Every expectation below is computed by hand: sort the values, repeat each by its weight,
// take the element at rank ceil(p/100 × total weight), rank at least 1.
func TestPercentilesAreNearestRank(t *testing.T) {
	tests := []struct {
		name   string
		prices []float64
		want   metrics.Percentiles
	}{
		{"ten offers 1..10: p10 is the first, p90 the ninth", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1},
			pct(1, 1, 5, 9, 10)},
		{"three offers: ranks 1,1,2,3,3", []float64{0.3, 0.1, 0.2}, pct(0.1, 0.1, 0.2, 0.3, 0.3)},
		{"one offer is every percentile", []float64{0.42}, pct(0.42, 0.42, 0.42, 0.42, 0.42)},
		{"eleven offers: p10 rank 2, p50 rank 6, p90 rank 10", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
			pct(1, 2, 6, 10, 11)},
		{"ties keep their multiplicity", []float64{1, 1, 1, 1, 5}, pct(1, 1, 1, 5, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var offers []vastapi.Offer
			for i, p := range tt.prices {
				offers = append(offers, offer(int64(i+1), int64(100+i), p, int64(1000+i)))
			}
			g := single(t, offers)
			assert.Equal(t, len(tt.prices), g.Offers)
			assert.Equal(t, tt.want, g.Price)
		})
	}
}

func TestGPUPricesAreWeightedByGPUsAndCountSharedGPUsOnce(t *testing.T) {
	tests := []struct {
		name      string
		offers    []vastapi.Offer
		wantGPU   metrics.Percentiles
		wantPrice metrics.Percentiles
	}{
		{
			// per GPU: .2×1, .4×1, .6×2, .8×4 (W=8): p10 rank 1, p50 rank 4, p90 rank 8.
			// Unweighted the median would be .4.
			name: "each offer weighs its GPU count",
			offers: []vastapi.Offer{
				offer(1, 10, 0.2, 1), offer(2, 11, 0.4, 2),
				offer(3, 12, 1.2, 3, 4), offer(4, 13, 3.2, 5, 6, 7, 8),
			},
			wantGPU:   pct(0.2, 0.2, 0.6, 0.8, 0.8),
			wantPrice: pct(0.2, 0.2, 0.4, 3.2, 3.2),
		},
		{
			// Machine 20's 8-GPU offer (.5/GPU) stands for its 4- and 1-GPU chunks: .1×1, .5×8
			// (W=9): p10 rank 1, p50 rank 5, p90 rank 9. Counting every chunk would give
			// .1, .5×8, .6×4, .9 (W=14) with p90 .6 and p100 .9.
			name: "overlapping chunks of one machine count once, at the largest offer's price",
			offers: []vastapi.Offer{
				offer(1, 20, 4.0, 0, 1, 2, 3, 4, 5, 6, 7),
				offer(2, 20, 2.4, 0, 1, 2, 3),
				offer(3, 20, 0.9, 0),
				offer(4, 21, 0.1, 100),
			},
			wantGPU: pct(0.1, 0.1, 0.5, 0.5, 0.5),
			// whole-offer prices still count every offer once: .1 .9 2.4 4.0
			wantPrice: pct(0.1, 0.1, 0.9, 4.0, 4.0),
		},
		{
			// {0,1} and {1,2} chain into one cluster of 3 GPUs; both have 2 GPUs, so the lower
			// id (5, .5/GPU) stands for them: .5×3.
			name: "a chain of overlaps is one cluster of its distinct GPUs",
			offers: []vastapi.Offer{
				offer(6, 30, 1.6, 1, 2),
				offer(5, 30, 1.0, 0, 1),
			},
			wantGPU:   pct(0.5, 0.5, 0.5, 0.5, 0.5),
			wantPrice: pct(1.0, 1.0, 1.0, 1.6, 1.6),
		},
		{
			// Same GPU ids on different machines are different GPUs: .2×1, .4×1 (W=2).
			name: "gpu ids only overlap within one machine",
			offers: []vastapi.Offer{
				offer(1, 40, 0.2, 0),
				offer(2, 41, 0.4, 0),
			},
			wantGPU:   pct(0.2, 0.2, 0.2, 0.4, 0.4),
			wantPrice: pct(0.2, 0.2, 0.2, 0.4, 0.4),
		},
		{
			// Disjoint chunks of one machine do not overlap: .3×2, .35×2 (W=4); p50 rank 2.
			name: "disjoint chunks of one machine both count",
			offers: []vastapi.Offer{
				offer(1, 50, 0.6, 0, 1),
				offer(2, 50, 0.7, 2, 3),
			},
			wantGPU:   pct(0.3, 0.3, 0.3, 0.35, 0.35),
			wantPrice: pct(0.6, 0.6, 0.6, 0.7, 0.7),
		},
		{
			// Without gpu_ids an offer weighs num_gpus and shares nothing: .25×4, .5×1 (W=5).
			name: "offers without gpu ids weigh num_gpus",
			offers: []vastapi.Offer{
				{ID: 1, MachineID: 60, DphTotal: 1.0, NumGPUs: 4},
				{ID: 2, MachineID: 60, DphTotal: 0.5, NumGPUs: 1},
			},
			wantGPU:   pct(0.25, 0.25, 0.25, 0.5, 0.5),
			wantPrice: pct(0.5, 0.5, 0.5, 1.0, 1.0),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := single(t, tt.offers)
			assertPercentiles(t, tt.wantGPU, g.GPUPrice, "gpu price")
			assertPercentiles(t, tt.wantPrice, g.Price, "price")
		})
	}
}

func assertPercentiles(t *testing.T, want, got metrics.Percentiles, what string) {
	t.Helper()
	require.Equal(t, want.Valid, got.Valid, what)
	for i := range want.Values {
		assert.InDelta(t, want.Values[i], got.Values[i], 1e-12, "%s p%d", what, metrics.Percents[i])
	}
}

func TestDLPerfPerDollarSkipsOffersWithoutScoreOrPrice(t *testing.T) {
	offers := []vastapi.Offer{
		{ID: 1, MachineID: 1, NumGPUs: 1, DphTotal: 0.5, DLPerf: 10},  // 20
		{ID: 2, MachineID: 2, NumGPUs: 1, DphTotal: 0.25, DLPerf: 10}, // 40
		{ID: 3, MachineID: 3, NumGPUs: 1, DphTotal: 1, DLPerf: 0},     // no score: left out
		{ID: 4, MachineID: 4, NumGPUs: 1, DphTotal: 0, DLPerf: 10},    // no price: left out
	}
	g := single(t, offers)
	assert.Equal(t, 4, g.Offers)
	assertPercentiles(t, pct(20, 20, 20, 40, 40), g.DLPerfPerDollar, "dlperf per dollar")
}

func TestGroupsWithoutGPUsHaveNoGPUPrice(t *testing.T) {
	g := single(t, []vastapi.Offer{{ID: 1, MachineID: 1, DphTotal: 0.1}})
	assert.False(t, g.GPUPrice.Valid)
	assert.True(t, g.Price.Valid)
}

func TestGroupLabels(t *testing.T) {
	o := vastapi.Offer{GPUName: "RTX 4090", NumGPUs: 2, GPUArch: "nvidia", Verification: "verified",
		Geolocation: vastapi.Some("Quebec, CA"), HostingType: vastapi.Some(1)}
	tests := []struct {
		name  string
		label string
		edit  func(*vastapi.Offer)
		want  string
	}{
		{"gpu_name as sent", "gpu_name", nil, "RTX 4090"},
		{"num_gpus in decimal", "num_gpus", nil, "2"},
		{"gpu_arch as sent", "gpu_arch", nil, "nvidia"},
		{"verification as sent", "verification", nil, "verified"},
		{"country from the Region, CC suffix", "country", nil, "CA"},
		{"country with an empty region", "country", func(o *vastapi.Offer) { o.Geolocation = vastapi.Some(", US") }, "US"},
		{"country as a bare code", "country", func(o *vastapi.Offer) { o.Geolocation = vastapi.Some("se") }, "SE"},
		{"country of a null geolocation is empty", "country", func(o *vastapi.Offer) { o.Geolocation = vastapi.Opt[string]{} }, ""},
		{"country without a code is empty", "country", func(o *vastapi.Offer) { o.Geolocation = vastapi.Some("Somewhere") }, ""},
		{"datacenter for hosting_type 1", "datacenter", nil, "true"},
		{"not a datacenter for hosting_type 0", "datacenter", func(o *vastapi.Offer) { o.HostingType = vastapi.Some(0) }, "false"},
		{"datacenter unknown for a null hosting_type", "datacenter", func(o *vastapi.Offer) { o.HostingType = vastapi.Opt[int]{} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := o
			if tt.edit != nil {
				tt.edit(&c)
			}
			assert.Equal(t, tt.want, metrics.GroupLabel(&c, tt.label))
		})
	}
	for _, l := range policy.GroupByLabels {
		assert.NotEmpty(t, metrics.GroupLabel(&o, l), "every allowed group_by label has a value: %s", l)
	}
}

func TestMarketGroupsAndCap(t *testing.T) {
	m := &policy.Market{Name: "m", GroupBy: []string{"gpu_name", "num_gpus"}}
	mk := func(id int64, name string, gpus int) vastapi.Offer {
		return vastapi.Offer{ID: id, MachineID: id, GPUName: name, NumGPUs: gpus, DphTotal: float64(id)}
	}
	offers := []vastapi.Offer{
		mk(1, "A100", 1), mk(2, "A100", 1), mk(3, "A100", 1),
		mk(4, "RTX 4090", 1), mk(5, "RTX 4090", 1),
		mk(6, "RTX 3090", 2),
		mk(7, "H100", 8), mk(8, "H100", 8),
	}
	t.Run("groups are sorted by label values and count their offers", func(t *testing.T) {
		ms := metrics.NewMarketSnapshot(m, offers, 0)
		var got [][]string
		for _, g := range ms.Groups {
			got = append(got, append(g.Labels, string(rune('0'+g.Offers))))
		}
		assert.Equal(t, [][]string{
			{"A100", "1", "3"}, {"H100", "8", "2"}, {"RTX 3090", "2", "1"}, {"RTX 4090", "1", "2"},
		}, got)
		assert.Zero(t, ms.DroppedGroups)
	})
	t.Run("the cap keeps the largest groups, ties by labels, and counts the rest", func(t *testing.T) {
		ms := metrics.NewMarketSnapshot(m, offers, 2)
		require.Len(t, ms.Groups, 2)
		assert.Equal(t, []string{"A100", "1"}, ms.Groups[0].Labels)
		assert.Equal(t, []string{"H100", "8"}, ms.Groups[1].Labels) // H100 and RTX 4090 tie at 2
		assert.Equal(t, 2, ms.DroppedGroups)
	})
	t.Run("no group_by is one group of every offer", func(t *testing.T) {
		ms := metrics.NewMarketSnapshot(&policy.Market{Name: "all"}, offers, 1)
		require.Len(t, ms.Groups, 1)
		assert.Equal(t, len(offers), ms.Groups[0].Offers)
		assert.Empty(t, ms.Groups[0].Labels)
	})
	t.Run("an empty search has no groups", func(t *testing.T) {
		ms := metrics.NewMarketSnapshot(m, nil, 10)
		assert.Empty(t, ms.Groups)
	})
}

func TestRunway(t *testing.T) {
	tests := []struct {
		name   string
		a      metrics.AccountSnapshot
		want   float64 // seconds
		wantOK bool
	}{
		{"credit over burn per hour", metrics.AccountSnapshot{Credit: 10, Burn: 2}, 5 * 3600, true},
		{"absent while burn is 0", metrics.AccountSnapshot{Credit: 10}, 0, false},
		{"negative credit is no runway", metrics.AccountSnapshot{Credit: -1, Burn: 2}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := tt.a.Runway()
			assert.Equal(t, tt.wantOK, ok)
			assert.InDelta(t, tt.want, d.Seconds(), 1e-6)
		})
	}
}
