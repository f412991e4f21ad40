package main

import (
	"context"
	"flag"
	"runtime"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/daemon"
	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

func init() {
	register(&command{name: "run", summary: "daemon: poll, export, scale", run: runDaemon})
}

// runFlags are run's flags that do not map one to one onto daemon.Options.
type runFlags struct {
	o                   daemon.Options
	logLevel, logFormat string
	memoryLimit         string
	listen              string
}

func runFlagSet(pio IO, f *runFlags) *flag.FlagSet {
	o := &f.o
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(pio.Stderr)
	fs.StringVar(&o.ConfigFile, "config.file", "", "YAML config file (required against the real API; --simulate uses the embedded example without it)")
	fs.StringVar(&f.listen, "web.listen-address", ":9861", "address to serve /metrics, the status page and the /-/ endpoints on")
	fs.BoolVar(&o.Lifecycle, "web.enable-lifecycle", false, "serve POST /-/reload and /-/quit")
	fs.StringVar(&o.TelemetryPath, "web.telemetry-path", "/metrics", "path of the metrics endpoint")
	fs.StringVar(&o.WebConfig, "web.config.file", "", "exporter-toolkit web config file (TLS, basic auth)")
	fs.StringVar(&f.logLevel, "log.level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log.format", "logfmt", "logfmt or json")
	fs.StringVar(&o.StateDir, "state.dir", "./data", "directory of the write-ahead journal and the spend book (docs/design.md §7)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "plan and count actions, but send no mutating request")
	fs.StringVar(&o.APIURL, "api.url", daemon.DefaultAPIURL, "base URL of the Vast.ai API (env VASTWATCH_API_URL)")
	fs.Float64Var(&o.PacingFactor, "api.pacing-factor", 1, "multiplier of the published per-endpoint request spacing (1 = as published; with --simulate the default is 1/speed)")
	fs.DurationVar(&o.ReloadInterval, "config.watch-interval", 5*time.Second, "how often the config file is checked for changes (0 = never)")
	fs.DurationVar(&o.StartGrace, "scaler.start-grace", scaler.DefaultStartGrace, "after a start, no create until the journal is reconciled and this long has passed")
	fs.DurationVar(&o.PendingGrace, "scaler.pending-grace", scaler.DefaultPendingGrace, "how long a create whose outcome is unknown counts toward its fleet until listed")
	fs.DurationVar(&o.ShutdownGrace, "web.shutdown-timeout", 10*time.Second, "how long shutdown waits for HTTP requests and the cycle in flight")
	fs.StringVar(&f.memoryLimit, "runtime.memory-limit", daemon.DefaultMemoryLimit, "soft limit on the Go runtime's memory, e.g. 64MiB; off or 0 for none; GOMEMLIMIT wins when set")
	leaderFlags(fs, &o.Leader)
	simFlags(fs, &o.Sim)
	return fs
}

func leaderFlags(fs *flag.FlagSet, l *daemon.LeaderOptions) {
	fs.BoolVar(&l.Enabled, "leader-elect", false, "elect a leader through a Kubernetes Lease: only the leader plans and acts, every replica exports metrics")
	fs.StringVar(&l.Namespace, "leader-elect.namespace", "", "namespace of the Lease (default: $POD_NAMESPACE, else default)")
	fs.StringVar(&l.LeaseName, "leader-elect.lease-name", "vastwatch", "name of the Lease")
	fs.DurationVar(&l.LeaseDuration, "leader-elect.lease-duration", 15*time.Second, "how long followers wait after the leader's last renewal before taking over")
	fs.DurationVar(&l.RenewDeadline, "leader-elect.renew-deadline", 10*time.Second, "how long the leader keeps acting without a successful renewal")
	fs.DurationVar(&l.RetryPeriod, "leader-elect.retry-period", 2*time.Second, "pause between attempts to acquire or renew the Lease")
	fs.StringVar(&l.Kubeconfig, "leader-elect.kubeconfig", "", "kubeconfig file for running outside the cluster (default: in-cluster service account)")
	fs.DurationVar(&l.FollowerPoll, "leader-elect.follower-poll-interval", 0, "poll interval of followers, which share the account's rate limits with the leader (default: 4x poll_interval)")
}

func simFlags(fs *flag.FlagSet, s *daemon.SimOptions) {
	fs.BoolVar(&s.Enabled, "simulate", false, "run against the in-process simulated Vast.ai market")
	fs.Float64Var(&s.Speed, "simulate.speed", 30, "simulator speed-up of its own delays (boot, drift) and billing")
	fs.Int64Var(&s.Seed, "simulate.seed", 1, "simulator seed")
	fs.IntVar(&s.Machines, "simulate.machines", 300, "simulated machines (about five offers each)")
	fs.Float64Var(&s.Credit, "simulate.credit", 100, "simulated starting credit in $")
	fs.StringVar(&s.PublicIP, "simulate.public-ip", "", "address every running simulated instance reports as public_ipaddr, e.g. 127.0.0.1 to probe and scrape local servers (default: a made-up address per machine)")
}

// applyEnv lets VASTWATCH_* settings stand in for flags that were not given explicitly
// (explicit flags win over the environment, which wins over the config file).
func applyEnv(fs *flag.FlagSet, f *runFlags, env policy.Env, getenv func(string) string) {
	o := &f.o
	str := func(name string, dst *string, v string) {
		if !given(fs, name) && v != "" {
			*dst = v
		}
	}
	str("config.file", &o.ConfigFile, env.ConfigFile)
	str("web.listen-address", &f.listen, strings.Join(env.ListenAddress, ","))
	o.Listen = strings.Split(f.listen, ",")
	str("log.level", &f.logLevel, env.LogLevel)
	str("log.format", &f.logFormat, env.LogFormat)
	str("state.dir", &o.StateDir, env.StateDir)
	str("api.url", &o.APIURL, env.APIURL)
	str("web.telemetry-path", &o.TelemetryPath, env.TelemetryPath)
	str("web.config.file", &o.WebConfig, env.WebConfigFile)
	if !given(fs, "simulate") && env.Simulate != nil {
		o.Sim.Enabled = *env.Simulate
	}
	if !given(fs, "dry-run") && env.DryRun != nil {
		o.DryRun = *env.DryRun
	}
	if !given(fs, "leader-elect") && env.LeaderElect != nil {
		o.Leader.Enabled = *env.LeaderElect
	}
	if o.Leader.Namespace == "" {
		o.Leader.Namespace = getenv("POD_NAMESPACE")
		if o.Leader.Namespace == "" {
			o.Leader.Namespace = "default"
		}
	}
	o.PacingSet = given(fs, "api.pacing-factor")
	if o.Sim.Enabled && !given(fs, "scaler.start-grace") {
		// The simulator lists an instance the moment it is created, so the start grace that
		// covers the real API's listing delay can be short; the rule itself still holds.
		o.StartGrace = 5 * time.Second
	}
}

func runDaemon(ctx context.Context, pio IO, args []string) error {
	var f runFlags
	fs := runFlagSet(pio, &f)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	env, err := policy.LoadEnv(ctx, pio.Getenv)
	if err != nil {
		return usageErr("%v", err)
	}
	applyEnv(fs, &f, env, pio.Getenv)
	logger, err := newLogger(pio.Stderr, f.logLevel, f.logFormat)
	if err != nil {
		return usageErr("%v", err)
	}
	if !f.o.Sim.Enabled && env.APIKey.Empty() {
		return usageErr("no API key: set VAST_API_KEY (or VAST_API_KEY_FILE) to a Vast.ai API key, or use --simulate to run on the simulated market")
	}
	if !f.o.Sim.Enabled && f.o.ConfigFile == "" {
		return usageErr("--config.file is required against the real API (the embedded example is only used with --simulate, so it never rents real instances by accident)")
	}
	restore, err := daemon.ApplyMemoryLimit(f.memoryLimit, given(fs, "runtime.memory-limit"), pio.Getenv, logger)
	if err != nil {
		return usageErr("%v", err)
	}
	defer restore()
	f.o.Getenv, f.o.Signals = pio.Getenv, pio.Signals
	f.o.Build = metrics.BuildInfo{Version: version, Revision: revision, GoVersion: runtime.Version(), GoOS: runtime.GOOS, GoArch: runtime.GOARCH}
	d, err := daemon.New(f.o, env, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return reported(1)
	}
	if err := d.Run(ctx); err != nil {
		logger.Error("daemon stopped", "err", err)
		return reported(1)
	}
	return nil
}
