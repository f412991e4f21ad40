package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// BuildInfo labels vastwatch_build_info, as every Prometheus exporter's build_info is labelled
// (main fills it from prometheus/common/version).
type BuildInfo struct {
	Version   string
	Revision  string
	Branch    string
	GoVersion string
	GoOS      string
	GoArch    string
	Tags      string // build tags, "unknown" when the binary does not record them
}

// APIDurationBuckets are the buckets of vastwatch_api_request_duration_seconds: from a quick
// account call to a full-market search reply.
var APIDurationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Exporter owns the /metrics output: the last published snapshot, rendered once, and the
// process self-metrics, which live on the registry given to New and are gathered per scrape.
// Its methods are safe for concurrent use.
type Exporter struct {
	self *selfGatherer

	publishMu sync.Mutex // keeps current and snapshot from the same Publish
	current   atomic.Pointer[exposition]
	snapshot  atomic.Pointer[Snapshot]
	reply     atomic.Pointer[reply] // of the last scrape's exposition and self-metrics

	apiRequests  *prometheus.CounterVec
	apiDuration  *prometheus.HistogramVec
	actions      *prometheus.CounterVec
	decisions    *prometheus.CounterVec
	fleetCost    *prometheus.CounterVec
	pollOK       prometheus.Gauge
	pollLast     prometheus.Gauge
	reloadOK     prometheus.Gauge
	reloadLast   prometheus.Gauge
	leader       prometheus.Gauge
	renderErrors prometheus.Counter
}

// New registers the self-metrics on reg (the private registry main creates; main may add the
// Go and process collectors to it) and returns an Exporter serving no snapshot yet. clk dates
// the self-metrics' gathers (SelfMetricsMaxAge); nil is the wall clock. It panics when the
// names are already registered on reg, which is a wiring bug.
//
// Initial values: vastwatch_leader 1 (leader election off), vastwatch_poll_success 0 and
// vastwatch_config_last_reload_successful 0 until SetPoll and SetReload say otherwise: main
// calls SetReload(true, now) once the first config has loaded.
func New(reg *prometheus.Registry, build BuildInfo, clk clock.Clock) *Exporter {
	if clk == nil {
		clk = clock.Real{}
	}
	e := &Exporter{
		self: &selfGatherer{reg: reg, clk: clk, maxAge: SelfMetricsMaxAge},
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vastwatch_api_requests_total",
			Help: "HTTP attempts to the Vast.ai API by endpoint template and status code (0 = no response).",
		}, []string{"endpoint", "code"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vastwatch_api_request_duration_seconds",
			Help:    "Duration of HTTP attempts to the Vast.ai API by endpoint template.",
			Buckets: APIDurationBuckets,
		}, []string{"endpoint"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vastwatch_scaler_actions_total",
			Help: "Scaler actions by fleet, action (create, destroy, stop, rebid…) and result (ok, error, dry_run).",
		}, []string{"fleet", "action", "result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vastwatch_scaler_decisions_total",
			Help: "Scaler decisions by fleet, decision and reason, one per fleet and cycle.",
		}, []string{"fleet", "decision", "reason"}),
		fleetCost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vastwatch_fleet_cost_dollars_total",
			Help: "Committed spend of the fleet integrated over time.",
		}, []string{"fleet"}),
		pollOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vastwatch_poll_success",
			Help: "1 if the last poll of the Vast.ai API succeeded, else 0.",
		}),
		pollLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vastwatch_last_poll_success_timestamp_seconds",
			Help: "When the last successful poll finished, Unix time.",
		}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vastwatch_config_last_reload_successful",
			Help: "1 if the last config load or reload succeeded, else 0 (the previous config stays in force).",
		}),
		reloadLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vastwatch_config_last_reload_successful_timestamp_seconds",
			Help: "When the config was last loaded successfully, Unix time.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vastwatch_leader",
			Help: "1 on the replica that may act on fleets (always 1 when leader election is off).",
		}),
		renderErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vastwatch_snapshot_render_errors_total",
			Help: "Published snapshots that rendered with errors (the series that rendered are served).",
		}),
	}
	e.leader.Set(1)
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "vastwatch_build_info",
		Help: "Build of the running vastwatch, value 1.",
	}, []string{"version", "revision", "branch", "goversion", "goos", "goarch", "tags"})
	buildInfo.WithLabelValues(build.Version, build.Revision, build.Branch, build.GoVersion, build.GoOS, build.GoArch, build.Tags).Set(1)
	reg.MustRegister(e.apiRequests, e.apiDuration, e.actions, e.decisions, e.fleetCost,
		e.pollOK, e.pollLast, e.reloadOK, e.reloadLast, e.leader, e.renderErrors, buildInfo)
	e.current.Store(emptyExposition)
	return e
}

// Publish renders the snapshot's exposition once (plain and deflated) and swaps it in
// atomically: every later scrape serves it from memory. The snapshot must not be modified
// afterwards. A render error (a label value the exposition cannot carry) is returned and
// counted; the series that rendered are still published, so nothing stale stays behind.
func (e *Exporter) Publish(s *Snapshot) error {
	e.publishMu.Lock()
	defer e.publishMu.Unlock()
	x, err := render(s)
	if x == nil {
		e.renderErrors.Inc()
		e.self.recorded()
		return err
	}
	e.current.Store(x)
	e.snapshot.Store(s)
	if err != nil {
		e.renderErrors.Inc()
		e.self.recorded()
	}
	return err
}

// Snapshot returns the last published snapshot, nil before the first Publish.
func (e *Exporter) Snapshot() *Snapshot { return e.snapshot.Load() }

// ObserveRequest records one HTTP attempt of the API client; pass it as the client's
// Config.Observe. The labels are those of docs/metrics.md: the endpoint template (never an id) and
// the status code, "0" when no response arrived. The method is not a label: GET, PUT and DELETE
// of /api/v0/instances/{id}/ share one series.
func (e *Exporter) ObserveRequest(ri vastapi.RequestInfo) {
	e.apiRequests.WithLabelValues(ri.Endpoint, strconv.Itoa(ri.Code)).Inc()
	e.apiDuration.WithLabelValues(ri.Endpoint).Observe(ri.Duration.Seconds())
	e.self.recorded()
}

// CountAction counts one executed (or dry-run) action.
func (e *Exporter) CountAction(fleet, action, result string) {
	e.actions.WithLabelValues(fleet, action, result).Inc()
	e.self.recorded()
}

// CountDecision counts one planner decision.
func (e *Exporter) CountDecision(fleet, decision, reason string) {
	e.decisions.WithLabelValues(fleet, decision, reason).Inc()
	e.self.recorded()
}

// AddFleetCost adds committed spend in dollars (spend $/h × hours elapsed). Negative amounts
// are ignored: the counter only grows.
func (e *Exporter) AddFleetCost(fleet string, dollars float64) {
	if dollars > 0 {
		e.fleetCost.WithLabelValues(fleet).Add(dollars)
		e.self.recorded()
	}
}

// SetPoll records a poll's outcome; a failed poll leaves the last-success timestamp alone.
func (e *Exporter) SetPoll(ok bool, at time.Time) {
	defer e.self.recorded()
	if ok {
		e.pollOK.Set(1)
		e.pollLast.Set(unixSeconds(at))
		return
	}
	e.pollOK.Set(0)
}

// SetReload records a config load's outcome; a failed reload leaves the timestamp alone.
func (e *Exporter) SetReload(ok bool, at time.Time) {
	defer e.self.recorded()
	if ok {
		e.reloadOK.Set(1)
		e.reloadLast.Set(unixSeconds(at))
		return
	}
	e.reloadOK.Set(0)
}

// SetLeader records whether this replica may act.
func (e *Exporter) SetLeader(leader bool) {
	defer e.self.recorded()
	if leader {
		e.leader.Set(1)
	} else {
		e.leader.Set(0)
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
