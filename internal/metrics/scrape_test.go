package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// discardWriter is a ResponseWriter that keeps one header map and drops the body, so that what
// a scrape allocates is the handler's own.
type discardWriter struct {
	h    http.Header
	n    int
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// scrapeServer is an exporter as the daemon builds it (the Go and process collectors on its
// registry, a published ~5,000-series snapshot), on a clock that moves only when told.
func scrapeServer(t testing.TB) (*metrics.Exporter, *clock.Fake, *countingCollector) {
	reg := prometheus.NewRegistry()
	gathers := &countingCollector{}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), gathers)
	clk := clock.NewFake(fixedTime)
	e := metrics.New(reg, metrics.BuildInfo{Version: "bench"}, clk)
	e.CountDecision("fleet-00", "hold", "at_target")
	require.NoError(t, e.Publish(benchSnapshot()))
	return e, clk, gathers
}

// scraper serves one request, the same each time, into one ResponseWriter; scrape returns the
// bytes written.
func scraper(h http.Handler, method, acceptEncoding string) (scrape func() int) {
	req := httptest.NewRequest(method, "/metrics", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	w := &discardWriter{h: http.Header{}}
	return func() int {
		clear(w.h)
		w.n = 0
		h.ServeHTTP(w, req)
		return w.n
	}
}

// scrapeAllocs is the average allocations of one scrape, after one that gathered.
func scrapeAllocs(h http.Handler, method, acceptEncoding string, runs int) (allocs float64, bytes int) {
	scrape := scraper(h, method, acceptEncoding)
	n := scrape()
	return testing.AllocsPerRun(runs, func() { scrape() }), n
}

// While nothing was recorded and the self-metrics are younger than SelfMetricsMaxAge, a scrape
// writes the rendered bytes as they are and allocates nothing, for every client.
func TestScrapeAllocatesNothingWhileCurrent(t *testing.T) {
	e, _, gathers := scrapeServer(t)
	h := e.Handler()
	for _, tc := range []struct{ name, method, enc string }{
		{"identity", http.MethodGet, ""},
		{"gzip", http.MethodGet, "gzip"},
		{"gzip among others", http.MethodGet, "br;q=1.0, gzip;q=0.8, *;q=0.1"},
		{"HEAD", http.MethodHead, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := gathers.n.Load()
			allocs, n := scrapeAllocs(h, tc.method, tc.enc, 50)
			assert.Zero(t, allocs, "allocations per scrape")
			assert.Equal(t, tc.method == http.MethodHead, n == 0, "%d bytes written", n)
			assert.LessOrEqual(t, gathers.n.Load()-before, int64(1), "gathers")
		})
	}
}

// The self-metrics are gathered again after an event, and after SelfMetricsMaxAge without one;
// not in between.
func TestScrapeGathersWhenSelfMetricsAreStale(t *testing.T) {
	e, clk, gathers := scrapeServer(t)
	h := e.Handler()
	actions := func(body []byte) string {
		return fmt.Sprint(series(t, body)[`vastwatch_scaler_actions_total{action="create",fleet="a",result="ok"}`])
	}
	body := plainBody(t, h)
	n := gathers.n.Load()
	plainBody(t, h)
	clk.Advance(metrics.SelfMetricsMaxAge - time.Millisecond)
	plainBody(t, h)
	assert.Equal(t, n, gathers.n.Load(), "no event and younger than the max age: served as gathered")
	assert.Equal(t, "0", actions(body))

	e.CountAction("a", "create", "ok")
	assert.Equal(t, "1", actions(plainBody(t, h)), "an event is seen by the next scrape")
	assert.Equal(t, n+1, gathers.n.Load())

	clk.Advance(metrics.SelfMetricsMaxAge)
	plainBody(t, h)
	assert.Equal(t, n+2, gathers.n.Load(), "older than the max age: gathered again")
}

// Every method of Exporter either only reads, or records an event that the next scrape sees
// (so a scrape sees it at once, not up to SelfMetricsMaxAge later). A new method fails here
// until it is put in one list or the other.
func TestEveryExporterEventReachesTheNextScrape(t *testing.T) {
	reads := map[string]bool{"Handler": true, "Snapshot": true}
	events := map[string]func(*metrics.Exporter){
		"ObserveRequest": func(e *metrics.Exporter) {
			e.ObserveRequest(vastapi.RequestInfo{Method: "GET", Endpoint: vastapi.EPListV1, Code: 200, Duration: time.Second, Attempt: 1})
		},
		"CountAction":   func(e *metrics.Exporter) { e.CountAction("a", "create", "ok") },
		"CountDecision": func(e *metrics.Exporter) { e.CountDecision("a", "hold", "at_target") },
		"AddFleetCost":  func(e *metrics.Exporter) { e.AddFleetCost("a", 0.5) },
		"SetPoll":       func(e *metrics.Exporter) { e.SetPoll(false, fixedTime) },
		"SetReload":     func(e *metrics.Exporter) { e.SetReload(false, fixedTime) },
		"SetLeader":     func(e *metrics.Exporter) { e.SetLeader(false) },
		"Publish": func(e *metrics.Exporter) { // counts a render error
			_ = e.Publish(&metrics.Snapshot{Markets: []metrics.MarketSnapshot{{Name: "m", GroupBy: []string{"gpu_name"},
				Groups: []metrics.GroupStats{{Labels: []string{"a", "b"}, Offers: 1}}}}})
		},
	}
	typ := reflect.TypeFor[*metrics.Exporter]()
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if reads[name] {
			continue
		}
		record, ok := events[name]
		if !ok {
			t.Errorf("Exporter.%s: add it to this test's reads, or to its events (and call recorded() in it)", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			e, _, gathers := scrapeServer(t)
			h := e.Handler()
			before := string(plainBody(t, h))
			n := gathers.n.Load()
			record(e)
			after := string(plainBody(t, h))
			assert.Equal(t, n+1, gathers.n.Load(), "the scrape after the event gathers again")
			assert.NotEqual(t, before, after)
		})
	}
}
