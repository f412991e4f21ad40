package daemon

import (
	"context"
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
