package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	vastwatch "github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/demand"
	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/record"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// Daemon wires the client (or simulator), the running config, the scaler, the metrics and the
// HTTP surface on one loop.
type Daemon struct {
	o        Options
	logger   *slog.Logger
	clk      clock.Clock
	cfg      *configHolder
	api      *vastapi.Client
	sim      *vastsim.Sim
	scaler   *scaler.Scaler
	exporter *metrics.Exporter
	lead     *leadership
	charges  *chargesPoller
	// store keeps the scaler's state (nil: none, creates blocked); reclaim is set on each gain
	// of leadership, until the state is claimed for the new term (stateReady).
	store   stateStore
	reclaim atomic.Bool
	// tempState is a simulated run's temporary state dir, removed when Run returns.
	tempState string
	// prices and sizes are the status page's charts: each market's best and median price, each
	// autoscaled fleet's desired and running size.
	prices, sizes *history
	// last is what the last cycle published; the HTTP surface reads only this.
	last lastCycle
	// followerCarry is what a follower's look hands the next (the leader's lives in its
	// scaler); only the cycle loop touches it.
	followerCarry scaler.Carry
	// demand reads autoscaled fleets' demand from Prometheus, for the leader and followers.
	demand scaler.DemandReader
	// recorder records each poll's markets (--record.dir); nil when not recording.
	recorder *record.Writer
	// quit is closed, once, by POST /-/quit: Run then shuts down as on SIGTERM.
	quit     chan struct{}
	quitOnce sync.Once
}

// New builds a daemon: it loads and validates the config, and builds the client (or the
// simulator), the scaler, the exporter and the leadership, contacting nothing yet.
func New(o Options, env policy.Env, logger *slog.Logger) (*Daemon, error) {
	o = o.withDefaults()
	d := &Daemon{o: o, logger: logger, clk: o.Clock, quit: make(chan struct{}),
		prices: newHistory(6*time.Hour, 720, priceLook), sizes: newHistory(6*time.Hour, 720, sizeLook)}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.exporter = metrics.New(registry, o.Build, d.clk)
	if err := d.loadConfig(env); err != nil {
		return nil, err
	}
	api, err := d.newClient(env.APIKey)
	if err != nil {
		return nil, err
	}
	d.api = api
	d.api.Redact(d.cfg.current().SecretValues())
	d.charges = &chargesPoller{api: api, logger: logger.With("component", "charges")}
	d.demand = demand.New(d.clk, 0)
	if err := kubeClients(&d.o.Leader); err != nil {
		return nil, err
	}
	if d.lead, err = newLeadership(d.o.Leader, d.clk, logger.With("component", "leader")); err != nil {
		return nil, err
	}
	if err := d.openStateUnlessWatching(); err != nil {
		return nil, err
	}
	var sapi scaler.API = api
	if o.Record.Dir != "" {
		sapi = wholeMarkets{api}
	}
	if err := d.openRecorder(); err != nil {
		d.removeTempState()
		return nil, err
	}
	d.scaler = scaler.New(scaler.Options{
		Clock: d.clk, API: sapi, StateDir: d.o.StateDir, Store: backend(d.store), Memory: o.WatchOnly, ReadOnRearm: d.lead.enabled(), Logger: logger.With("component", "scaler"), Demand: d.demand,
		DryRun: o.DryRun, PendingGrace: o.PendingGrace, StartGrace: o.StartGrace, Bill: d.charges.bill, Notifier: o.Notifier,
		// The scaler logs each decision and action itself; the hooks only count them.
		OnAction:   d.countAction,
		OnDecision: func(dec scaler.Decision) { d.exporter.CountDecision(dec.Fleet, dec.Decision, dec.Reason) },
	})
	d.wireLeadership()
	d.last.init(d.cfg.current(), o.Sim.Enabled, o.DryRun)
	return d, nil
}

// countAction counts an executed action. A skipped action was never sent (offer gone at the
// re-check, cycle cancelled): it is no action, and the metrics' results are ok, error and
// dry_run only.
func (d *Daemon) countAction(a scaler.ActionOutcome) {
	if a.Result != scaler.ResultSkipped {
		d.exporter.CountAction(a.Action.Fleet, string(a.Action.Kind), a.Result)
	}
}

// loadConfig reads the config (the embedded example without a file) once at start.
func (d *Daemon) loadConfig(env policy.Env) error {
	d.cfg = &configHolder{
		path: d.o.ConfigFile,
		parse: func(data []byte, source string) (*policy.Config, error) {
			cfg, err := policy.Parse(data, source, d.o.Getenv)
			if err != nil {
				return nil, err
			}
			if d.o.Sim.Enabled && d.o.Sim.PublicIP != "" {
				// The simulated instances report the address given (127.0.0.1 to reach local
				// servers): probes and /sd may use it, whatever it is.
				cfg.AllowPrivateAddresses = true
			}
			return env.ApplyTo(cfg), nil
		},
		logger:   d.logger,
		now:      d.clk.Now,
		onResult: d.reloaded,
	}
	if err := d.cfg.load(vastwatch.ExampleConfig); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	d.exporter.SetReload(true, d.clk.Now())
	for _, w := range d.cfg.current().Warnings {
		d.logger.Warn("config warning", "warning", w)
	}
	return nil
}

// reloaded follows a config load or reload: its outcome is exported, and a new config's secrets
// are scrubbed from the API's replies from now on.
func (d *Daemon) reloaded(ok bool, at time.Time, _ error) {
	d.exporter.SetReload(ok, at)
	if ok && d.api != nil {
		d.api.Redact(d.cfg.current().SecretValues())
	}
}

// newClient builds the API client: against the real API (or --api.url), or, in simulate
// mode, against an in-process simulator reached through its transport.
func (d *Daemon) newClient(key vastapi.Secret) (*vastapi.Client, error) {
	o := d.o
	baseURL := strings.TrimRight(o.APIURL, "/")
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: o.Transport}
	pacingFactor := o.PacingFactor
	if o.Sim.Enabled {
		if key.Empty() {
			key = vastapi.NewSecret(randomKey())
		}
		sim, err := vastsim.New(vastsim.Options{
			Seed: o.Sim.Seed, Machines: o.Sim.Machines, Clock: d.clk, APIKey: key.Reveal(),
			Credit: o.Sim.Credit, Speed: o.Sim.Speed, Logger: d.logger.With("component", "vastsim"),
			PublicIPAddr: o.Sim.PublicIP,
		})
		if err != nil {
			return nil, fmt.Errorf("simulator: %w", err)
		}
		d.sim = sim
		baseURL = "http://vastsim.in-process"
		hc = &http.Client{Transport: sim.Transport(), Timeout: time.Minute}
		// The simulator has no rate limiter; pacing at 1/speed of the published spacing keeps
		// the demo lively while still exercising the pacer.
		if !o.PacingSet {
			pacingFactor = 1 / max(1, o.Sim.Speed)
		}
		d.logger.Info("simulated market", "seed", o.Sim.Seed, "machines", o.Sim.Machines, "speed", o.Sim.Speed, "credit", o.Sim.Credit)
	}
	api, err := vastapi.New(vastapi.Config{
		BaseURL: baseURL, Key: key, HTTPClient: hc, Clock: d.clk,
		UserAgent: "vastwatch/" + o.Build.Version, Logger: d.logger.With("component", "vastapi"),
		Observe: d.exporter.ObserveRequest, Pacing: ScaledPacing(pacingFactor),
	})
	if err != nil {
		return nil, fmt.Errorf("api client: %w", err)
	}
	return api, nil
}

// wireLeadership exports leadership and re-arms the scaler at each new term.
func (d *Daemon) wireLeadership() {
	if !d.lead.enabled() {
		return
	}
	d.exporter.SetLeader(false)
	d.lead.onGain = func() {
		// The term's first cycle claims the state and rearms the scaler before it acts
		// (stateReady).
		d.reclaim.Store(true)
		d.exporter.SetLeader(true)
		d.logger.Info("leading: claiming the state before any action")
	}
	d.lead.onLoss = func() {
		if d.store != nil {
			d.store.drop()
		}
		d.exporter.SetLeader(false)
		d.logger.Warn("leadership lost: no new actions; observing and exporting only")
	}
}

// ScaledPacing multiplies the published spacing by factor (≤ 0: no pacing).
func ScaledPacing(factor float64) map[string]time.Duration {
	out := make(map[string]time.Duration, len(vastapi.DefaultPacing))
	if factor <= 0 {
		return out
	}
	for k, v := range vastapi.DefaultPacing {
		out[k] = time.Duration(float64(v) * factor)
	}
	return out
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "sim-" + hex.EncodeToString(b)
}

// Sim is the in-process simulator in simulate mode, else nil.
func (d *Daemon) Sim() *vastsim.Sim { return d.sim }

// Exporter is the daemon's metrics exporter.
func (d *Daemon) Exporter() *metrics.Exporter { return d.exporter }
