package backtest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/record"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// simRecording records the simulator's drifting market (machines generated machines, drifting
// every drift) polled every minute for polls polls into dir, as `run --simulate --record.dir`
// would with a market of every rentable offer. It returns the offers of the first poll.
func simRecording(tb testing.TB, dir string, machines, polls int, drift time.Duration) int {
	tb.Helper()
	clk := clock.NewFake(ScenarioStart)
	sim, err := vastsim.New(vastsim.Options{Seed: 1, Clock: clk, Machines: machines, DriftInterval: drift})
	if err != nil {
		tb.Fatal(err)
	}
	w, err := record.Open(record.Options{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	first := 0
	var rentable []vastapi.Offer
	lastStep := time.Duration(-1)
	for i := range polls {
		// The market only moves at drift steps; between them the last poll's offers stand.
		if step := time.Duration(i) * time.Minute / drift; step != lastStep || rentable == nil {
			lastStep = step
			rentable = rentable[:0]
			for _, o := range sim.Offers() {
				if o.Rentable {
					rentable = append(rentable, o)
				}
			}
		}
		if i == 0 {
			first = len(rentable)
		}
		m := []record.MarketOffers{{Market: record.Market{Name: "all", Query: "rentable=true"}, Offers: rentable}}
		if err := w.Record(clk.Now(), m); err != nil {
			tb.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	return first
}

// scratchDir is a directory on tmpfs when the machine has one: a recording syncs every poll.
func scratchDir(tb testing.TB) string {
	tb.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "vastwatch-backtest-"); err == nil {
			tb.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return tb.TempDir()
}

func dirSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	var n int64
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err == nil {
			n += fi.Size()
		}
	}
	return n
}
