package vastsim

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// TestDirectMatchesHTTP: the direct reads a backtest makes are the REST API's replies as the
// real client decodes them, for searches of every pricing and for instances in every state.
func TestDirectMatchesHTTP(t *testing.T) {
	h := newHarness(t, Options{Seed: 5, Machines: 60, PublicIPAddr: "127.0.0.1"})
	cl, err := vastapi.New(vastapi.Config{BaseURL: "http://sim", Key: vastapi.NewSecret(testKey), HTTPClient: h.hc,
		Clock: h.clk, Pacing: map[string]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Instances in every state: running, loading, provisioning, stopped, outbid, failed.
	var ids []int64
	for _, o := range h.sim.Offers() {
		if !o.Rentable || len(ids) >= 6 || h.offer(o.ID).Rentable == false {
			continue
		}
		price := 0.0
		if len(ids)%2 == 1 {
			price = o.MinBid * 1.2
		}
		if st, m := h.create(o.ID, 10, price); st == 200 && m["success"] == true {
			ids = append(ids, int64(m["new_contract"].(float64)))
			h.clk.Advance(40 * time.Second)
		}
	}
	h.clk.Advance(30 * time.Second)
	if err := h.sim.FailInstance(ids[0], FailExited); err != nil {
		t.Fatal(err)
	}
	h.do("PUT", "/api/v0/instances/"+itoa(ids[1])+"/", map[string]any{"state": "stopped"})
	queries := []vastapi.Query{
		{},
		{Type: vastapi.Bid, AllocatedStorage: vastapi.Some(20.0), Limit: 30, Order: []vastapi.OrderBy{{Field: "dph_total"}}},
		{Type: vastapi.Reserved, Limit: 5, Order: []vastapi.OrderBy{{Field: "score", Desc: true}}},
		{AllocatedStorage: vastapi.Some(64.0), Order: []vastapi.OrderBy{{Field: "duration"}}},
	}
	for _, q := range queries {
		want, err := cl.SearchOffers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.sim.Direct().SearchOffers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("query %+v: direct search differs from HTTP (%d and %d offers)", q, len(got), len(want))
		}
	}
	want, err := cl.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := h.sim.Direct().ListInstances(ctx)
	if len(got) != len(ids) || !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
			for f := range g.NumField() {
				if !reflect.DeepEqual(g.Field(f).Interface(), w.Field(f).Interface()) {
					t.Errorf("instance %d %s: direct %#v, HTTP %#v", got[i].ID, g.Type().Field(f).Name, g.Field(f).Interface(), w.Field(f).Interface())
				}
			}
		}
		t.Fatalf("direct instance list differs from HTTP (%d and %d)", len(got), len(want))
	}
	wu, err := cl.CurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gu, _ := h.sim.Direct().CurrentUser(ctx); !reflect.DeepEqual(gu, wu) {
		t.Errorf("user: direct %+v, HTTP %+v", gu, wu)
	}
}
