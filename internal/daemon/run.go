package daemon

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// Run serves HTTP and cycles until ctx ends, then shuts down in two stages: no new action
// starts and the cycle in flight finishes or leaves its create journalled as unknown, then the
// server drains (docs/design.md §10).
func (d *Daemon) Run(ctx context.Context) error {
	defer d.removeTempState()
	// POST /-/quit and a failed server end the loop as a cancelled ctx does.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	srv, err := d.listen()
	if err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.serve(d.o.WebConfig, d.logger) }()

	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	if d.o.ReloadInterval > 0 {
		go d.cfg.watch(bg, d.clk, d.o.ReloadInterval)
	}
	leadDone := make(chan struct{})
	go func() {
		defer close(leadDone)
		if err := d.lead.run(bg); err != nil {
			d.logger.Error("leader election stopped", "err", err)
		}
	}()
	// A shutdown cancels the cycle in flight: no new action starts, and a create interrupted
	// mid-request is journalled as unknown (docs/design.md §7), so a restart never rents it twice.
	cycleCtx, cancelCycle := context.WithCancel(context.Background())
	defer cancelCycle()
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		d.loop(ctx, cycleCtx)
	}()

	runErr := d.wait(ctx, serveErr)
	stop()
	d.logger.Info("shutting down: abandoning the cycle in flight, no new actions")
	cancelCycle()
	<-loopDone
	if d.recorder != nil {
		_ = d.recorder.Close()
	}
	stopBG() // releases a held lease, so another replica takes over at once
	<-leadDone
	if err := srv.shutdown(d.o.ShutdownGrace); err != nil {
		d.logger.Warn("http shutdown", "err", err)
	}
	d.logger.Info("stopped")
	return runErr
}

// listen binds the HTTP surface and logs the start.
func (d *Daemon) listen() (*httpServer, error) {
	cfg := d.cfg.current()
	srv, err := newHTTPServer(d.o.Listen, d.o.SystemdSocket, surface{
		metrics:     d.exporter.Handler(),
		status:      d.statusView,
		ready:       d.last.ready.Load,
		reload:      func(context.Context) error { return d.cfg.reload("POST /-/reload") },
		quit:        func() { d.quitOnce.Do(func() { close(d.quit) }) },
		lifecycle:   d.o.Lifecycle,
		telemetry:   d.o.TelemetryPath,
		extraRoutes: map[string]http.Handler{"/sd": http.HandlerFunc(d.serveSD)},
	}.mux(), d.logger)
	if err != nil {
		return nil, err
	}
	d.logger.Info("vastwatch started", "version", d.o.Build.Version, "listen", srv.Addr(), "config", cfgSource(cfg),
		"markets", len(cfg.Markets), "fleets", len(cfg.Fleets), "dry_run", d.o.DryRun || cfg.DryRun, "simulate", d.o.Sim.Enabled)
	return srv, nil
}

// wait blocks until ctx ends, POST /-/quit asks to stop or the server fails, reloading the
// config on each SIGHUP.
func (d *Daemon) wait(ctx context.Context, serveErr <-chan error) error {
	for {
		select {
		case <-d.quit:
			d.logger.Info("shutdown requested over HTTP (POST /-/quit)")
			return nil
		case err := <-serveErr:
			if err != nil {
				return fmt.Errorf("http server: %w", err)
			}
			return nil
		case <-d.o.Signals:
			_ = d.cfg.reload("SIGHUP")
		case <-ctx.Done():
			return nil
		}
	}
}

// loop runs a cycle now and then one every poll interval of the running config, counted from
// the start of the last, until stop ends.
// A replica that gains the lease cycles at once rather than at its slower follower pace.
func (d *Daemon) loop(stop, cycleCtx context.Context) {
	for stop.Err() == nil {
		start := d.clk.Now()
		d.Cycle(cycleCtx)
		// Polls start a poll interval apart, as `check` promises, however long the cycle took
		// (its searches wait on the API's pacing); one that overran is followed at once.
		t := d.clk.NewTimer(max(0, d.pollInterval()-d.clk.Now().Sub(start)))
		select {
		case <-stop.Done():
			t.Stop()
			return
		case <-t.C():
		case <-d.lead.gained:
			t.Stop()
		}
	}
}

// pollInterval is the config's, or the slower follower interval while another replica leads.
func (d *Daemon) pollInterval() time.Duration {
	p := d.cfg.current().PollInterval
	if d.lead.enabled() && d.lead.acting() == nil {
		if d.o.Leader.FollowerPoll > 0 {
			return d.o.Leader.FollowerPoll
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
