package daemon

import (
	"context"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// Cycle runs one round: the scaler's whole cycle (look, then act) while this replica leads,
// the read-only look alone while it follows; then publishes what it saw.
func (d *Daemon) Cycle(ctx context.Context) {
	cfg := d.cfg.current()
	start := d.clk.Now()
	// The charges first: the plan takes month-to-date spend up to them, from the first cycle
	// of a process on (a lost spend book must not look like a month with nothing spent).
	d.charges.refresh(ctx, start)
	var (
		rep scaler.CycleReport
		err error
	)
	// With no fleets vastwatch only watches: it never calls a mutating endpoint, whatever the
	// key allows (docs/design.md §10), so not even orphans are destroyed.
	if act := d.lead.acting(); act != nil && len(cfg.Fleets) > 0 && !d.o.WatchOnly && d.stateReady(act) {
		// Losing the lease cancels the cycle at once: no new action starts, and a create in
		// flight is journalled as unknown.
		cctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(act, cancel)
		rep, err = d.scaler.Cycle(cctx, cfg)
		stop()
		cancel()
	} else {
		rep, err = d.follow(ctx, cfg, start)
	}
	if ctx.Err() != nil {
		// A shutdown abandoned the cycle: nothing failed, and the last view stays published.
		d.logger.Info("cycle abandoned: shutting down")
		return
	}
	d.publish(cfg, start, &rep, err)
}

// follow is a follower's cycle: the same look as the leader's, so its metrics and /sd match,
// with the state the leader wrote (docs/design.md §7); nothing is executed or counted as a
// decision.
func (d *Daemon) follow(ctx context.Context, cfg *policy.Config, now time.Time) (scaler.CycleReport, error) {
	var reader scaler.Reader = d.api
	if d.recorder != nil {
		reader = wholeMarkets{d.api}
	}
	look := scaler.Look{Reader: reader, Prober: scaler.NetProber{}, Demand: d.demand, State: func(scaler.Observation) scaler.State {
		st, err := scaler.ReadStateFrom(d.store, d.o.PendingGrace)
		if err != nil {
			// Not written yet, or unreadable: the plan shown is then made from the instance
			// list alone. A follower never acts on it.
			d.logger.Debug("follower: no journal to plan with", "err", err)
		}
		st.Bill = scaler.NewerBill(st.Bill, d.charges.bill())
		return st
	}}
	rep, err := look.Run(ctx, now, cfg, d.followerCarry)
	if err == nil {
		scaler.LogObservation(d.logger, &rep.Observation)
		d.followerCarry = rep.Carry
		rep.Avoided = rep.Plan.Avoided
	}
	return rep, err
}

// publish hands a cycle's outcome to the metrics and the HTTP surface. A failed cycle keeps
// the previous view and snapshot and says so.
func (d *Daemon) publish(cfg *policy.Config, start time.Time, rep *scaler.CycleReport, err error) {
	if err != nil {
		d.last.failed(start, rep, err)
		d.exporter.SetPoll(false, start)
		d.logger.Warn("poll failed; keeping the previous snapshot, no action this cycle", "err", err)
		return
	}
	if rep.SpendErr != nil {
		d.logger.Warn("month-to-date spend not saved; fleets under a monthly budget stop creating", "err", rep.SpendErr)
	}
	d.record(cfg, &rep.Observation)
	view := scaler.NewView(cfg, rep, rep.Avoided)
	snap := snapshotOf(cfg, view, &rep.Observation)
	snap.Account.MonthCharges = d.charges.current()
	// The status page needs only each market's count and prices: keeping the offers themselves
	// until the next cycle would double the daemon's peak memory on a large market.
	markets := summarize(cfg, &rep.Observation, d.last.load().markets)
	d.last.succeeded(start, view, markets)
	if err := d.exporter.Publish(snap); err != nil {
		d.logger.Error("publish metrics snapshot", "err", err)
	}
	for fleet, dollars := range rep.Cost {
		d.exporter.AddFleetCost(fleet, dollars)
	}
	d.exporter.SetPoll(true, start)
	d.prices.recordMarkets(start, markets)
	d.sizes.recordFleets(start, view.Fleets)
	d.last.ready.Store(true)
	d.logger.Debug("cycle done", "took", d.clk.Now().Sub(start), "actions", len(rep.Outcomes),
		"instances", len(rep.Observation.Instances), "credit", rep.Observation.User.Credit)
}
