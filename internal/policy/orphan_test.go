package policy

import (
	"strings"
	"testing"
	"time"
)

const orphanBase = `owner: t
orphans: destroy
markets:
  - name: m
    query: "num_gpus=1"
fleets:
  - name: a
    market: m
    size: {min: 0, target: 1, max: 2}
    max_price_dollars_per_hour: 1
    budget_dollars_per_hour: 2
    max_actions_per_cycle: 3
    instance: {image: img, disk_gb: 10}
  - name: b
    market: m
    size: {min: 0, target: 1, max: 2}
    max_price_dollars_per_hour: 1
    budget_dollars_per_hour: 2
    max_actions_per_cycle: 1
    instance: {image: img, disk_gb: 10}
`

// orphan_drain is a drain section of its own, checked like a fleet's; the orphans' bound is the
// smallest max_actions_per_cycle.
func TestOrphanDrain(t *testing.T) {
	cfg, err := Parse([]byte(orphanBase+"orphan_drain: {webhook: {env: HOOK}, delay: 1m}\n"), "t.yaml",
		func(string) string { return "https://lb.example/drain?token=t0k3n" })
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.OrphanDrain
	if d == nil || d.Webhook.Reveal() != "https://lb.example/drain?token=t0k3n" || !d.Webhook.IsSecret() ||
		d.Delay != time.Minute || d.Timeout != DefaultDrainTimeout {
		t.Fatalf("orphan drain %+v", d)
	}
	if n := cfg.MaxOrphanActions(); n != 1 {
		t.Fatalf("orphan actions per cycle %d, want the smallest max_actions_per_cycle, 1", n)
	}
	if (&Config{}).MaxOrphanActions() != 1 {
		t.Fatal("without fleets the bound is not 1")
	}
	_, err = Parse([]byte(orphanBase+"orphan_drain: {timeout: 5m}\n"), "t.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "orphan_drain (line 21): has neither webhook nor delay") {
		t.Fatalf("err %v", err)
	}
}
