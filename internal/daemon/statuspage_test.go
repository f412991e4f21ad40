package daemon

import (
	"context"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// What a new user trips over on the status page (issue 20): each fix, checked on the real page.
func TestTheStatusPageSaysWhatItMeans(t *testing.T) {
	d := newTestDaemon(t, discoveryConfig)
	ctx := context.Background()
	offers, err := d.api.SearchOffers(ctx, vastapi.Query{Limit: 1})
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %v", err)
	}
	if _, err := d.api.CreateInstance(ctx, offers[0].ID, vastapi.CreateRequest{Image: "img", DiskGB: 10, Label: "my-own-box"}); err != nil {
		t.Fatal(err)
	}
	d.Cycle(ctx)
	page := statusPage(t, d)
	for _, want := range []string{
		`<td class="muted">my-own-box</td>`, // a foreign instance shows its own label
		"what the account pays now",         // burn, explained
		"the budgets count this",            // committed, explained
		"<wbr>",                             // the config path breaks at its separators
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, ">leader<") || strings.Contains(page, ">follower") {
		t.Error("a leader badge without --leader-elect")
	}
	if strings.Contains(page, "/sd lists nothing") {
		t.Error("says /sd lists nothing although fleets have discovery ports")
	}

	// A broken reload: one problem a line; a config with warnings: shown, not only logged.
	bad := strings.Replace(discoveryConfig, "owner: demo\n", "owner: Demo\nbogus: 1\n", 1)
	if err := os.WriteFile(d.o.ConfigFile, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.cfg.reload("test"); err == nil {
		t.Fatal("a bad file reloaded")
	}
	page = statusPage(t, d)
	if n := strings.Count(page, "<li>"); !strings.Contains(page, "last reload failed") || n < 2 {
		t.Errorf("the reload's problems are not one a line (%d items)", n)
	}
}

// Dry-run actions are not shown under an error heading.
func TestDryRunActionsAreNotErrors(t *testing.T) {
	d := newTestDaemonWith(t, discoveryConfig, func(o *Options) { o.DryRun = true })
	d.Cycle(context.Background())
	page := statusPage(t, d)
	if !strings.Contains(page, "dry_run") {
		t.Fatal("positive control: the dry run planned no action")
	}
	if strings.Contains(page, "<th>error</th>") {
		t.Error("dry-run actions sit under an error heading")
	}
}

// With no discovery ports, /sd says so to a person and still gives Prometheus its empty list.
func TestSDSaysWhyItIsEmpty(t *testing.T) {
	d := newTestDaemon(t, watchOnlyConfig)
	browser := httptest.NewRequest("GET", "/sd", nil)
	browser.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	rec := httptest.NewRecorder()
	d.serveSD(rec, browser)
	if !strings.Contains(rec.Body.String(), "no fleet has discovery.ports configured") {
		t.Fatalf("a browser gets %q", rec.Body)
	}
	prom := httptest.NewRequest("GET", "/sd", nil)
	prom.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	d.serveSD(rec, prom)
	if strings.TrimSpace(rec.Body.String()) != "[]" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("Prometheus gets %q (%s)", rec.Body, rec.Header().Get("Content-Type"))
	}
	if !strings.Contains(statusPage(t, d), "/sd lists nothing") {
		t.Error("the status page does not say /sd lists nothing")
	}
}

// The charts' axis labels stand left of the lines, never on them.
func TestChartLabelsDoNotSitOnTheLines(t *testing.T) {
	h := newHistory(time.Hour, 10, priceLook)
	h.add("m", point{At: testEpoch, A: 0.25, B: 0.30})
	h.add("m", point{At: testEpoch.Add(time.Minute), A: 0.20, B: 0.35})
	svg := string(h.svg("m", 320, 60))
	labelEnd := 0.0
	for _, m := range regexp.MustCompile(`<text x="([0-9.]+)"[^>]*>([^<]*)</text>`).FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		labelEnd = max(labelEnd, x+6*float64(len(m[2]))) // 10px text: about 6px a character
	}
	for _, m := range regexp.MustCompile(`points="([0-9.]+),`).FindAllStringSubmatch(svg, -1) {
		if x, _ := strconv.ParseFloat(m[1], 64); x < labelEnd {
			t.Fatalf("a line starts at x=%v, inside the labels (up to %v):\n%s", x, labelEnd, svg)
		}
	}
	if labelEnd == 0 {
		t.Fatalf("no labels:\n%s", svg)
	}
}
