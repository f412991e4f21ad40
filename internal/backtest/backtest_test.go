package backtest

import (
	"bytes"
	"context"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

func loadConfigs(t testing.TB, names ...string) []Config {
	t.Helper()
	var out []Config
	for _, n := range names {
		c, err := policy.Load("testdata/"+n, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Config{Name: n, Policy: c})
	}
	return out
}

// small is a recording of the simulator's drifting market, made once for the tests: 300
// machines, drifting every 5 minutes, 12 hours.
var small = struct {
	once sync.Once
	dir  string
}{}

func smallRecording(t testing.TB) string {
	small.once.Do(func() {
		d, err := os.MkdirTemp("", "vastwatch-backtest-rec-")
		if err != nil {
			t.Fatal(err)
		}
		simRecording(t, d, 300, 12*60, 5*time.Minute)
		small.dir = d
	})
	return small.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if small.dir != "" {
		os.RemoveAll(small.dir)
	}
	os.Exit(code)
}

// TestSameInputSameReport: a recording, or a scenario and seed, give byte-identical JSON.
func TestSameInputSameReport(t *testing.T) {
	cases := map[string]Options{
		"recording": {Recording: smallRecording(t), BootFailure: 0.1, HostFailuresPerDay: 2, Seed: 3},
		"scenario":  {Scenario: vastsim.ScenarioHostFailures, Seed: 7, Days: 1, Machines: 200},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			var first []byte
			for i := range 2 {
				o.Configs = loadConfigs(t, "a.yaml", "b.yaml")
				rep, err := Run(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				b, err := rep.JSON()
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = b
					if !bytes.Contains(b, []byte(`"creates"`)) || rep.Configs[0].Fleets[0].Creates == 0 {
						t.Fatalf("nothing happened: %s", b[:min(len(b), 600)])
					}
				} else if !bytes.Equal(b, first) {
					t.Fatal("the same input gave another report")
				}
			}
		})
	}
}

// TestCostIsTheSimulatorsBilling: what the report says a config cost is what its simulator
// billed (the credit it lost), and every dollar of it is some fleet's; and no fleet's lower
// bound is above its cost, in any scenario.
func TestCostIsTheSimulatorsBillingAndTheBoundBelowIt(t *testing.T) {
	for _, sc := range vastsim.Scenarios {
		t.Run(sc, func(t *testing.T) {
			o := Options{Configs: loadConfigs(t, "a.yaml", "b.yaml", "bid.yaml"), Scenario: sc, Seed: 11, Days: 1, Machines: 200}
			rep, runners, err := run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range rep.Configs {
				// The simulator's own billing, as its charges endpoint reports it to the client.
				api, err := newSimAPI(runners[i].sim, clock.NewFake(rep.End))
				if err != nil {
					t.Fatal(err)
				}
				charges, err := api.client.Charges(context.Background(), rep.Start.Add(-time.Hour), rep.End.Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				billed := 0.0
				for _, ch := range charges {
					billed += ch.Amount
				}
				if billed <= 0 || math.Abs(c.CostDollars-billed) > 1e-12*billed {
					t.Errorf("%s: report says $%v, the simulator's charges $%v", c.Name, c.CostDollars, billed)
				}
				// The credit it lost says the same, to its float precision at a credit of $1e9.
				if lost := credit - runners[i].sim.Credit(); math.Abs(c.CostDollars-lost) > 1e-3 {
					t.Errorf("%s: report says $%v, the credit went down $%v", c.Name, c.CostDollars, lost)
				}
				sum := 0.0
				for _, f := range c.Fleets {
					sum += f.CostDollars
					if f.BoundDollars > f.CostDollars || f.CostDollars > 0 && f.BoundDollars <= 0 {
						t.Errorf("%s/%s: bound $%v, cost $%v", c.Name, f.Name, f.BoundDollars, f.CostDollars)
					}
				}
				if math.Abs(sum-c.CostDollars) > 1e-9*max(sum, 1) {
					t.Errorf("%s: fleets cost $%v, the account $%v", c.Name, sum, c.CostDollars)
				}
			}
		})
	}
}

// TestLowerPriceCapNeverPaysMorePerRunningHour: on the same recording, a config that differs
// only by a lower max_price_dollars_per_hour pays no more per running instance-hour.
func TestLowerPriceCapNeverPaysMorePerRunningHour(t *testing.T) {
	o := Options{Configs: loadConfigs(t, "a.yaml", "b.yaml"), Recording: smallRecording(t)}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	hi, lo := rep.Configs[0].Fleets[0], rep.Configs[1].Fleets[0]
	if hi.RunningInstanceHours == 0 || lo.RunningInstanceHours == 0 {
		t.Fatalf("nothing ran: %+v %+v", hi, lo)
	}
	if lo.DollarsPerRunningHour > hi.DollarsPerRunningHour {
		t.Errorf("cap $0.40 pays $%.4f per instance-hour, cap $0.80 $%.4f", lo.DollarsPerRunningHour, hi.DollarsPerRunningHour)
	}
}

func TestReplayUsesTheRecordedMarket(t *testing.T) {
	dir := smallRecording(t)
	o := Options{Configs: loadConfigs(t, "a.yaml"), Recording: dir, From: ScenarioStart.Add(2 * time.Hour), To: ScenarioStart.Add(5 * time.Hour)}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Start.Equal(o.From) || !rep.End.Equal(o.To) || rep.Source.Polls != 181 || rep.Configs[0].Cycles != 181 {
		t.Fatalf("replayed %s to %s, %d polls, %d cycles", rep.Start, rep.End, rep.Source.Polls, rep.Configs[0].Cycles)
	}
	if len(rep.Source.Markets) != 1 || rep.Source.Markets[0] != "all: rentable=true" {
		t.Errorf("markets %v", rep.Source.Markets)
	}
	f := rep.Configs[0].Fleets[0]
	if f.TimeAtTarget < 0.9 || f.Series[len(f.Series)-1].P50 <= 0 {
		t.Errorf("at target %.2f, last median price %v", f.TimeAtTarget, f.Series[len(f.Series)-1].P50)
	}
}

func TestDemandFleetsNeedASeries(t *testing.T) {
	o := Options{Configs: loadConfigs(t, "demand.yaml"), Scenario: vastsim.ScenarioCalm, Seed: 1, Days: 1, Machines: 150}
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "--demand api=") {
		t.Fatalf("no series: %v", err)
	}
	o.Demand = map[string]DemandSeries{"api": {Shape: "weekly", Source: "weekly"}}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// Monday: size.max (6) from 08:00 to 18:00, size.min (1) otherwise.
	f := rep.Configs[0].Fleets[0]
	want := map[int]int{3: 1, 12: 6, 22: 1}
	for _, p := range f.Series {
		if w, ok := want[p.At.Hour()]; ok && p.At.Minute() == 30 && p.Desired != w {
			t.Errorf("desired %d at %s, want %d", p.Desired, p.At.Format(time.Kitchen), w)
		}
	}
}
