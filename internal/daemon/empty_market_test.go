package daemon

import (
	"context"
	"os"
	"strings"
	"testing"
)

// A market whose query matches nothing says so on the status page after a few polls, with the
// command that shows why; a market that matches says nothing of the kind.
func TestAMarketThatMatchesNothingSaysSo(t *testing.T) {
	cfg := strings.Replace(watchOnlyConfig, "    limit: 100\n", "    limit: 100\n  - {name: typo, query: \"gpu_name= num_gpus>>2\"}\n", 1)
	d := newTestDaemon(t, cfg)
	for i := range emptyPollsToWarn {
		page := statusPage(t, d)
		if strings.Contains(page, "matched no offer") {
			t.Fatalf("after %d polls the page already warns", i)
		}
		d.Cycle(context.Background())
		advance(d, 15e9)
	}
	page := statusPage(t, d)
	if !strings.Contains(page, "matched no offer in the last 3 polls") || !strings.Contains(page, "vastwatch search --market typo") {
		t.Fatalf("the page does not say the market matches nothing:\n%s", page)
	}
	if strings.Count(page, "matched no offer") != 1 {
		t.Fatal("the market that matches offers is warned about too")
	}
}

func statusPage(t *testing.T, d *Daemon) string {
	t.Helper()
	body, err := renderStatus(d.statusView())
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// A budget lowered below what the fleet commits: the page and the metrics say the fleet rents
// nothing new and keeps what it has.
func TestALoweredBudgetIsExplainedOnThePage(t *testing.T) {
	d := newTestDaemon(t, discoveryConfig)
	cycleUntilRunning(t, d, 2)
	lowered := strings.Replace(discoveryConfig, "    max_price_dollars_per_hour: 5\n    budget_dollars_per_hour: 10\n",
		"    max_price_dollars_per_hour: 0.01\n    budget_dollars_per_hour: 0.01\n", 1)
	if err := os.WriteFile(d.o.ConfigFile, []byte(lowered), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.cfg.reload("test"); err != nil {
		t.Fatal(err)
	}
	d.Cycle(context.Background())
	page := statusPage(t, d)
	if !strings.Contains(page, "over budget: $") || !strings.Contains(page, "of $0.01/h, no new rentals; existing instances kept") {
		t.Fatalf("the page does not explain the lowered budget:\n%s", page)
	}
	over := map[string]bool{}
	for _, f := range d.exporter.Snapshot().Fleets {
		over[f.Name] = f.OverBudget
	}
	if !over["web"] || over["batch"] {
		t.Fatalf("vastwatch_fleet_over_budget %v", over)
	}
	if n := len(d.sim.Instances()); n != 2 {
		t.Fatalf("%d instances: a lowered budget removes nothing", n)
	}
}
