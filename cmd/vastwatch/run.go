package main

import (
	"context"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/vastwatch/vastwatch/internal/daemon"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// runFlags are run's flags that do not map one to one onto daemon.Options.
type runFlags struct {
	o           daemon.Options
	api         apiFlags
	web         *web.FlagConfig
	memoryLimit string
}

func defineRun(cmd *kingpin.CmdClause, c *cli) action {
	f := daemonFlags(cmd)
	o := &f.o
	cmd.Flag("state.dir", "Directory of the write-ahead journal and the spend book (--simulate without it: a temporary one).").Default("./data").StringVar(&o.StateDir)
	cmd.Flag("dry-run", "Plan and count actions, but send no mutating request.").BoolVar(&o.DryRun)
	cmd.Flag("scaler.start-grace", "After a start, no create until the journal is reconciled and this long has passed.").Default(scaler.DefaultStartGrace.String()).DurationVar(&o.StartGrace)
	cmd.Flag("scaler.pending-grace", "How long a create of unknown outcome counts toward its fleet until listed.").Default(scaler.DefaultPendingGrace.String()).DurationVar(&o.PendingGrace)
	leaderFlags(cmd, &o.Leader)
	return func(ctx context.Context) error { return runDaemon(ctx, c, f) }
}

// defineRecord is run's observation loop without a scaler, recording the market.
func defineRecord(cmd *kingpin.CmdClause, c *cli) action {
	f := daemonFlags(cmd)
	f.o.WatchOnly = true
	cmd.GetFlag("record.dir").Required()
	return func(ctx context.Context) error { return runDaemon(ctx, c, f) }
}

// daemonFlags are the flags run and record share.
func daemonFlags(cmd *kingpin.CmdClause) *runFlags {
	f := &runFlags{}
	o := &f.o
	cmd.Flag("config.file", "YAML config file; required against the real API (--simulate uses the embedded example without it).").PlaceHolder("FILE").StringVar(&o.ConfigFile)
	f.web = kingpinflag.AddFlags(cmd, ":9861")
	cmd.GetFlag("web.config.file").PlaceHolder("FILE")
	cmd.Flag("web.telemetry-path", "Path of the metrics endpoint.").Default("/metrics").StringVar(&o.TelemetryPath)
	cmd.Flag("web.enable-lifecycle", "Serve POST /-/reload and /-/quit.").BoolVar(&o.Lifecycle)
	cmd.Flag("web.shutdown-timeout", "How long shutdown waits for HTTP requests and the cycle in flight.").Default("10s").DurationVar(&o.ShutdownGrace)
	f.api.define(cmd, true)
	cmd.Flag("api.pacing-factor", "Multiplier of the published request spacing (with --simulate the default is 1/speed).").Default("1").Float64Var(&o.PacingFactor)
	cmd.Flag("config.watch-interval", "How often the config file is checked for changes (0 = never).").Default("5s").DurationVar(&o.ReloadInterval)
	cmd.Flag("runtime.memory-limit", "Soft limit on the Go runtime's memory, e.g. 64MiB; off for none ($GOMEMLIMIT wins).").Default(daemon.DefaultMemoryLimit).StringVar(&f.memoryLimit)
	o.Record.AddFlags(cmd)
	return f
}

func leaderFlags(cmd *kingpin.CmdClause, l *daemon.LeaderOptions) {
	leaseFlags(cmd, l, "Elect a leader through a Kubernetes Lease: only the leader acts, every replica exports metrics.")
	cmd.Flag("leader-elect.lease-duration", "How long followers wait after the leader's last renewal.").Default("15s").DurationVar(&l.LeaseDuration)
	cmd.Flag("leader-elect.renew-deadline", "How long the leader acts without a successful renewal.").Default("10s").DurationVar(&l.RenewDeadline)
	cmd.Flag("leader-elect.retry-period", "Pause between attempts to acquire or renew the Lease.").Default("2s").DurationVar(&l.RetryPeriod)
	cmd.Flag("leader-elect.follower-poll-interval", "Poll interval of followers (default: 4x poll_interval).").Default("0s").DurationVar(&l.FollowerPoll)
}

// leaseFlags find the Lease and the state beside it: run elects through them, plan reads that
// state; enable says what --leader-elect does.
func leaseFlags(cmd *kingpin.CmdClause, l *daemon.LeaderOptions, enable string) {
	cmd.Flag("leader-elect", enable).BoolVar(&l.Enabled)
	cmd.Flag("leader-elect.namespace", "Namespace of the Lease (default: $POD_NAMESPACE, else default).").PlaceHolder("NAMESPACE").StringVar(&l.Namespace)
	cmd.Flag("leader-elect.lease-name", "Name of the Lease.").Default("vastwatch").StringVar(&l.LeaseName)
	cmd.Flag("leader-elect.kubeconfig", "Kubeconfig outside the cluster (default: the in-cluster service account).").PlaceHolder("FILE").StringVar(&l.Kubeconfig)
}

// options completes daemon.Options from what the flags and the environment left.
func (f *runFlags) options(c *cli) {
	o := &f.o
	o.Listen, o.SystemdSocket, o.WebConfig = *f.web.WebListenAddresses, *f.web.WebSystemdSocket, *f.web.WebConfigFile
	o.APIURL, o.Sim = f.api.url, f.api.sim
	o.PacingSet = c.given["api.pacing-factor"]
	if o.Sim.Enabled && !c.given["state.dir"] && c.env.StateDir == "" {
		o.StateDir = "" // a simulated month never shares ./data with real money: a temporary dir
	}
	if o.Sim.Enabled && !c.given["scaler.start-grace"] {
		// The simulator lists an instance the moment it is created, so the start grace that
		// covers the real API's listing delay can be short; the rule itself still holds.
		o.StartGrace = 5 * time.Second
	}
	o.Build, o.Getenv, o.Signals = buildInfo(), c.Getenv, c.Signals
}

func runDaemon(ctx context.Context, c *cli, f *runFlags) error {
	if err := c.envOK(); err != nil {
		return err
	}
	f.options(c)
	logger := promslog.New(&c.log)
	if !f.o.Sim.Enabled && c.env.APIKey.Empty() {
		return usageErr("no API key: set VAST_API_KEY (or VAST_API_KEY_FILE) to a Vast.ai API key, or use --simulate to run on the simulated market")
	}
	if !f.o.Sim.Enabled && f.o.ConfigFile == "" {
		return usageErr("--config.file is required against the real API (the embedded example is only used with --simulate, so it never rents real instances by accident)")
	}
	restore, err := daemon.ApplyMemoryLimit(f.memoryLimit, c.given["runtime.memory-limit"], c.Getenv, logger)
	if err != nil {
		return usageErr("%v", err)
	}
	defer restore()
	d, err := daemon.New(f.o, c.env, logger)
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
