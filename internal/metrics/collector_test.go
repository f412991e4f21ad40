package metrics_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

func TestSnapshotGolden(t *testing.T) {
	c := metrics.NewCollector(fixedSnapshot())
	f, err := os.Open(goldenPath(t, "snapshot.prom", collectText(t, c)))
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, testutil.CollectAndCompare(c, f))
}

// selfExporter is an exporter on a fresh registry after a fixed sequence of events.
func selfExporter() (*metrics.Exporter, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	e := metrics.New(reg, metrics.BuildInfo{Version: "1.2.3", Revision: "abc123", Branch: "main", GoVersion: "go1.26.8", GoOS: "linux", GoArch: "arm64", Tags: "unknown"}, nil)
	e.ObserveRequest(vastapi.RequestInfo{Method: "POST", Endpoint: vastapi.EPSearch, Code: 200, Duration: 700 * time.Millisecond, Attempt: 1})
	e.ObserveRequest(vastapi.RequestInfo{Method: "GET", Endpoint: vastapi.EPListV1, Code: 429, Duration: 40 * time.Millisecond, Attempt: 1})
	e.ObserveRequest(vastapi.RequestInfo{Method: "GET", Endpoint: vastapi.EPListV1, Code: 200, Duration: 90 * time.Millisecond, Attempt: 2})
	e.ObserveRequest(vastapi.RequestInfo{Method: "DELETE", Endpoint: vastapi.EPDestroy, Code: 0, Duration: 30 * time.Second, Attempt: 1})
	e.CountAction("inference", "create", "ok")
	e.CountAction("inference", "create", "dry_run")
	e.CountDecision("inference", "scale_up", "below_target")
	e.CountDecision("inference", "scale_up", "below_target")
	e.AddFleetCost("inference", 0.25)
	e.AddFleetCost("inference", 0.5)
	e.AddFleetCost("inference", -3) // ignored: a counter only grows
	e.SetPoll(true, fixedTime)
	e.SetPoll(false, fixedTime.Add(time.Minute)) // the last-success timestamp stays
	e.SetReload(true, fixedTime.Add(-time.Hour))
	e.SetReload(false, fixedTime) // likewise
	return e, reg
}

func TestSelfMetricsGolden(t *testing.T) {
	_, reg := selfExporter()
	f, err := os.Open(goldenPath(t, "self.prom", gatherText(t, reg)))
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, testutil.GatherAndCompare(reg, f))
}

func TestLintFindsNothing(t *testing.T) {
	t.Run("snapshot metrics", func(t *testing.T) {
		problems, err := testutil.CollectAndLint(metrics.NewCollector(fixedSnapshot()))
		require.NoError(t, err)
		assert.Empty(t, problems)
	})
	t.Run("self-metrics", func(t *testing.T) {
		_, reg := selfExporter()
		problems, err := testutil.GatherAndLint(reg)
		require.NoError(t, err)
		assert.Empty(t, problems)
	})
}

func TestPollAndReloadStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := metrics.New(reg, metrics.BuildInfo{}, nil)
	get := func(name string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatalf("%s not exported", name)
		return 0
	}
	t.Run("leader is 1 while election is off", func(t *testing.T) {
		assert.Equal(t, 1.0, get("vastwatch_leader"))
	})
	t.Run("losing leadership exports 0", func(t *testing.T) {
		e.SetLeader(false)
		assert.Equal(t, 0.0, get("vastwatch_leader"))
		e.SetLeader(true)
		assert.Equal(t, 1.0, get("vastwatch_leader"))
	})
	t.Run("a failed poll keeps the last success timestamp", func(t *testing.T) {
		e.SetPoll(true, fixedTime)
		assert.Equal(t, 1.0, get("vastwatch_poll_success"))
		e.SetPoll(false, fixedTime.Add(time.Minute))
		assert.Equal(t, 0.0, get("vastwatch_poll_success"))
		assert.Equal(t, float64(fixedTime.Unix()), get("vastwatch_last_poll_success_timestamp_seconds"))
	})
	t.Run("a failed reload keeps the last success timestamp", func(t *testing.T) {
		e.SetReload(true, fixedTime)
		e.SetReload(false, fixedTime.Add(time.Minute))
		assert.Equal(t, 0.0, get("vastwatch_config_last_reload_successful"))
		assert.Equal(t, float64(fixedTime.Unix()), get("vastwatch_config_last_reload_successful_timestamp_seconds"))
	})
}

func TestSnapshotRows(t *testing.T) {
	collect := func(s *metrics.Snapshot) map[string]float64 {
		t.Helper()
		return series(t, collectText(t, metrics.NewCollector(s)))
	}
	t.Run("runway is absent while burn is 0", func(t *testing.T) {
		s := collect(&metrics.Snapshot{Account: &metrics.AccountSnapshot{Credit: 50}})
		assert.Equal(t, 50.0, s["vast_account_credit_dollars{}"])
		assert.Contains(t, s, "vast_account_spend_dollars_per_hour{}")
		assert.NotContains(t, s, "vast_account_runway_seconds{}")
	})
	t.Run("runway is credit over burn in seconds", func(t *testing.T) {
		s := collect(&metrics.Snapshot{Account: &metrics.AccountSnapshot{Credit: 50, Burn: 2}})
		assert.Equal(t, 25.0*3600, s["vast_account_runway_seconds{}"])
	})
	t.Run("no account, no account series", func(t *testing.T) {
		s := collect(&metrics.Snapshot{})
		assert.Empty(t, withPrefix(s, "vast_account_"))
	})
	t.Run("configured fleets export every phase, zero included", func(t *testing.T) {
		s := collect(fixedSnapshot())
		assert.Equal(t, 1.0, s[`vast_instances{fleet="inference",state="running"}`])
		assert.Equal(t, 1.0, s[`vast_instances{fleet="inference",state="pending"}`])
		assert.Equal(t, 0.0, s[`vast_instances{fleet="training",state="running"}`])
		assert.Len(t, withPrefix(s, `vast_instances{fleet="training"`), len(metrics.Phases))
		assert.Equal(t, 1.0, s[`vast_instances{fleet="",state="running"}`])
		assert.Equal(t, []string{`vast_instances{fleet="",state="running"}`}, withPrefix(s, `vast_instances{fleet="",`))
	})
	t.Run("a fleet with a cold pool exports its cold instances, zero included", func(t *testing.T) {
		s := collect(&metrics.Snapshot{Fleets: []metrics.FleetRow{{Name: "a", ColdPool: true}, {Name: "b"}},
			Instances: []metrics.InstanceRow{{ID: 7, Fleet: "a", State: "cold", Price: 0.01}}})
		assert.Equal(t, 1.0, s[`vast_instances{fleet="a",state="cold"}`])
		assert.Len(t, withPrefix(s, `vast_instances{fleet="a"`), len(metrics.Phases)+1)
		assert.NotContains(t, s, `vast_instances{fleet="b",state="cold"}`)
	})
	t.Run("desired sizes by source and the demand value", func(t *testing.T) {
		s := collect(fixedSnapshot())
		assert.Equal(t, 2.0, s[`vastwatch_fleet_desired_instances{fleet="training",source="demand"}`])
		assert.Equal(t, 4.0, s[`vastwatch_fleet_desired_instances{fleet="training",source="price"}`])
		assert.Equal(t, 2.0, s[`vastwatch_fleet_desired_instances{fleet="training",source="final"}`])
		assert.Equal(t, 15.0, s[`vastwatch_fleet_demand_value{fleet="training"}`])
		assert.NotContains(t, s, `vastwatch_fleet_demand_value{fleet="inference"}`)
	})
	t.Run("rows repeating an identity are skipped, the first wins", func(t *testing.T) {
		s := collect(&metrics.Snapshot{
			Instances: []metrics.InstanceRow{{ID: 1, State: "running", Price: 1}, {ID: 1, State: "failed", Price: 2}},
			Fleets:    []metrics.FleetRow{{Name: "a", Target: 1}, {Name: "a", Target: 5}},
			Markets:   []metrics.MarketSnapshot{{Name: "m"}, {Name: "m", DroppedGroups: 3}},
		})
		assert.Equal(t, 1.0, s[`vast_instance_price_dollars_per_hour{fleet="",id="1"}`])
		assert.Equal(t, 1.0, s[`vast_instances{fleet="",state="running"}`])
		assert.NotContains(t, s, `vast_instances{fleet="",state="failed"}`)
		assert.Equal(t, 1.0, s[`vastwatch_fleet_target_instances{fleet="a"}`])
		assert.Equal(t, 0.0, s[`vastwatch_market_dropped_groups{market="m"}`])
	})
	t.Run("a market whose search returned nothing has 0 offers and no prices", func(t *testing.T) {
		m := &policy.Market{Name: "empty", GroupBy: []string{"gpu_name", "num_gpus"}}
		s := collect(&metrics.Snapshot{Markets: []metrics.MarketSnapshot{metrics.NewMarketSnapshot(m, nil, 10)}})
		assert.Equal(t, map[string]float64{
			`vast_offers{gpu_name="",market="empty",num_gpus=""}`: 0,
			`vastwatch_market_dropped_groups{market="empty"}`:     0,
			`vastwatch_market_search_success{market="empty"}`:     1,
		}, s)
	})
	t.Run("a market whose search failed says so and has no offer series; the others publish", func(t *testing.T) {
		m := &policy.Market{Name: "ok", GroupBy: []string{"gpu_name"}}
		s := collect(&metrics.Snapshot{Markets: []metrics.MarketSnapshot{
			{Name: "down", GroupBy: []string{"gpu_name"}, SearchFailed: true},
			metrics.NewMarketSnapshot(m, []vastapi.Offer{{ID: 1, GPUName: "A", NumGPUs: 1, DphTotal: 0.5}}, 10),
		}, Account: &metrics.AccountSnapshot{Credit: 5}})
		assert.Equal(t, 0.0, s[`vastwatch_market_search_success{market="down"}`])
		assert.Equal(t, 1.0, s[`vastwatch_market_search_success{market="ok"}`])
		for k := range s {
			if strings.Contains(k, `market="down"`) {
				assert.True(t, strings.HasPrefix(k, "vastwatch_market_search_success{"), "a failed market exports only its success series: %s", k)
			}
		}
		assert.Equal(t, 1.0, s[`vast_offers{gpu_name="A",market="ok"}`])
		assert.Equal(t, 5.0, s[`vast_account_credit_dollars{}`])
	})
	t.Run("a blocked fleet has one series per reason, an unblocked one none", func(t *testing.T) {
		s := collect(fixedSnapshot())
		assert.Equal(t, []string{
			`vastwatch_fleet_blocked{fleet="training",reason="no_offers"}`,
			`vastwatch_fleet_blocked{fleet="training",reason="price_cap"}`,
		}, withPrefix(s, "vastwatch_fleet_blocked"))
	})
	t.Run("an instance without a start time has no start series", func(t *testing.T) {
		s := collect(fixedSnapshot())
		assert.NotContains(t, s, `vast_instance_start_timestamp_seconds{fleet="inference",id="9002"}`)
		assert.Equal(t, float64(fixedTime.Add(-2*time.Hour).Unix()),
			s[`vast_instance_start_timestamp_seconds{fleet="inference",id="9001"}`])
	})
}
