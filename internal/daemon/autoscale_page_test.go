package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/demand/promtest"
)

// autoscaledConfig is one fleet whose size follows a demand query against prom.
func autoscaledConfig(prom string) string {
	return fmt.Sprintf(`poll_interval: 15s
owner: demo
markets:
  - name: m
    query: "num_gpus=1"
    order: "dph_total"
    limit: 200
fleets:
  - name: llm
    market: m
    size: {min: 1, target: 2, max: 4}
    max_price_dollars_per_hour: 5
    budget_dollars_per_hour: 10
    instance: {image: img, disk_gb: 10}
    cooldown: {scale_up: 0s, scale_down: 0s}
    autoscale:
      demand:
        prometheus: {url: %s}
        query: 'sum(queue_depth)'
        per_instance: 10
      stabilization: {scale_up: 0s, scale_down: 0s}
`, prom)
}

// The status page says, per autoscaled fleet, where its target comes from (the demand's value
// and desired size, the floor, the combination and the target) and charts desired against
// running; a failing read is said beside the fallback.
func TestTheStatusPageShowsWhereAnAutoscaledTargetComesFrom(t *testing.T) {
	prom := promtest.New()
	t.Cleanup(prom.Close)
	prom.SetScalar(25)
	d := newTestDaemon(t, autoscaledConfig(prom.URL))
	for range 3 {
		d.Cycle(context.Background())
		advance(d, 15e9)
	}
	page := statusPage(t, d)
	if !strings.Contains(page, "autoscaled: demand 3 (value 25), floor 1, combined 3, target 3") {
		t.Fatalf("the page does not say where the target comes from:\n%s", page)
	}
	if !strings.Contains(page, "<svg") {
		t.Fatalf("no chart of desired against running:\n%s", page)
	}
	prom.Fail(503)
	d.Cycle(context.Background())
	if page = statusPage(t, d); !strings.Contains(page, "; last demand read: ") {
		t.Fatalf("a failing demand read is not said:\n%s", page)
	}
}
