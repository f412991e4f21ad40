package metrics_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// A market no fleet rents from reaches the metrics as digests; its series must be exactly
// those of the offers the digests were made from.
func TestMarketSnapshotOfDigestsIsTheOffersSnapshot(t *testing.T) {
	sim, err := vastsim.New(vastsim.Options{Clock: clock.NewFake(time.Unix(1.7e9, 0)), Seed: 3, Machines: 400})
	require.NoError(t, err)
	offers := sim.Offers()
	// Nulls and odd values the generator does not make.
	offers[0].Geolocation, offers[1].HostingType, offers[2].GPUIDs = vastapi.Opt[string]{}, vastapi.Opt[int]{}, nil
	offers[3].GPUName, offers[4].DLPerf, offers[5].NumGPUs = "bad \xff name", 0, 0
	digests := make([]scaler.OfferDigest, len(offers))
	for i := range offers {
		digests[i] = scaler.DigestOf(&offers[i])
	}
	for _, tc := range []struct {
		name      string
		groupBy   []string
		maxGroups int
	}{
		{"no group_by", nil, 0},
		{"every group_by label", policy.GroupByLabels, 0},
		{"gpu_name and num_gpus, capped to 10 sets", []string{"gpu_name", "num_gpus"}, 10},
		{"country and datacenter", []string{"country", "datacenter"}, metrics.DefaultMaxGroups},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &policy.Market{Name: "watched", GroupBy: tc.groupBy}
			want := metrics.NewMarketSnapshot(m, offers, tc.maxGroups)
			require.NotEmpty(t, want.Groups)
			require.Equal(t, want, metrics.MarketSnapshotOf(m, digests, tc.maxGroups))
		})
	}
}
