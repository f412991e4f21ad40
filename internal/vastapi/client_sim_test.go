package vastapi_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// Integration tests: every client method against the simulator, in process, on a fake clock.

const simKey = "client-sim-key-5f1b"

var simT0 = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

type simEnv struct {
	sim *vastsim.Sim
	clk *clock.Fake
	c   *vastapi.Client
}

// newSimEnv builds a simulator and a client onto it. pacing nil: no pacing (the fake clock would
// otherwise move the market on between calls); pass vastapi.DefaultPacing to exercise it.
func newSimEnv(t *testing.T, pacing map[string]time.Duration, key string) *simEnv {
	t.Helper()
	clk := clock.NewFake(simT0)
	sim, err := vastsim.New(vastsim.Options{Seed: 21, Clock: clk, APIKey: simKey, DriftInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if pacing == nil {
		pacing = map[string]time.Duration{}
	}
	c, err := vastapi.New(vastapi.Config{
		BaseURL:    "http://vastsim.invalid",
		Key:        vastapi.NewSecret(key),
		HTTPClient: &http.Client{Transport: sim.Transport(), Timeout: time.Minute},
		Clock:      clk,
		Pacing:     pacing,
		Rand:       rand.New(rand.NewPCG(1, 2)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &simEnv{sim: sim, clk: clk, c: c}
}

func cliQuery(t *testing.T, body string) vastapi.Query {
	t.Helper()
	var q vastapi.Query
	if err := q.UnmarshalJSON([]byte(body)); err != nil {
		t.Fatal(err)
	}
	return q
}

func (e *simEnv) rentable(t *testing.T, pred func(o vastapi.Offer) bool) vastapi.Offer {
	t.Helper()
	for _, o := range e.sim.Offers() {
		if o.Rentable && (pred == nil || pred(o)) {
			return o
		}
	}
	t.Fatal("no rentable offer")
	return vastapi.Offer{}
}

func onDemand(label string) vastapi.CreateRequest {
	return vastapi.CreateRequest{Image: "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime", DiskGB: 20, Label: label,
		Runtype: "ssh_direct", Onstart: "nvidia-smi", Env: map[string]string{"TZ": "UTC"}}
}

func TestClientAgainstSimCurrentUser(t *testing.T) {
	e := newSimEnv(t, nil, simKey)
	u, err := e.c.CurrentUser(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.Credit != 100 {
		t.Fatalf("credit %v, want 100", u.Credit)
	}
}

func TestClientAgainstSimSearchOffers(t *testing.T) {
	e := newSimEnv(t, nil, "")
	q := cliQuery(t, `{"verified": {"eq": true}, "external": {"eq": false}, "rentable": {"eq": true}, "rented": {"eq": false}, "num_gpus": {"eq": "1"}, "order": [["dph_total", "asc"]], "type": "on-demand", "limit": 40, "allocated_storage": 20.0}`)
	offers, err := e.c.SearchOffers(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(offers) != 40 {
		t.Fatalf("%d offers, want the limit 40", len(offers))
	}
	m, err := q.Compile(e.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range offers {
		// The daemon re-checks every offer a search returns with the same predicate.
		if !m.Match(&o) {
			t.Fatalf("offer %d returned by the search fails the query on re-check", o.ID)
		}
		if o.DphTotal != o.PriceFor(20) {
			t.Fatalf("offer %d dph_total %v, want PriceFor(20) %v", o.ID, o.DphTotal, o.PriceFor(20))
		}
		if i > 0 && o.DphTotal < offers[i-1].DphTotal {
			t.Fatal("offers not in dph_total order")
		}
	}
	t.Run("SearchOffersFunc streams the same offers", func(t *testing.T) {
		var ids []int64
		if err := e.c.SearchOffersFunc(context.Background(), q, func(o *vastapi.Offer) error {
			ids = append(ids, o.ID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(ids) != len(offers) || ids[0] != offers[0].ID || ids[len(ids)-1] != offers[len(offers)-1].ID {
			t.Fatalf("streamed %d offers, want %d in the same order", len(ids), len(offers))
		}
	})
}

func TestClientAgainstSimCreateLifecycleDestroy(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil, simKey)
	o := e.rentable(t, nil)
	res, err := e.c.CreateInstance(ctx, o.ID, onDemand("vastwatch:test:web:n1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.InstanceID <= 0 || res.InstanceAPIKey.Empty() {
		t.Fatalf("create result %+v", res)
	}
	in, err := e.c.ShowInstance(ctx, res.InstanceID)
	if err != nil || in == nil {
		t.Fatalf("show: %v %v", in, err)
	}
	if in.ActualStatus.Valid || in.Label.V != "vastwatch:test:web:n1" || in.DphBase != o.DphBase {
		t.Fatalf("fresh instance: status %v label %v dph_base %v", in.ActualStatus, in.Label, in.DphBase)
	}
	if len(in.ExtraEnv) != 1 || in.ExtraEnv[0].Name != "TZ" {
		t.Fatalf("extra_env %v", in.ExtraEnv)
	}
	e.clk.Advance(2 * time.Minute)
	if in, _ = e.c.ShowInstance(ctx, res.InstanceID); in.Status() != "running" || in.Ports["22/tcp"] == nil || in.PublicIPAddr == "" {
		t.Fatalf("after boot: %q ports %v ip %q", in.Status(), in.Ports, in.PublicIPAddr)
	}
	if _, err := e.c.CreateInstance(ctx, o.ID, onDemand("again")); !vastapi.IsOfferTaken(err) {
		t.Fatalf("second rent of the offer: %v, want IsOfferTaken", err)
	}
	if err := e.c.SetInstanceState(ctx, res.InstanceID, "stopped"); err != nil {
		t.Fatal(err)
	}
	if in, _ = e.c.ShowInstance(ctx, res.InstanceID); in.IntendedStatus != "stopped" || in.Status() != "stopped" {
		t.Fatalf("after stop: %s/%s", in.Status(), in.IntendedStatus)
	}
	if err := e.c.SetInstanceState(ctx, res.InstanceID, "running"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SetLabel(ctx, res.InstanceID, "relabelled"); err != nil {
		t.Fatal(err)
	}
	if in, _ = e.c.ShowInstance(ctx, res.InstanceID); in.Label.V != "relabelled" || in.IntendedStatus != "running" {
		t.Fatalf("after start+label: %v %s", in.Label, in.IntendedStatus)
	}
	if err := e.c.DestroyInstance(ctx, res.InstanceID); err != nil {
		t.Fatal(err)
	}
	if in, err := e.c.ShowInstance(ctx, res.InstanceID); in != nil || err != nil {
		t.Fatalf("show after destroy: %v %v, want nil, nil", in, err)
	}
	if err := e.c.DestroyInstance(ctx, res.InstanceID); !vastapi.IsGone(err) {
		t.Fatalf("repeat destroy: %v, want IsGone", err)
	}
	if err := e.c.SetInstanceState(ctx, res.InstanceID, "running"); !vastapi.IsGone(err) {
		t.Fatalf("start a destroyed instance: %v, want IsGone", err)
	}
}

func TestClientAgainstSimBids(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil, simKey)
	o := e.rentable(t, func(o vastapi.Offer) bool { return o.MinBid > 0.05 })
	low := o.MinBid / 2
	req := onDemand("bid")
	req.Price = &low
	_, err := e.c.CreateInstance(ctx, o.ID, req)
	id, ok := vastapi.CreatedInstanceID(err)
	if !ok {
		t.Fatalf("bid below min_bid: %v, want an error carrying new_contract", err)
	}
	in, _ := e.c.ShowInstance(ctx, id)
	if in == nil || in.CurState != "stopped" || in.IntendedStatus != "stopped" || !in.IsBid {
		t.Fatalf("low bid instance: %+v", in)
	}
	if err := e.c.ChangeBid(ctx, id, o.MinBid*1.1); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(2 * time.Minute)
	if in, _ = e.c.ShowInstance(ctx, id); in.Status() != "running" || in.DphBase != o.MinBid*1.1 {
		t.Fatalf("after rebid: %s at %v", in.Status(), in.DphBase)
	}
	if err := e.sim.SetMinBid(o.ID, o.MinBid*2); err != nil {
		t.Fatal(err)
	}
	in, _ = e.c.ShowInstance(ctx, id)
	if in.CurState != "stopped" || in.IntendedStatus != "stopped" || in.NextState != "stopped" {
		t.Fatalf("outbid instance reads %s/%s/%s", in.CurState, in.IntendedStatus, in.NextState)
	}
}

func TestClientAgainstSimListsInstances(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, nil, simKey)
	want := map[int64]bool{}
	for _, o := range e.sim.Offers() {
		if len(want) == 57 {
			break
		}
		if !o.Rentable {
			continue
		}
		res, err := e.c.CreateInstance(ctx, o.ID, onDemand("l"))
		if vastapi.IsOfferTaken(err) {
			continue // an earlier rental took an overlapping offer
		}
		if err != nil {
			t.Fatal(err)
		}
		want[res.InstanceID] = true
	}
	for name, list := range map[string]func(context.Context) ([]vastapi.Instance, error){
		"v1 paginated": e.c.ListInstances, "v0": e.c.ListInstancesV0,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := list(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("listed %d instances, want %d", len(got), len(want))
			}
			for _, in := range got {
				if !want[in.ID] {
					t.Fatalf("unexpected instance %d", in.ID)
				}
			}
		})
	}
	reqs := 0
	for _, r := range e.sim.Requests() {
		if r.Endpoint == vastapi.EPListV1 {
			reqs++
		}
	}
	if reqs != 3 {
		t.Fatalf("v1 listing of 57 instances took %d requests, want 3 pages", reqs)
	}
}

func TestClientAgainstSimFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("429 and 5xx on reads are retried", func(t *testing.T) {
		e := newSimEnv(t, nil, simKey)
		e.sim.InjectFault(vastsim.Fault{Endpoint: vastapi.EPCurrentUser, Kind: vastsim.Fault429Text, Next: 1})
		e.sim.InjectFault(vastsim.Fault{Endpoint: vastapi.EPCurrentUser, Kind: vastsim.Fault503, Next: 1})
		e.sim.InjectFault(vastsim.Fault{Endpoint: vastapi.EPCurrentUser, Kind: vastsim.FaultReset, Next: 1})
		if _, err := e.c.CurrentUser(ctx); err != nil {
			t.Fatalf("read after 429, 503 and a reset: %v", err)
		}
		if n := len(e.sim.Requests()); n != 4 {
			t.Fatalf("%d attempts, want 4", n)
		}
	})
	t.Run("a create whose reply is lost is outcome-unknown and applied", func(t *testing.T) {
		e := newSimEnv(t, nil, simKey)
		o := e.rentable(t, nil)
		e.sim.InjectFault(vastsim.Fault{Endpoint: vastapi.EPCreate, Kind: vastsim.FaultLostReply, Next: 1})
		_, err := e.c.CreateInstance(ctx, o.ID, onDemand("lost"))
		if !vastapi.IsOutcomeUnknown(err) {
			t.Fatalf("lost create reply: %v, want IsOutcomeUnknown", err)
		}
		list, err := e.c.ListInstances(ctx)
		if err != nil || len(list) != 1 || list[0].Label.V != "lost" {
			t.Fatalf("after the lost reply the list holds %d instances (%v)", len(list), err)
		}
		creates := 0
		for _, r := range e.sim.Requests() {
			if r.Endpoint == vastapi.EPCreate {
				creates++
			}
		}
		if creates != 1 {
			t.Fatalf("the create was sent %d times, want once (never retried after sending)", creates)
		}
	})
	t.Run("a create that got 429 is retried", func(t *testing.T) {
		e := newSimEnv(t, nil, simKey)
		e.sim.InjectFault(vastsim.Fault{Endpoint: vastapi.EPCreate, Kind: vastsim.Fault429JSON, Next: 1})
		if _, err := e.c.CreateInstance(ctx, e.rentable(t, nil).ID, onDemand("x")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a create that got 502 is outcome-unknown", func(t *testing.T) {
		e := newSimEnv(t, nil, simKey)
		e.sim.InjectFault(vastsim.Fault{Endpoint: vastapi.EPCreate, Kind: vastsim.Fault502, Next: 1})
		if _, err := e.c.CreateInstance(ctx, e.rentable(t, nil).ID, onDemand("x")); !vastapi.IsOutcomeUnknown(err) {
			t.Fatalf("502 on create: %v", err)
		}
	})
	t.Run("200 success:false is an APIError", func(t *testing.T) {
		e := newSimEnv(t, nil, simKey)
		e.sim.InjectFault(vastsim.Fault{Endpoint: vastapi.EPCurrentUser, Kind: vastsim.FaultSuccessFail, Rate: 1})
		_, err := e.c.CurrentUser(ctx)
		var ae *vastapi.APIError
		if !errors.As(err, &ae) || ae.Status != 200 {
			t.Fatalf("success:false: %v", err)
		}
	})
}

func TestClientAgainstSimAuth(t *testing.T) {
	ctx := context.Background()
	wrong := newSimEnv(t, nil, "not-the-key")
	_, err := wrong.c.CurrentUser(ctx)
	if !vastapi.IsAuth(err) {
		t.Fatalf("wrong key: %v, want IsAuth", err)
	}
	if strings.Contains(err.Error(), "not-the-key") {
		t.Fatal("the key appears in the error")
	}
	anon := newSimEnv(t, nil, "")
	if _, err := anon.c.CurrentUser(ctx); !vastapi.IsAuth(err) {
		t.Fatalf("no key: %v, want IsAuth", err)
	}
	if _, err := anon.c.SearchOffers(ctx, cliQuery(t, `{"limit":3}`)); err != nil {
		t.Fatalf("anonymous search: %v", err)
	}
}

func TestClientAgainstSimPacingOnTheClock(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, vastapi.DefaultPacing, simKey)
	q := cliQuery(t, `{"limit":3}`)
	for range 3 {
		if _, err := e.c.SearchOffers(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	reqs := e.sim.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap < vastapi.SearchMinInterval {
			t.Fatalf("searches %v apart on the simulator's clock, want ≥ %v", gap, vastapi.SearchMinInterval)
		}
	}
}
