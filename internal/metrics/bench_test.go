package metrics_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// benchSnapshot is a snapshot of about 5,000 series: one market of 300 GPU groups (16 series
// each), 20 fleets and 100 instances.
func benchSnapshot() *metrics.Snapshot {
	m := &policy.Market{Name: "all", GroupBy: []string{"gpu_name", "num_gpus", "country"}}
	s := &metrics.Snapshot{
		At:      fixedTime,
		Markets: []metrics.MarketSnapshot{metrics.NewMarketSnapshot(m, benchOffers(), metrics.DefaultMaxGroups)},
		Account: &metrics.AccountSnapshot{Credit: 100, Burn: 3},
		Orphans: map[string]int{"old": 2},
	}
	for f := range 20 {
		s.Fleets = append(s.Fleets, metrics.FleetRow{Name: fmt.Sprintf("fleet-%02d", f), Target: 5, Max: 8, Budget: 3})
	}
	for i := range 100 {
		s.Instances = append(s.Instances, metrics.InstanceRow{ID: int64(1000 + i), Fleet: fmt.Sprintf("fleet-%02d", i%20),
			MachineID: int64(i), GPUName: "GPU model 01", NumGPUs: 1, State: "running", Price: 0.3,
			StartTime: fixedTime.Add(-time.Hour)})
	}
	return s
}

// benchOffers are 1,200 offers in 300 groups of gpu_name × num_gpus × country.
func benchOffers() []vastapi.Offer {
	var offers []vastapi.Offer
	id := int64(0)
	for g := range 25 {
		for _, n := range []int{1, 2, 4, 8} {
			for _, cc := range []string{"US", "CA", "SE"} {
				for k := range 4 {
					id++
					ids := make([]int64, n)
					for i := range ids {
						ids[i] = id*10 + int64(i)
					}
					offers = append(offers, vastapi.Offer{ID: id, MachineID: id, GPUName: fmt.Sprintf("GPU model %02d", g),
						NumGPUs: n, GPUIDs: ids, DphTotal: float64(n) * (0.2 + 0.01*float64(g+k)), DLPerf: 50 * float64(n),
						Geolocation: vastapi.Some("Region, " + cc)})
				}
			}
		}
	}
	return offers
}

// BenchmarkScrape measures /metrics over real loopback HTTP with 20 closed-loop scrapers
// (each sends its next scrape when the last reply is read) against ~5,000 series, with the Go
// and process collectors main registers. It reports latency percentiles of whole scrapes.
func BenchmarkScrape(b *testing.B) {
	for _, mode := range []struct {
		name   string
		enc    string // Accept-Encoding
		decode bool   // the scraper gunzips, as Prometheus does, on the same CPUs
	}{
		{"identity", "identity", false},
		{"gzip", "gzip", false},
		{"gzip-decoded", "gzip", true},
	} {
		enc := mode.enc
		b.Run("encoding="+mode.name, func(b *testing.B) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			gathers := &countingCollector{}
			reg.MustRegister(gathers)
			e := metrics.New(reg, metrics.BuildInfo{Version: "bench"}, nil)
			for i := range 20 {
				e.CountDecision(fmt.Sprintf("fleet-%02d", i), "hold", "at_target")
			}
			if err := e.Publish(benchSnapshot()); err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(e.Handler())
			defer srv.Close()
			const scrapers = 20
			client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: scrapers}}

			// Each scraper reads into its own reused buffer, as Prometheus does.
			get := func(buf *bytes.Buffer, zr *gzip.Reader) (int, error) {
				req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
				if err != nil {
					return 0, err
				}
				req.Header.Set("Accept-Encoding", enc)
				resp, err := client.Do(req)
				if err != nil {
					return 0, err
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return 0, fmt.Errorf("status %d", resp.StatusCode)
				}
				buf.Reset()
				var body io.Reader = resp.Body
				if mode.decode {
					if err := zr.Reset(resp.Body); err != nil {
						return 0, err
					}
					body = zr
				}
				n, err := buf.ReadFrom(body)
				return int(n), err
			}
			// Count the series once, from a plain scrape.
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			plain, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			series := 0
			for line := range bytes.Lines(plain) {
				if len(line) > 0 && line[0] != '#' {
					series++
				}
			}

			gathers.n.Store(0)
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var bytesRead atomic.Int64
			var failed atomic.Value
			var wg sync.WaitGroup
			b.ResetTimer()
			for range scrapers {
				wg.Go(func() {
					var buf bytes.Buffer
					zr := new(gzip.Reader)
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						t0 := time.Now()
						n, err := get(&buf, zr)
						lat[i] = time.Since(t0)
						if err != nil {
							failed.Store(err)
							return
						}
						bytesRead.Add(int64(n))
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			slices.Sort(lat)
			at := func(p float64) float64 {
				i := max(0, int(float64(len(lat))*p+0.999999)-1)
				return float64(lat[min(i, len(lat)-1)]) / float64(time.Millisecond)
			}
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
			b.ReportMetric(float64(series), "series")
			b.ReportMetric(float64(bytesRead.Load())/float64(b.N), "B/scrape")
			b.ReportMetric(float64(gathers.n.Load())/float64(b.N), "gathers/scrape")
		})
	}
}

// countingCollector counts how often the self-metrics registry is gathered.
type countingCollector struct{ n atomic.Int64 }

func (c *countingCollector) Describe(chan<- *prometheus.Desc) {}
func (c *countingCollector) Collect(chan<- prometheus.Metric) { c.n.Add(1) }

// BenchmarkPublish is the once-per-poll cost: grouping and percentiles of the search, then
// rendering and compressing the ~5,000-series exposition.
func BenchmarkPublish(b *testing.B) {
	e := metrics.New(prometheus.NewRegistry(), metrics.BuildInfo{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Publish(benchSnapshot()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrapeAllocs serves scrapes in-process, as the daemon's exporter is built (the Go and
// process collectors registered, ~5,000 series published), between two self-metric events. It
// reports the handler's allocations per scrape, and fails unless there are none: a scrape
// writes the rendered bytes as they are (docs/design.md §11).
func BenchmarkScrapeAllocs(b *testing.B) {
	e, _, _ := scrapeServer(b)
	h := e.Handler()
	for _, enc := range []string{"identity", "gzip"} {
		b.Run("encoding="+enc, func(b *testing.B) {
			scrape := scraper(h, http.MethodGet, enc)
			n := scrape() // the first scrape gathers the self-metrics
			b.ResetTimer()
			allocs := testing.AllocsPerRun(b.N, func() { scrape() })
			b.ReportMetric(allocs, "allocs/scrape")
			b.ReportMetric(float64(n), "B/scrape")
			if allocs != 0 {
				b.Errorf("a scrape allocates %v times; want 0", allocs)
			}
		})
	}
}
