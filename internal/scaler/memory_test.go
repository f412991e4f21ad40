package scaler_test

import (
	"os"
	"testing"

	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// TestMemoryStateWritesNothing: with Options.Memory the scaler rents and keeps its records as
// with a state dir, and the state dir stays empty.
func TestMemoryStateWritesNothing(t *testing.T) {
	f := testFleet("mem", simMarket(t), simSized(3))
	w := newWorld(t, 21, simConfig(f), func(_ *vastsim.Options, o *scaler.Options) { o.Memory = true })
	w.settle("mem", 3)
	if ents, err := os.ReadDir(w.dir); err != nil || len(ents) != 0 {
		t.Fatalf("state dir holds %v (%v)", ents, err)
	}
	rep := w.mustStep()
	if rep.JournalErr != nil || rep.SpendErr != nil || rep.Plan.Fleets[0].MonthSpend <= 0 {
		t.Fatalf("journal %v, spend %v, month-to-date %v", rep.JournalErr, rep.SpendErr, rep.Plan.Fleets[0].MonthSpend)
	}
	w.sc.Rearm()
	if rep := w.mustStep(); len(rep.Plan.Actions) != 0 {
		t.Fatalf("after a rearm the memory scaler acts: %v", rep.Plan.Actions)
	}
}
