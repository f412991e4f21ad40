package daemon

import (
	"context"
	"os"
	"strings"
	"testing"
)

const budgetsConfig = `poll_interval: 15s
owner: demo
account:
  credit_floor_dollars: 12.5
  max_spend_dollars_per_month: 900
markets:
  - name: m
    query: "num_gpus=1"
    order: "dph_total"
    limit: 200
fleets:
  - name: web
    market: m
    size: {min: 0, target: 0, max: 1}
    max_price_dollars_per_hour: 5
    budget_dollars_per_hour: 10
    budget_dollars_per_month: 300
    instance: {image: img, disk_gb: 10}
  - name: batch
    market: m
    size: {min: 0, target: 0, max: 1}
    max_price_dollars_per_hour: 5
    budget_dollars_per_hour: 10
    instance: {image: img, disk_gb: 10}
`

// The thresholds the planner enforces reach the metrics snapshot from the config, so that the
// alert rules compare against them instead of literals (docs/metrics.md): the credit floor, the
// account's monthly budget and each fleet's; 0 where the config sets none.
func TestSnapshotCarriesTheConfigsThresholds(t *testing.T) {
	d := newTestDaemon(t, budgetsConfig)
	d.Cycle(context.Background())
	s := d.exporter.Snapshot()
	if s == nil || s.Account == nil {
		t.Fatal("no snapshot with an account after a cycle")
	}
	if s.Account.CreditFloor != 12.5 || s.Account.MonthBudget != 900 {
		t.Errorf("account credit floor %v, monthly budget %v; want 12.5 and 900", s.Account.CreditFloor, s.Account.MonthBudget)
	}
	want := map[string]float64{"web": 300, "batch": 0}
	for _, f := range s.Fleets {
		if f.MonthBudget != want[f.Name] {
			t.Errorf("fleet %s monthly budget %v, want %v", f.Name, f.MonthBudget, want[f.Name])
		}
		delete(want, f.Name)
	}
	if len(want) > 0 {
		t.Errorf("fleets missing from the snapshot: %v", want)
	}

	// A reload that lowers them is exported at the next cycle, and a budget removed is 0 (the
	// collector then exports no series for it).
	cfg := strings.NewReplacer("credit_floor_dollars: 12.5", "credit_floor_dollars: 3",
		"    budget_dollars_per_month: 300\n", "").Replace(budgetsConfig)
	if err := os.WriteFile(d.o.ConfigFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.cfg.reload("test"); err != nil {
		t.Fatal(err)
	}
	d.Cycle(context.Background())
	s = d.exporter.Snapshot()
	if s.Account.CreditFloor != 3 {
		t.Errorf("credit floor after the reload %v, want 3", s.Account.CreditFloor)
	}
	for _, f := range s.Fleets {
		if f.MonthBudget != 0 {
			t.Errorf("fleet %s monthly budget after the reload %v, want 0", f.Name, f.MonthBudget)
		}
	}
}
