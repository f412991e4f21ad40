package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

func TestMonthToDateSumsItemsAndProratesRowsFromLastMonth(t *testing.T) {
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := month.Add(10 * 24 * time.Hour)
	at := func(d time.Duration) float64 { return float64(month.Add(d).Unix()) }
	rows := []vastapi.Charge{
		{Start: at(time.Hour), End: at(3 * time.Hour), Type: "instance", Amount: 3,
			Items: []vastapi.ChargeItem{{Type: "gpu", Amount: 2}, {Type: "disk", Amount: 0.5}, {Type: "bwd", Amount: 0.5}}},
		// Began 30 days before the month, ended 10 days into it: a quarter of it is this month's.
		{Start: at(-30 * 24 * time.Hour), End: at(10 * 24 * time.Hour), Type: "instance", Amount: 40,
			Items: []vastapi.ChargeItem{{Type: "gpu", Amount: 36}, {Type: "disk", Amount: 4}}},
		{Start: at(2 * time.Hour), End: at(2 * time.Hour), Type: "reserved", Amount: 7},
	}
	got := monthToDate(rows, month, now)
	want := map[string]float64{"gpu": 2 + 9, "disk": 0.5 + 1, "bwd": 0.5, "bwu": 0, "reserved": 7}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-9 {
			t.Fatalf("%s: %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// A month Vast has charged nothing yet reads as $0 for each item, not as no data.
func TestAMonthWithoutChargesIsZeroForEveryItem(t *testing.T) {
	month := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	got := monthToDate(nil, month, month.Add(time.Hour))
	want := map[string]float64{"gpu": 0, "disk": 0, "bwd": 0, "bwu": 0}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestChargesPollerReadsWhenDueAndIsAbsentWithoutBillingRead(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	sim, err := vastsim.New(vastsim.Options{Seed: 4, Clock: clk, APIKey: "full-key", Machines: 50,
		Keys: map[string][]string{"no-billing": {vastsim.ScopeMisc, vastsim.ScopeUserRead, vastsim.ScopeInstanceRead}}})
	if err != nil {
		t.Fatal(err)
	}
	client := func(key string) *vastapi.Client {
		c, err := vastapi.New(vastapi.Config{BaseURL: "http://sim.invalid", Key: vastapi.NewSecret(key),
			HTTPClient: &http.Client{Transport: sim.Transport()}, Clock: clk, Pacing: map[string]time.Duration{}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	full := client("full-key")
	offers, err := full.SearchOffers(ctx, vastapi.Query{Limit: 5})
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %v", err)
	}
	if _, err := full.CreateInstance(ctx, offers[0].ID, vastapi.CreateRequest{Image: "img", DiskGB: 10}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Hour)
	chargeReqs := func() int {
		n := 0
		for _, r := range sim.Requests() {
			if r.Endpoint == vastapi.EPCharges {
				n++
			}
		}
		return n
	}

	p := &chargesPoller{api: full, logger: newTestLogger(t)}
	if p.current() != nil {
		t.Fatal("charges before any read must be unknown, not zero")
	}
	p.refresh(ctx, clk.Now())
	got := p.current()
	rows, err := full.Charges(ctx, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), clk.Now())
	if err != nil || len(rows) != 1 {
		t.Fatalf("charges: %v %v", rows, err)
	}
	for _, it := range rows[0].Items {
		if math.Abs(got[it.Type]-it.Amount) > 1e-9 {
			t.Fatalf("%s: %v, want the simulator's %v", it.Type, got[it.Type], it.Amount)
		}
	}
	if got["gpu"] <= 0 || got["disk"] <= 0 {
		t.Fatalf("a running instance for 3h was charged nothing: %v", got)
	}
	before := chargeReqs()
	clk.Advance(chargesEvery / 2)
	p.refresh(ctx, clk.Now())
	if chargeReqs() != before {
		t.Fatal("the charges were read again before they were due")
	}
	clk.Advance(chargesEvery / 2)
	p.refresh(ctx, clk.Now())
	if chargeReqs() != before+1 {
		t.Fatal("the charges were not read again when due")
	}

	var log bytes.Buffer
	ro := &chargesPoller{api: client("no-billing"), logger: slog.New(slog.NewTextHandler(&log, nil))}
	for range 3 {
		ro.refresh(ctx, clk.Now())
		clk.Advance(chargesEvery)
	}
	if ro.current() != nil {
		t.Fatalf("a key without billing_read exports charges: %v", ro.current())
	}
	if n := strings.Count(log.String(), "may not read billing"); n != 1 {
		t.Fatalf("the refusal was logged %d times, want once:\n%s", n, log.String())
	}
	before = chargeReqs()
	clk.Advance(chargesRefusedRetry)
	ro.refresh(ctx, clk.Now())
	if chargeReqs() != before+1 {
		t.Fatal("a refused key is never asked again")
	}
}
