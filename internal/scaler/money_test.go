package scaler_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// Dry-run books no spend: the creates it plans are never sent, so the month's spend book must
// not grow by their price (docs/design.md §4 "Dry-run", issue 16 item 7).
func TestDryRunBooksNoSpend(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(3))
	w := newWorld(t, 7, simConfig(f), func(_ *vastsim.Options, o *scaler.Options) { o.DryRun = true })
	planned := 0
	for range 4 {
		rep := w.mustStep()
		for _, o := range rep.Outcomes {
			if o.Result == scaler.ResultDryRun {
				planned++
			}
		}
		w.clk.Advance(time.Hour)
	}
	if planned == 0 {
		t.Fatal("positive control: dry-run planned no create")
	}
	if n := len(w.sim.Instances()); n != 0 {
		t.Fatalf("dry-run rented %d instances", n)
	}
	b, err := scaler.OpenSpendBook(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := b.Month(); m.Account != 0 || m.Fleets["web"] != 0 {
		t.Fatalf("dry-run booked $%.4f to the account and $%.4f to web for creates it never sent", m.Account, m.Fleets["web"])
	}
}

// rowsAPI is the simulator's client with its replies rewritten, as a broken or hostile API
// would send them.
type rowsAPI struct {
	*vastapi.Client
	mu sync.Mutex
	// instances rewrites the instance list; search one market search's reply (nil: as sent).
	instances func([]vastapi.Instance) []vastapi.Instance
	search    func(q vastapi.Query, offers []vastapi.Offer, err error) ([]vastapi.Offer, error)
}

func (a *rowsAPI) ListInstances(ctx context.Context) ([]vastapi.Instance, error) {
	ins, err := a.Client.ListInstances(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil && a.instances != nil {
		ins = a.instances(ins)
	}
	return ins, err
}

func (a *rowsAPI) SearchOffers(ctx context.Context, q vastapi.Query) ([]vastapi.Offer, error) {
	offers, err := a.Client.SearchOffers(ctx, q)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.search != nil {
		return a.search(q, offers, err)
	}
	return offers, err
}

// rewrite puts a rowsAPI between w's scaler and the simulator.
func (w *world) rewrite() *rowsAPI {
	a := &rowsAPI{Client: w.api}
	w.opts.API = a
	w.restart()
	return a
}

// frozen is in as Vast lists a frozen instance: paused with its memory kept, its GPU still
// charged (docs/vast-api.md §4).
func frozen(in vastapi.Instance) vastapi.Instance {
	in.ActualStatus, in.IntendedStatus = vastapi.Some("frozen"), "frozen"
	return in
}

// A frozen instance bills like a running one: burn (and so the runway) counts it at dph_total,
// committed spend at its full price (issue 16 item 3).
func TestFrozenInstancesBillLikeRunningOnes(t *testing.T) {
	m := testMarket("m", vastapi.OnDemand)
	cfg := testConfig(testFleet("web", m, func(f *policy.Fleet) { f.Target = 1 }))
	run := testInstance(1, "web", "n1", "running", 0.5)
	fro := frozen(testInstance(2, "web", "n2", "running", 0.5))
	if got := scaler.Burn(&fro); !near(got, fro.DphTotal) {
		t.Fatalf("burn of a frozen instance $%.4f/h, want its dph_total $%.4f/h", got, fro.DphTotal)
	}
	rep := scaler.CycleReport{At: t0, Observation: obsOf(100, nil, run, fro)}
	rep.Plan = scaler.Plan(t0, rep.Observation, cfg, scaler.State{})
	v := scaler.NewView(cfg, &rep, nil)
	if want := run.DphTotal + fro.DphTotal; !near(v.Account.Burn, want) {
		t.Fatalf("account burn $%.4f/h, want $%.4f/h (the frozen instance's GPU is charged)", v.Account.Burn, want)
	}
	if !near(v.Account.Committed, 2*(0.5+0.01)) {
		t.Fatalf("committed $%.4f/h, want both instances at full price", v.Account.Committed)
	}
}

// A frozen instance is stopped to its fleet, yet billed in full: stopped_ttl removes it from a
// fleet that is at target without it, as it would a stopped one.
func TestFrozenSpareExpiresLikeAStoppedOne(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(2))
	w := newWorld(t, 11, simConfig(f))
	ins := w.settle("web", 2)
	victim := ins[0].ID
	// At target without it: the frozen instance is a spare, not started again.
	g := *f
	g.Target = 1
	w.cfg = simConfig(&g)
	api := w.rewrite()
	api.instances = func(rows []vastapi.Instance) []vastapi.Instance {
		for i := range rows {
			if rows[i].ID == victim {
				rows[i] = frozen(rows[i])
			}
		}
		return rows
	}
	frozenAt := w.clk.Now()
	for range 90 {
		rep := w.mustStep()
		for _, o := range rep.Outcomes {
			if o.Action.InstanceID == victim && o.Action.Kind == scaler.KindDestroy {
				if o.Action.Reason != scaler.ReasonStoppedTTL {
					t.Fatalf("frozen instance destroyed for %s", o.Action.Reason)
				}
				if at := rep.At.Sub(frozenAt); at <= f.StoppedTTL {
					t.Fatalf("destroyed %s after it froze, before its stopped_ttl %s", at, f.StoppedTTL)
				}
				return
			}
		}
	}
	t.Fatalf("the frozen spare, billed at its full price, was never removed (stopped_ttl %s)", f.StoppedTTL)
}
