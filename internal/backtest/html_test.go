package backtest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// The HTML report is one self-contained page: no script and nothing fetched from elsewhere;
// each config's figures in the summary table as the JSON has them; per fleet a price chart and
// a desired-vs-running chart for each config, and one cost chart with every config.
func TestHTMLReportIsSelfContainedAndComplete(t *testing.T) {
	o := Options{Configs: loadConfigs(t, "a.yaml", "b.yaml"), Scenario: vastsim.ScenarioHostFailures, Seed: 7, Days: 1, Machines: 200}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.HasPrefix(page, "<!doctype html>") || !strings.HasSuffix(page, "</body></html>\n") {
		t.Fatalf("not a whole page: %.200q … %.200q", page, page[max(0, len(page)-200):])
	}
	if m := regexp.MustCompile(`(?i)<script|<link|<img|<iframe|\b(src|href)\s*=|url\(`).FindString(page); m != "" {
		t.Fatalf("the page depends on something outside it: %q", m)
	}
	fleets := map[string]bool{}
	for _, c := range rep.Configs {
		for _, f := range c.Fleets {
			fleets[f.Name] = true
			row := fmt.Sprintf(`<td class="l">%s</td><td class="l">%s</td><td>%.2f</td><td>%.2f</td>`, c.Name, f.Name, f.CostDollars, f.BoundDollars)
			if !strings.Contains(page, row) {
				t.Errorf("the summary lacks %s/%s's row %q", c.Name, f.Name, row)
			}
		}
	}
	for name := range fleets {
		if !strings.Contains(page, "<h2>fleet "+name+"</h2>") {
			t.Errorf("no section for fleet %s", name)
		}
	}
	want := 0
	for _, c := range rep.Configs {
		want += 2 * len(c.Fleets) // price and desired vs running
	}
	want += len(fleets) // the cost of every config
	if got := strings.Count(page, "<svg"); got != want {
		t.Errorf("%d charts, want %d", got, want)
	}
	if got := strings.Count(page, "<svg"); got != strings.Count(page, "</svg>") {
		t.Error("an unclosed chart")
	}
}
