package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	vastwatch "github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

func init() {
	register(&command{name: "run", summary: "daemon: poll, export, scale", run: runDaemon})
}

// DefaultAPIURL is the real Vast.ai API.
const DefaultAPIURL = "https://console.vast.ai"

// runOptions are the flags of `vastwatch run` after env has been applied.
type runOptions struct {
	configFile     string
	listen         string
	telemetryPath  string
	webConfig      string
	logLevel       string
	logFormat      string
	stateDir       string
	dryRun         bool
	apiURL         string
	pacingFactor   float64
	reloadInterval time.Duration
	startGrace     time.Duration
	pendingGrace   time.Duration
	shutdownGrace  time.Duration
	memoryLimit    string

	simulate    bool
	simSpeed    float64
	simSeed     int64
	simMachines int
	simCredit   float64
	simPublicIP string
	pacingSet   bool
	graceSet    bool

	leader leaderOptions
	// transport, when set (tests), carries the API requests instead of the default transport.
	transport http.RoundTripper
}

func runFlagSet(pio IO, o *runOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(pio.Stderr)
	fs.StringVar(&o.configFile, "config.file", "", "YAML config file (required against the real API; --simulate uses the embedded example without it)")
	fs.StringVar(&o.listen, "web.listen-address", ":9861", "address to serve /metrics, the status page and the /-/ endpoints on")
	fs.StringVar(&o.telemetryPath, "web.telemetry-path", "/metrics", "path of the metrics endpoint")
	fs.StringVar(&o.webConfig, "web.config.file", "", "exporter-toolkit web config file (TLS, basic auth)")
	fs.StringVar(&o.logLevel, "log.level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log.format", "logfmt", "logfmt or json")
	fs.StringVar(&o.stateDir, "state.dir", "./data", "directory of the write-ahead journal (spec.md §5.3)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "plan and count actions, but send no mutating request")
	fs.StringVar(&o.apiURL, "api.url", DefaultAPIURL, "base URL of the Vast.ai API (env VASTWATCH_API_URL)")
	fs.Float64Var(&o.pacingFactor, "api.pacing-factor", 1, "multiplier of the published per-endpoint request spacing (1 = as published; with --simulate the default is 1/speed)")
	fs.DurationVar(&o.reloadInterval, "config.watch-interval", 5*time.Second, "how often the config file is checked for changes (0 = never)")
	fs.DurationVar(&o.startGrace, "scaler.start-grace", scaler.DefaultStartGrace, "after a start, no create until the journal is reconciled and this long has passed")
	fs.DurationVar(&o.pendingGrace, "scaler.pending-grace", scaler.DefaultPendingGrace, "how long a create whose outcome is unknown counts toward its fleet until listed")
	fs.DurationVar(&o.shutdownGrace, "web.shutdown-timeout", 10*time.Second, "how long shutdown waits for HTTP requests and the cycle in flight")
	fs.StringVar(&o.memoryLimit, "runtime.memory-limit", defaultMemoryLimit, "soft limit on the Go runtime's memory, e.g. 64MiB; off or 0 for none; GOMEMLIMIT wins when set")
	fs.BoolVar(&o.leader.enabled, "leader-elect", false, "elect a leader through a Kubernetes Lease: only the leader plans and acts, every replica exports metrics")
	fs.StringVar(&o.leader.namespace, "leader-elect.namespace", "", "namespace of the Lease (default: $POD_NAMESPACE, else default)")
	fs.StringVar(&o.leader.leaseName, "leader-elect.lease-name", "vastwatch", "name of the Lease")
	fs.DurationVar(&o.leader.leaseDuration, "leader-elect.lease-duration", 15*time.Second, "how long followers wait after the leader's last renewal before taking over")
	fs.DurationVar(&o.leader.renewDeadline, "leader-elect.renew-deadline", 10*time.Second, "how long the leader keeps acting without a successful renewal")
	fs.DurationVar(&o.leader.retryPeriod, "leader-elect.retry-period", 2*time.Second, "pause between attempts to acquire or renew the Lease")
	fs.StringVar(&o.leader.kubeconfig, "leader-elect.kubeconfig", "", "kubeconfig file for running outside the cluster (default: in-cluster service account)")
	fs.DurationVar(&o.leader.followerPoll, "leader-elect.follower-poll-interval", 0, "poll interval of followers, which share the account's rate limits with the leader (default: 4x poll_interval)")
	fs.BoolVar(&o.simulate, "simulate", false, "run against the in-process simulated Vast.ai market")
	fs.Float64Var(&o.simSpeed, "simulate.speed", 30, "simulator speed-up of its own delays (boot, drift) and billing")
	fs.Int64Var(&o.simSeed, "simulate.seed", 1, "simulator seed")
	fs.IntVar(&o.simMachines, "simulate.machines", 300, "simulated machines (about five offers each)")
	fs.Float64Var(&o.simCredit, "simulate.credit", 100, "simulated starting credit in $")
	fs.StringVar(&o.simPublicIP, "simulate.public-ip", "", "address every running simulated instance reports as public_ipaddr, e.g. 127.0.0.1 to probe and scrape local servers (default: a made-up address per machine)")
	return fs
}

// set reports whether the flag was given on the command line.
func set(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// applyEnv lets VASTWATCH_* settings stand in for flags that were not given explicitly.
func applyEnv(fs *flag.FlagSet, o *runOptions, env policy.Env) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	str := func(name string, dst *string, v string) {
		if !set[name] && v != "" {
			*dst = v
		}
	}
	str("config.file", &o.configFile, env.ConfigFile)
	str("web.listen-address", &o.listen, env.ListenAddress)
	str("log.level", &o.logLevel, env.LogLevel)
	str("log.format", &o.logFormat, env.LogFormat)
	str("state.dir", &o.stateDir, env.StateDir)
	str("api.url", &o.apiURL, env.APIURL)
	str("web.telemetry-path", &o.telemetryPath, env.TelemetryPath)
	str("web.config.file", &o.webConfig, env.WebConfigFile)
	if !set["simulate"] && env.Simulate != nil {
		o.simulate = *env.Simulate
	}
	if !set["dry-run"] && env.DryRun != nil {
		o.dryRun = *env.DryRun
	}
}

func runDaemon(ctx context.Context, pio IO, args []string) int {
	var o runOptions
	fs := runFlagSet(pio, &o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(pio.Stderr, "vastwatch run: unexpected arguments %q\n", fs.Args())
		return 2
	}
	env, err := policy.LoadEnv(ctx, pio.Getenv)
	if err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch run: %v\n", err)
		return 2
	}
	applyEnv(fs, &o, env)
	o.pacingSet, o.graceSet = set(fs, "api.pacing-factor"), set(fs, "scaler.start-grace")
	if o.leader.namespace == "" {
		o.leader.namespace = pio.Getenv("POD_NAMESPACE")
		if o.leader.namespace == "" {
			o.leader.namespace = "default"
		}
	}
	if !set(fs, "leader-elect") && env.LeaderElect != nil {
		o.leader.enabled = *env.LeaderElect
	}
	if o.simulate && !o.graceSet {
		// The simulator lists an instance the moment it is created, so the start grace that
		// covers the real API's listing delay can be short; the rule itself still holds.
		o.startGrace = 5 * time.Second
	}
	logger, err := newLogger(pio.Stderr, o.logLevel, o.logFormat)
	if err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch run: %v\n", err)
		return 2
	}
	if !o.simulate && env.APIKey.Empty() {
		fmt.Fprintln(pio.Stderr, "vastwatch run: no API key: set VAST_API_KEY (or VAST_API_KEY_FILE) to a Vast.ai API key, or use --simulate to run on the simulated market")
		return 2
	}
	if !o.simulate && o.configFile == "" {
		fmt.Fprintln(pio.Stderr, "vastwatch run: --config.file is required against the real API (the embedded example is only used with --simulate, so it never rents real instances by accident)")
		return 2
	}
	restore, err := applyMemoryLimit(o.memoryLimit, set(fs, "runtime.memory-limit"), pio.Getenv, logger)
	if err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch run: %v\n", err)
		return 2
	}
	defer restore()
	d, err := newDaemon(o, env, pio, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	if err := d.run(ctx); err != nil {
		logger.Error("daemon stopped", "err", err)
		return 1
	}
	return 0
}

// daemon wires client, simulator, config, scaler, metrics and HTTP on one loop.
type daemon struct {
	o        runOptions
	logger   *slog.Logger
	clk      clock.Clock
	cfg      *configHolder
	api      *vastapi.Client
	sim      *vastsim.Sim
	scaler   *scaler.Scaler
	exporter *metrics.Exporter
	registry *prometheus.Registry
	server   *httpServer
	state    *cycleState
	lead     *leadership
	signals  <-chan os.Signal // SIGHUP
	// followerProbes are the readiness probes of a follower's cycles (the leader's live in
	// its scaler); only the cycle loop touches them.
	followerProbes map[int64]scaler.ProbeResult
	// charges keeps the month-to-date charges (/api/v0/charges/) for the metrics.
	charges *chargesPoller
}

func newDaemon(o runOptions, env policy.Env, pio IO, logger *slog.Logger) (*daemon, error) {
	d := &daemon{o: o, logger: logger, clk: clock.Real{}, signals: pio.Signals}
	d.registry = prometheus.NewRegistry()
	d.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.exporter = metrics.New(d.registry, metrics.BuildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()})

	d.cfg = &configHolder{
		path: o.configFile,
		parse: func(data []byte, source string) (*policy.Config, error) {
			cfg, err := policy.Parse(data, source, pio.Getenv)
			if err != nil {
				return nil, err
			}
			return env.ApplyTo(cfg), nil
		},
		logger: logger,
		now:    d.clk.Now,
		onResult: func(ok bool, at time.Time, _ error) {
			d.exporter.SetReload(ok, at)
		},
	}
	if err := d.cfg.load(vastwatch.ExampleConfig); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	d.exporter.SetReload(true, d.clk.Now())
	cfg := d.cfg.current()
	for _, w := range cfg.Warnings {
		logger.Warn("config warning", "warning", w)
	}

	key := env.APIKey
	baseURL := strings.TrimRight(o.apiURL, "/")
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: o.transport}
	pacingFactor := o.pacingFactor
	if o.simulate {
		if key.Empty() {
			key = vastapi.NewSecret(randomKey())
		}
		sim, err := vastsim.New(vastsim.Options{
			Seed: o.simSeed, Machines: o.simMachines, Clock: d.clk, APIKey: key.Reveal(),
			Credit: o.simCredit, Speed: o.simSpeed, Logger: logger.With("component", "vastsim"),
			PublicIPAddr: o.simPublicIP,
		})
		if err != nil {
			return nil, fmt.Errorf("simulator: %w", err)
		}
		d.sim = sim
		baseURL = "http://vastsim.in-process"
		hc = &http.Client{Transport: sim.Transport(), Timeout: time.Minute}
		// The simulator has no rate limiter; pacing at 1/speed of the published spacing keeps
		// the demo lively while still exercising the pacer.
		if !o.pacingSet {
			pacingFactor = 1 / max(1, o.simSpeed)
		}
		logger.Info("simulated market", "seed", o.simSeed, "machines", o.simMachines, "speed", o.simSpeed, "credit", o.simCredit)
	}
	api, err := vastapi.New(vastapi.Config{
		BaseURL: baseURL, Key: key, HTTPClient: hc, Clock: d.clk,
		UserAgent: "vastwatch/" + version, Logger: logger.With("component", "vastapi"),
		Observe: d.exporter.ObserveRequest, Pacing: scaledPacing(pacingFactor),
	})
	if err != nil {
		return nil, fmt.Errorf("api client: %w", err)
	}
	d.api = api
	d.charges = &chargesPoller{api: api, logger: logger.With("component", "charges")}
	d.state = newCycleState(o.simulate, o.dryRun)
	d.scaler = scaler.New(scaler.Options{
		Clock: d.clk, API: api, StateDir: o.stateDir, Logger: logger.With("component", "scaler"),
		DryRun: o.dryRun, PendingGrace: o.pendingGrace, StartGrace: o.startGrace,
		// The scaler logs each decision and action itself; the hooks only count them.
		OnAction: func(a scaler.ActionOutcome) {
			// A skipped action was never sent (offer gone at the re-check, cycle cancelled):
			// it is no action, and the contract's results are ok, error and dry_run only.
			if a.Result != scaler.ResultSkipped {
				d.exporter.CountAction(a.Action.Fleet, string(a.Action.Kind), a.Result)
			}
		},
		OnDecision: func(dec scaler.Decision) {
			d.exporter.CountDecision(dec.Fleet, dec.Decision, dec.Reason)
		},
	})
	lead, err := newLeadership(o.leader, d)
	if err != nil {
		return nil, err
	}
	d.lead = lead
	if lead.enabled() {
		d.exporter.SetLeader(false)
		lead.onGain = func() {
			// A new term starts as a fresh process would: reconcile, one grace, then creates.
			d.scaler.Rearm()
			d.exporter.SetLeader(true)
			logger.Info("leading: reconciling before any create")
		}
		lead.onLoss = func() {
			d.exporter.SetLeader(false)
			logger.Warn("leadership lost: no new actions; observing and exporting only")
		}
	}
	return d, nil
}

// scaledPacing multiplies the published spacing by factor (≤ 0: no pacing).
func scaledPacing(factor float64) map[string]time.Duration {
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

// run serves HTTP and cycles until ctx ends, then shuts down: no new action starts, the cycle in
// flight finishes or leaves its create journalled as unknown, and the server drains.
func (d *daemon) run(ctx context.Context) error {
	cfg := d.cfg.current()
	srv, err := newHTTPServer(d.o.listen, surface{
		metrics:     d.exporter.Handler(),
		status:      d.statusView,
		ready:       d.state.ready.Load,
		reload:      func(context.Context) error { return d.cfg.reload("POST /-/reload") },
		telemetry:   d.o.telemetryPath,
		extraRoutes: map[string]http.Handler{"/sd": http.HandlerFunc(d.serveSD)},
	}.mux(), d.logger)
	if err != nil {
		return err
	}
	d.server = srv
	d.logger.Info("vastwatch started", "version", version, "listen", srv.Addr(), "config", cfgSource(cfg),
		"markets", len(cfg.Markets), "fleets", len(cfg.Fleets), "dry_run", d.o.dryRun || cfg.DryRun, "simulate", d.o.simulate)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.serve(d.o.webConfig, d.logger) }()

	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	if d.o.reloadInterval > 0 {
		go d.cfg.watch(bg, d.o.reloadInterval)
	}
	leadDone := make(chan struct{})
	go func() {
		defer close(leadDone)
		if err := d.lead.run(bg); err != nil {
			d.logger.Error("leader election stopped", "err", err)
		}
	}()

	// A shutdown cancels the cycle in flight: no new action starts, and a create interrupted
	// mid-request is journalled as unknown (spec.md §5.3), so a restart never rents it twice.
	cycleCtx, cancelCycle := context.WithCancel(context.Background())
	defer cancelCycle()
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		d.loop(ctx, cycleCtx)
	}()

	var runErr error
wait:
	for {
		select {
		case err := <-serveErr:
			if err != nil {
				runErr = fmt.Errorf("http server: %w", err)
			}
			break wait
		case <-d.signals:
			_ = d.cfg.reload("SIGHUP")
		case <-ctx.Done():
			break wait
		}
	}
	d.logger.Info("shutting down: abandoning the cycle in flight, no new actions")
	cancelCycle()
	<-loopDone
	stopBG() // releases a held lease, so another replica takes over at once
	<-leadDone
	if err := srv.shutdown(d.o.shutdownGrace); err != nil {
		d.logger.Warn("http shutdown", "err", err)
	}
	d.logger.Info("stopped")
	return runErr
}

// pollInterval is the config's, or the slower follower interval while another replica leads.
func (d *daemon) pollInterval() time.Duration {
	p := d.cfg.current().PollInterval
	if d.lead.enabled() && d.lead.acting() == nil {
		if d.o.leader.followerPoll > 0 {
			return d.o.leader.followerPoll
		}
		return 4 * p
	}
	return p
}

func cfgSource(c *policy.Config) string {
	if c.Source == "" {
		return "embedded config.example.yaml"
	}
	return c.Source
}

// loop runs a cycle now and then every poll interval of the running config, until stop ends.
func (d *daemon) loop(stop, cycleCtx context.Context) {
	for {
		if stop.Err() != nil {
			return
		}
		d.cycle(cycleCtx)
		t := time.NewTimer(d.pollInterval())
		select {
		case <-stop.Done():
			t.Stop()
			return
		case <-t.C:
		case <-d.lead.gained:
			t.Stop()
		}
	}
}
