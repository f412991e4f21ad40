package vastapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// Charges follows next_token across pages and returns every row once, with its items; a key
// without billing_read is refused with an error IsAuth recognises.
func TestChargesFollowsPagesAndNeedsBillingRead(t *testing.T) {
	e := newSimEnv(t, nil, simKey)
	ctx := context.Background()
	offers, err := e.c.SearchOffers(ctx, vastapi.Query{Limit: 2000, Order: []vastapi.OrderBy{{Field: "dph_total"}}})
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]bool{}
	for i := 0; i < len(offers) && len(created) < vastapi.ChargesPageSize+30; i++ {
		res, err := e.c.CreateInstance(ctx, offers[i].ID, vastapi.CreateRequest{Image: "img", DiskGB: 10})
		if vastapi.IsOfferTaken(err) {
			continue // a machine's overlapping offer went with an earlier create
		}
		if err != nil {
			t.Fatal(err)
		}
		created[fmt.Sprintf("instance-%d", res.InstanceID)] = true
	}
	if len(created) <= vastapi.ChargesPageSize {
		t.Fatalf("only %d instances: the listing would fit one page", len(created))
	}
	e.clk.Advance(2 * time.Hour)
	monthStart := time.Date(simT0.Year(), simT0.Month(), 1, 0, 0, 0, 0, time.UTC)
	before := len(e.sim.Requests())
	charges, err := e.c.Charges(ctx, monthStart, e.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, r := range e.sim.Requests()[before:] {
		if r.Endpoint == vastapi.EPCharges {
			pages++
		}
	}
	if pages != 2 {
		t.Fatalf("%d charges requests for %d rows, want 2 pages", pages, len(created))
	}
	seen := map[string]bool{}
	for _, c := range charges {
		if seen[c.Source] || !created[c.Source] {
			t.Fatalf("row %s twice or not one of ours", c.Source)
		}
		seen[c.Source] = true
		sum := 0.0
		for _, it := range c.Items {
			sum += it.Amount
		}
		if len(c.Items) == 0 || c.Amount <= 0 || sum < c.Amount-1e-9 || sum > c.Amount+1e-9 {
			t.Fatalf("row %+v: items do not add up to the amount", c)
		}
	}
	if len(seen) != len(created) {
		t.Fatalf("%d rows, want %d", len(seen), len(created))
	}
	if _, err := e.c.Charges(ctx, e.clk.Now(), monthStart); err == nil {
		t.Fatal("a range that ends before it starts must be refused before any request")
	}

	clk := clock.NewFake(simT0)
	sim, err := vastsim.New(vastsim.Options{Seed: 21, Clock: clk, APIKey: simKey,
		Keys: map[string][]string{"read-only-key": {vastsim.ScopeMisc, vastsim.ScopeUserRead, vastsim.ScopeInstanceRead}}})
	if err != nil {
		t.Fatal(err)
	}
	ro, err := vastapi.New(vastapi.Config{BaseURL: "http://vastsim.invalid", Key: vastapi.NewSecret("read-only-key"),
		HTTPClient: &http.Client{Transport: sim.Transport()}, Clock: clk, Pacing: map[string]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Charges(ctx, monthStart, clk.Now()); !vastapi.IsAuth(err) {
		t.Fatalf("charges with a key without billing_read: %v, want an auth error", err)
	}
}
