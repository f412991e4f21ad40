package scaler_test

import (
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/scaler"
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
