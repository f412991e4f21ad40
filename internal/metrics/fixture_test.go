package metrics_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

var update = flag.Bool("update", false, "rewrite testdata/*.prom golden files")

var fixedTime = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)

// fixedSnapshot is a small but complete snapshot: two markets with different group_by sets
// (one capped), an account, managed, unmanaged and orphaned instances, a blocked fleet.
func fixedSnapshot() *metrics.Snapshot {
	gpu := &policy.Market{Name: "rtx4090", GroupBy: []string{"gpu_name", "num_gpus"}}
	geo := &policy.Market{Name: "anywhere", GroupBy: []string{"country", "datacenter"}}
	offers := []vastapi.Offer{
		{ID: 1, MachineID: 10, GPUName: "RTX 4090", NumGPUs: 1, GPUIDs: []int64{100}, DphTotal: 0.35, DLPerf: 70,
			Geolocation: vastapi.Some("Quebec, CA"), HostingType: vastapi.Some(0), Verification: "verified"},
		{ID: 2, MachineID: 11, GPUName: "RTX 4090", NumGPUs: 1, GPUIDs: []int64{110}, DphTotal: 0.45, DLPerf: 72,
			Geolocation: vastapi.Some("Sweden, SE"), HostingType: vastapi.Some(1), Verification: "verified"},
		{ID: 3, MachineID: 12, GPUName: "RTX 4090", NumGPUs: 2, GPUIDs: []int64{120, 121}, DphTotal: 0.8, DLPerf: 140,
			Geolocation: vastapi.Some("Quebec, CA"), HostingType: vastapi.Some(0), Verification: "verified"},
		{ID: 4, MachineID: 12, GPUName: "RTX 4090", NumGPUs: 1, GPUIDs: []int64{121}, DphTotal: 0.5, DLPerf: 70,
			Geolocation: vastapi.Some("Quebec, CA"), HostingType: vastapi.Some(0), Verification: "verified"},
		{ID: 5, MachineID: 13, GPUName: "RTX 4090", NumGPUs: 4, GPUIDs: []int64{130, 131, 132, 133}, DphTotal: 1.6, DLPerf: 280,
			Geolocation: vastapi.Opt[string]{}, HostingType: vastapi.Opt[int]{}, Verification: "unverified"},
	}
	return &metrics.Snapshot{
		At: fixedTime,
		Markets: []metrics.MarketSnapshot{
			metrics.NewMarketSnapshot(gpu, offers, 0),
			metrics.NewMarketSnapshot(geo, offers, 2),
		},
		Account: &metrics.AccountSnapshot{Credit: 120, Burn: 1.5, MonthSpend: 310.5, MonthForecast: 322.5,
			MonthCharges: map[string]float64{"gpu": 280.25, "disk": 21.5, "bwd": 3.75},
			CreditFloor:  20, MonthBudget: 400},
		Instances: []metrics.InstanceRow{
			{ID: 9001, Fleet: "inference", MachineID: 10, GPUName: "RTX 4090", NumGPUs: 1, State: "running",
				Price: 0.35, StartTime: fixedTime.Add(-2 * time.Hour), Probed: true, Ready: true, SSHHost: "203.0.113.10", SSHPort: 41022},
			{ID: 9002, Fleet: "inference", MachineID: 11, GPUName: "RTX 4090", NumGPUs: 1, State: "pending",
				Price: 0.45, Probed: true, SSHHost: "ssh4.vast.ai", SSHPort: 11610},
			{ID: 9003, Fleet: "", MachineID: 77, GPUName: "A100 SXM4", NumGPUs: 2, State: "running",
				Price: 2.1, StartTime: fixedTime.Add(-48 * time.Hour)},
			{ID: 9004, Fleet: "retired", MachineID: 78, GPUName: "RTX 3090", NumGPUs: 1, State: "stopped",
				Price: 0.2, StartTime: fixedTime.Add(-72 * time.Hour)},
		},
		Fleets: []metrics.FleetRow{
			{Name: "inference", Target: 3, Min: 1, Max: 6, Spend: 0.8, Budget: 2, AvoidedMachines: 1, OverBudget: true,
				EligibleMachines: 12, EligibleAvoided: 2, BurstMachines: 4,
				MonthSpend: 250.25, MonthForecast: 259.85, MonthBudget: 300},
			{Name: "training", Target: 2, Min: 0, Max: 4, Spend: 0, Budget: 1,
				Blocked:   []string{"price_cap", "no_offers"},
				Desired:   map[string]int{"demand": 2, "price": 4, "schedule": 0, "final": 2},
				HasDemand: true, DemandValue: 15},
		},
		Orphans: map[string]int{"retired": 1},
	}
}

// gatherText is the text exposition of everything g gathers. (testutil.CollectAndFormat
// filters by the names it is given, so without names it returns nothing.)
func gatherText(t *testing.T, g prometheus.Gatherer) []byte {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	var b bytes.Buffer
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&b, mf)
		require.NoError(t, err)
	}
	return b.Bytes()
}

// collectText is the text exposition of one collector, through a pedantic registry.
func collectText(t *testing.T, c prometheus.Collector) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	return gatherText(t, reg)
}

// goldenPath names testdata/name; under -update it first rewrites the file with got. got with testdata/name, or rewrites the file under -update.
func goldenPath(t *testing.T, name string, got []byte) string {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	return path
}

// series parses a text exposition into the set of its samples, "name{l="v",…} value", sorted.
func series(t *testing.T, body []byte) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err)
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var v float64
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				v = float64(m.GetHistogram().GetSampleCount())
			default:
				v = m.GetUntyped().GetValue()
			}
			out[seriesKey(name, m.GetLabel())] = v
		}
	}
	return out
}

func seriesKey(name string, labels []*dto.LabelPair) string {
	var parts []string
	for _, l := range labels {
		parts = append(parts, l.GetName()+"="+`"`+l.GetValue()+`"`)
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// withPrefix lists the series whose key starts with prefix.
func withPrefix(s map[string]float64, prefix string) []string {
	var out []string
	for k := range s {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// containing lists the series whose key contains sub.
func containing(s map[string]float64, sub string) []string {
	var out []string
	for k := range s {
		if strings.Contains(k, sub) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
