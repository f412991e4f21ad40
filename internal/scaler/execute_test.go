package scaler_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// fakeMutator is a Mutator of func fields; a nil func fails the test when called.
type fakeMutator struct {
	t       *testing.T
	create  func(offerID int64, req vastapi.CreateRequest) (vastapi.CreateResult, error)
	destroy func(id int64) error
	state   func(id int64, state string) error
	search  func(q vastapi.Query) ([]vastapi.Offer, error)
	bid     func(id int64, price float64) error
	calls   []string
}

var _ scaler.Mutator = (*fakeMutator)(nil)

func (f *fakeMutator) CreateInstance(_ context.Context, offerID int64, req vastapi.CreateRequest) (vastapi.CreateResult, error) {
	f.calls = append(f.calls, "create")
	if f.create == nil {
		f.t.Fatal("unexpected create")
	}
	return f.create(offerID, req)
}
func (f *fakeMutator) DestroyInstance(_ context.Context, id int64) error {
	f.calls = append(f.calls, "destroy")
	if f.destroy == nil {
		f.t.Fatal("unexpected destroy")
	}
	return f.destroy(id)
}
func (f *fakeMutator) SetInstanceState(_ context.Context, id int64, state string) error {
	f.calls = append(f.calls, "state:"+state)
	if f.state == nil {
		f.t.Fatal("unexpected state change")
	}
	return f.state(id, state)
}
func (f *fakeMutator) ChangeBid(_ context.Context, id int64, price float64) error {
	f.calls = append(f.calls, "bid")
	if f.bid == nil {
		f.t.Fatal("unexpected change bid")
	}
	return f.bid(id, price)
}
func (f *fakeMutator) SearchOffers(_ context.Context, q vastapi.Query) ([]vastapi.Offer, error) {
	f.calls = append(f.calls, "search")
	if f.search == nil {
		f.t.Fatal("unexpected search")
	}
	return f.search(q)
}

// planOne plans a single create on offer o for a one-instance fleet.
func planOne(t *testing.T, o vastapi.Offer) scaler.Action {
	t.Helper()
	cfg := testConfig(testFleet("f", testMarket("m", vastapi.OnDemand), func(f *policy.Fleet) { f.Target = 1 }))
	r := scaler.Plan(t0, obsOf(100, map[string][]vastapi.Offer{"m": {o}}), cfg, scaler.State{})
	if len(r.Actions) != 1 || r.Actions[0].Kind != scaler.KindCreate {
		t.Fatalf("plan: %v", r.Actions)
	}
	return r.Actions[0]
}

func listed(o vastapi.Offer) func(vastapi.Query) ([]vastapi.Offer, error) {
	return func(q vastapi.Query) ([]vastapi.Offer, error) {
		f := q.Filter("id")
		if f == nil || len(f.Conds) != 1 || f.Conds[0].Op != vastapi.OpEq {
			return nil, errors.New("re-check not narrowed to the offer id")
		}
		if v, _ := f.Conds[0].Value.Float(); int64(v) != o.ID {
			return nil, errors.New("re-check for another offer")
		}
		return []vastapi.Offer{o}, nil
	}
}

func TestExecutor(t *testing.T) {
	o := testOffer(1, 0.3)
	newExec := func(t *testing.T, m *fakeMutator) (*scaler.Executor, *scaler.Journal, string) {
		dir := t.TempDir()
		j, err := scaler.OpenJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		return &scaler.Executor{API: m, Journal: j, Clock: clock.NewFake(t0), AvoidFor: time.Hour}, j, dir
	}

	t.Run("dry-run sends no request at all and counts dry_run", func(t *testing.T) {
		m := &fakeMutator{t: t}
		ex, _, _ := newExec(t, m)
		ex.DryRun = true
		acts := []scaler.Action{planOne(t, o), {Kind: scaler.KindDestroy, Fleet: "f", InstanceID: 3, Reason: scaler.ReasonFailed},
			{Kind: scaler.KindStop, Fleet: "f", InstanceID: 4, Reason: scaler.ReasonAboveTarget}}
		for _, out := range ex.Execute(context.Background(), acts) {
			if out.Result != scaler.ResultDryRun {
				t.Errorf("%s: %s", out.Action, out.Result)
			}
		}
		if len(m.calls) != 0 {
			t.Fatalf("calls in dry-run: %v", m.calls)
		}
	})
	t.Run("create: the intent is synced before the request is sent, the id journalled after", func(t *testing.T) {
		a := planOne(t, o)
		var dir string
		m := &fakeMutator{t: t, search: listed(o)}
		m.create = func(offerID int64, req vastapi.CreateRequest) (vastapi.CreateResult, error) {
			b, err := os.ReadFile(filepath.Join(dir, scaler.JournalFile))
			if err != nil || !strings.Contains(string(b), a.Nonce) {
				t.Errorf("create sent before its intent was on disk: %s %v", b, err)
			}
			if offerID != o.ID || req.Label != a.Label {
				t.Errorf("create %d %q", offerID, req.Label)
			}
			return vastapi.CreateResult{InstanceID: 555}, nil
		}
		ex, j, d := newExec(t, m)
		dir = d
		outs := ex.Execute(context.Background(), []scaler.Action{a})
		if outs[0].Result != scaler.ResultOK || outs[0].InstanceID != 555 {
			t.Fatalf("outcome %+v", outs[0])
		}
		c := j.Creates()
		if len(c) != 1 || c[0].InstanceID != 555 || c[0].Outcome != scaler.OutcomeCreated || c[0].Price != a.Price {
			t.Fatalf("journal %+v", c)
		}
		if strings.Join(m.calls, ",") != "search,create" {
			t.Errorf("calls %v", m.calls)
		}
	})
	t.Run("create: an offer gone at the re-check is not rented", func(t *testing.T) {
		m := &fakeMutator{t: t, search: func(vastapi.Query) ([]vastapi.Offer, error) { return nil, nil }}
		ex, j, _ := newExec(t, m)
		outs := ex.Execute(context.Background(), []scaler.Action{planOne(t, o)})
		if outs[0].Result != scaler.ResultSkipped || len(j.Creates()) != 0 {
			t.Fatalf("outcome %+v journal %v", outs[0], j.Creates())
		}
	})
	t.Run("create: an offer whose price rose since the plan is not rented", func(t *testing.T) {
		dear := o
		dear.DphBase += 0.05
		m := &fakeMutator{t: t, search: listed(dear)}
		ex, _, _ := newExec(t, m)
		outs := ex.Execute(context.Background(), []scaler.Action{planOne(t, o)})
		if outs[0].Result != scaler.ResultSkipped || !strings.Contains(outs[0].Why, "planned") {
			t.Fatalf("outcome %+v", outs[0])
		}
	})
	t.Run("create: a failed re-check search is an error and nothing is rented", func(t *testing.T) {
		m := &fakeMutator{t: t, search: func(vastapi.Query) ([]vastapi.Offer, error) { return nil, errors.New("503") }}
		ex, _, _ := newExec(t, m)
		if outs := ex.Execute(context.Background(), []scaler.Action{planOne(t, o)}); outs[0].Result != scaler.ResultError {
			t.Fatalf("outcome %+v", outs[0])
		}
	})
	t.Run("create: an unknown outcome stays pending under its nonce", func(t *testing.T) {
		m := &fakeMutator{t: t, search: listed(o), create: func(int64, vastapi.CreateRequest) (vastapi.CreateResult, error) {
			return vastapi.CreateResult{}, &vastapi.OutcomeUnknownError{Endpoint: vastapi.EPCreate, Err: errors.New("connection reset")}
		}}
		ex, j, _ := newExec(t, m)
		a := planOne(t, o)
		outs := ex.Execute(context.Background(), []scaler.Action{a})
		c := j.Creates()
		if !outs[0].Unknown || len(c) != 1 || c[0].Outcome != scaler.OutcomeUnknown || c[0].Nonce != a.Nonce {
			t.Fatalf("outcome %+v journal %+v", outs[0], c)
		}
	})
	t.Run("create: a failed reply carrying new_contract journals the instance", func(t *testing.T) {
		m := &fakeMutator{t: t, search: listed(o), create: func(int64, vastapi.CreateRequest) (vastapi.CreateResult, error) {
			return vastapi.CreateResult{}, &vastapi.APIError{Status: 200, Msg: "bid too low", NewContract: vastapi.Some(int64(808))}
		}}
		ex, j, _ := newExec(t, m)
		outs := ex.Execute(context.Background(), []scaler.Action{planOne(t, o)})
		c := j.Creates()
		if outs[0].InstanceID != 808 || len(c) != 1 || c[0].InstanceID != 808 || c[0].Outcome != scaler.OutcomeCreated {
			t.Fatalf("outcome %+v journal %+v", outs[0], c)
		}
	})
	t.Run("create: a refusal by the API is forgotten", func(t *testing.T) {
		m := &fakeMutator{t: t, search: listed(o), create: func(int64, vastapi.CreateRequest) (vastapi.CreateResult, error) {
			return vastapi.CreateResult{}, &vastapi.APIError{Status: 404, Code: "no_such_ask", Msg: "not available"}
		}}
		ex, j, _ := newExec(t, m)
		outs := ex.Execute(context.Background(), []scaler.Action{planOne(t, o)})
		if outs[0].Result != scaler.ResultError || outs[0].Unknown || len(j.Creates()) != 0 {
			t.Fatalf("outcome %+v journal %+v", outs[0], j.Creates())
		}
	})
	t.Run("a bid-market create without an explicit price is refused", func(t *testing.T) {
		m := &fakeMutator{t: t}
		ex, _, _ := newExec(t, m)
		a := planOne(t, o)
		a.Query.Type = vastapi.Bid
		if outs := ex.Execute(context.Background(), []scaler.Action{a}); outs[0].Result != scaler.ResultError || len(m.calls) != 0 {
			t.Fatalf("outcome %+v calls %v", outs[0], m.calls)
		}
	})
	t.Run("create without a journal is refused", func(t *testing.T) {
		m := &fakeMutator{t: t}
		ex := &scaler.Executor{API: m, Clock: clock.NewFake(t0)}
		if outs := ex.Execute(context.Background(), []scaler.Action{planOne(t, o)}); outs[0].Result != scaler.ResultError || len(m.calls) != 0 {
			t.Fatalf("outcome %+v calls %v", outs[0], m.calls)
		}
	})
	t.Run("destroy of a gone instance is done", func(t *testing.T) {
		m := &fakeMutator{t: t, destroy: func(int64) error {
			return &vastapi.APIError{Status: 200, Code: "no_such_instance"}
		}}
		ex, _, _ := newExec(t, m)
		outs := ex.Execute(context.Background(), []scaler.Action{{Kind: scaler.KindDestroy, Fleet: "f", InstanceID: 9, Reason: scaler.ReasonAboveTarget}})
		if outs[0].Result != scaler.ResultOK {
			t.Fatalf("outcome %+v", outs[0])
		}
	})
	t.Run("a failed destroy holds back the creates that counted on it", func(t *testing.T) {
		m := &fakeMutator{t: t, destroy: func(int64) error { return errors.New("boom") }}
		ex, _, _ := newExec(t, m)
		outs := ex.Execute(context.Background(), []scaler.Action{
			{Kind: scaler.KindDestroy, Fleet: "f", InstanceID: 9, Reason: scaler.ReasonFailed}, planOne(t, o)})
		if outs[0].Result != scaler.ResultError || outs[1].Result != scaler.ResultSkipped {
			t.Fatalf("outcomes %+v", outs)
		}
	})
	t.Run("destroying a failed instance avoids its machine", func(t *testing.T) {
		m := &fakeMutator{t: t, destroy: func(int64) error { return nil }}
		ex, j, _ := newExec(t, m)
		ex.Execute(context.Background(), []scaler.Action{{Kind: scaler.KindDestroy, Fleet: "f", InstanceID: 9, MachineID: 42, Reason: scaler.ReasonFailed}})
		if until, ok := j.Avoided()[42]; !ok || !until.Equal(t0.Add(time.Hour)) {
			t.Fatalf("avoided %v", j.Avoided())
		}
	})
	t.Run("destroying in a failure burst avoids no machine and forgives the burst's", func(t *testing.T) {
		m := &fakeMutator{t: t, destroy: func(int64) error { return nil }}
		ex, j, _ := newExec(t, m)
		outs := ex.Execute(context.Background(), []scaler.Action{
			{Kind: scaler.KindDestroy, Fleet: "f", InstanceID: 9, MachineID: 42, Reason: scaler.ReasonFailed},
			{Kind: scaler.KindDestroy, Fleet: "f", InstanceID: 10, MachineID: 43, Reason: scaler.ReasonFailureBurst}})
		if !strings.Contains(outs[0].Why, "machine 42 avoided until") || !strings.Contains(outs[1].Why, "machine 43 not avoided") {
			t.Fatalf("outcomes say %q and %q", outs[0].Why, outs[1].Why)
		}
		if av := j.Avoided(); len(av) != 0 {
			t.Fatalf("avoided %v after the burst", av)
		}
		if f := j.Failures(); f[42].Count != 0 || !f[42].Burst || !f[43].Burst {
			t.Fatalf("failures %+v: both forgiven, neither counted", f)
		}
	})
	t.Run("a stop is journalled before it is sent", func(t *testing.T) {
		var j *scaler.Journal
		m := &fakeMutator{t: t}
		m.state = func(id int64, state string) error {
			if _, ok := j.StoppedByUs()[id]; !ok || state != "stopped" {
				t.Errorf("stop %d sent before it was journalled", id)
			}
			return nil
		}
		ex, jj, _ := newExec(t, m)
		j = jj
		ex.Execute(context.Background(), []scaler.Action{{Kind: scaler.KindStop, Fleet: "f", InstanceID: 9, Reason: scaler.ReasonAboveTarget}})
		if _, ok := j.StoppedByUs()[9]; !ok {
			t.Fatal("stop not journalled")
		}
	})
	t.Run("a start is journalled so its boot timeout survives a restart", func(t *testing.T) {
		m := &fakeMutator{t: t, state: func(int64, string) error { return nil }}
		ex, j, _ := newExec(t, m)
		_ = j.SetStopped(9, t0.Add(-time.Hour))
		ex.Execute(context.Background(), []scaler.Action{{Kind: scaler.KindStart, Fleet: "f", InstanceID: 9, Reason: scaler.ReasonBelowTarget}})
		if at, ok := j.StartedByUs()[9]; !ok || !at.Equal(t0) {
			t.Fatalf("started %v", j.StartedByUs())
		}
		if _, ok := j.StoppedByUs()[9]; ok {
			t.Fatal("still recorded as stopped by us")
		}
	})
	t.Run("the refuser never mutates", func(t *testing.T) {
		var r scaler.Refuser
		ex := &scaler.Executor{API: r, Clock: clock.NewFake(t0)}
		j, _ := scaler.OpenJournal(t.TempDir())
		ex.Journal = j
		outs := ex.Execute(context.Background(), []scaler.Action{{Kind: scaler.KindDestroy, Fleet: "f", InstanceID: 1, Reason: "x"}})
		if outs[0].Result != scaler.ResultError || !errors.Is(outs[0].Err, scaler.ErrRefused) {
			t.Fatalf("outcome %+v", outs[0])
		}
	})
}
