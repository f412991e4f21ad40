package metrics_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// scrape GETs the handler in-process and returns the status, headers and raw body.
func scrape(t *testing.T, h http.Handler, method, acceptEncoding string) (int, http.Header, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, "/metrics", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

// plainBody scrapes without compression and checks the reply is a text exposition.
func plainBody(t *testing.T, h http.Handler) []byte {
	t.Helper()
	code, hdr, body := scrape(t, h, http.MethodGet, "")
	require.Equal(t, http.StatusOK, code, string(body))
	require.True(t, strings.HasPrefix(hdr.Get("Content-Type"), "text/plain; version=0.0.4"), hdr.Get("Content-Type"))
	require.Empty(t, hdr.Get("Content-Encoding"))
	return body
}

// gunzipOneMember decompresses exactly one gzip member and fails if anything follows it.
func gunzipOneMember(t *testing.T, b []byte) []byte {
	t.Helper()
	r := bytes.NewReader(b)
	zr, err := gzip.NewReader(r)
	require.NoError(t, err)
	zr.Multistream(false)
	out, err := io.ReadAll(zr) // checks the CRC-32 and size of the trailer
	require.NoError(t, err)
	require.Zero(t, r.Len(), "bytes after the first gzip member")
	return out
}

func TestHandlerServesSnapshotThenSelfMetrics(t *testing.T) {
	e, reg := selfExporter()
	require.NoError(t, e.Publish(fixedSnapshot()))
	body := plainBody(t, e.Handler())

	golden, err := os.ReadFile("testdata/snapshot.prom")
	require.NoError(t, err)
	self := gatherText(t, reg)
	assert.Equal(t, string(golden)+string(self), string(body),
		"the body is the rendered snapshot followed by the self-metrics")
	assert.Equal(t, fixedTime, e.Snapshot().At)
}

func TestHandlerBeforeFirstPublishServesSelfMetricsOnly(t *testing.T) {
	e, reg := selfExporter()
	body := plainBody(t, e.Handler())
	assert.Equal(t, string(gatherText(t, reg)), string(body))
	assert.Nil(t, e.Snapshot())
}

func TestHandlerGzip(t *testing.T) {
	e, _ := selfExporter()
	require.NoError(t, e.Publish(fixedSnapshot()))
	h := e.Handler()
	plain := plainBody(t, h)
	tests := []struct {
		name     string
		accept   string
		wantGzip bool
	}{
		{"gzip when accepted", "gzip", true},
		{"gzip among others", "deflate, gzip;q=0.5, br", true},
		{"gzip as Prometheus asks", "gzip", true},
		{"any coding", "*", true},
		{"plain when gzip is refused", "gzip;q=0", false},
		{"plain for identity", "identity", false},
		{"plain without the header", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := scrape(t, h, http.MethodGet, tt.accept)
			require.Equal(t, http.StatusOK, code)
			assert.Contains(t, hdr.Values("Vary"), "Accept-Encoding")
			if !tt.wantGzip {
				assert.Empty(t, hdr.Get("Content-Encoding"))
				assert.Equal(t, string(plain), string(body))
				return
			}
			assert.Equal(t, "gzip", hdr.Get("Content-Encoding"))
			assert.Equal(t, string(plain), string(gunzipOneMember(t, body)),
				"one gzip member carries the snapshot and the self-metrics")
			assert.Less(t, len(body), len(plain)/2)
		})
	}
	t.Run("an empty exporter gzips too", func(t *testing.T) {
		e, _ := selfExporter()
		h := e.Handler()
		_, _, body := scrape(t, h, http.MethodGet, "gzip")
		assert.Equal(t, string(plainBody(t, h)), string(gunzipOneMember(t, body)))
	})
}

func TestHandlerMethods(t *testing.T) {
	e, _ := selfExporter()
	require.NoError(t, e.Publish(fixedSnapshot()))
	h := e.Handler()
	t.Run("HEAD has the headers and no body", func(t *testing.T) {
		code, hdr, body := scrape(t, h, http.MethodHead, "")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, len(plainBody(t, h)), atoi(t, hdr.Get("Content-Length")))
		assert.Empty(t, body)
	})
	t.Run("POST is not allowed", func(t *testing.T) {
		code, hdr, _ := scrape(t, h, http.MethodPost, "")
		assert.Equal(t, http.StatusMethodNotAllowed, code)
		assert.Equal(t, "GET, HEAD", hdr.Get("Allow"))
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int(c-'0')
	}
	return n
}

// failingCollector stands for a self-metric collector main registered that fails.
type failingCollector struct{ desc *prometheus.Desc }

func (f failingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f failingCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(f.desc, io.ErrUnexpectedEOF)
}

func TestHandlerAnswers500WhenSelfMetricsFail(t *testing.T) {
	e, reg := selfExporter()
	reg.MustRegister(failingCollector{prometheus.NewDesc("broken_thing", "x", nil, nil)})
	code, _, body := scrape(t, e.Handler(), http.MethodGet, "")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, string(body), "gather self-metrics")
}

func TestPublishWithABadRowStillReplacesTheSeries(t *testing.T) {
	e, _ := selfExporter()
	require.NoError(t, e.Publish(fixedSnapshot()))
	bad := &metrics.Snapshot{
		Markets: []metrics.MarketSnapshot{{Name: "m", GroupBy: []string{"gpu_name"},
			Groups: []metrics.GroupStats{{Labels: []string{"a", "b"}, Offers: 1}}}},
		Fleets: []metrics.FleetRow{{Name: "new", Target: 1}},
	}
	require.Error(t, e.Publish(bad))
	s := series(t, plainBody(t, e.Handler()))
	assert.Equal(t, 1.0, s[`vastwatch_fleet_target_instances{fleet="new"}`])
	assert.Empty(t, withPrefix(s, `vastwatch_fleet_target_instances{fleet="inference"}`), "nothing stale stays")
	assert.Equal(t, 1.0, s[`vastwatch_snapshot_render_errors_total{}`])
}

// TestPromtoolCheckMetrics runs the real promtool on a live /metrics, with the Go and process
// collectors main registers. Without promtool it skips, or fails when CI is set.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not on PATH (CI is set): install Debian's prometheus package")
		}
		t.Skip("promtool not on PATH")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	e := metrics.New(reg, metrics.BuildInfo{Version: "1.2.3", Revision: "abc123", Branch: "main", GoVersion: "go1.26.8", GoOS: "linux", GoArch: "arm64", Tags: "unknown"}, nil)
	e.ObserveRequest(vastapi.RequestInfo{Method: "POST", Endpoint: vastapi.EPSearch, Code: 200})
	e.CountAction("inference", "create", "ok")
	e.CountDecision("inference", "scale_up", "below_target")
	e.AddFleetCost("inference", 1)
	require.NoError(t, e.Publish(fixedSnapshot()))
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()

	for _, enc := range []string{"", "gzip"} {
		t.Run("Accept-Encoding "+enc, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
			require.NoError(t, err)
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			if enc == "gzip" {
				require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
				body = gunzipOneMember(t, body)
			}
			require.Contains(t, string(body), "vast_offer_price_dollars_per_hour")
			require.Contains(t, string(body), "go_goroutines")

			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = bytes.NewReader(body)
			out, err := cmd.CombinedOutput()
			assert.NoError(t, err, "promtool check metrics:\n%s", out)
			assert.Empty(t, strings.TrimSpace(string(out)), "promtool reports nothing")
		})
	}
}

func TestSeriesDisappearWithTheirRows(t *testing.T) {
	before := fixedSnapshot()
	tests := []struct {
		name string
		edit func(s *metrics.Snapshot)
		gone []string // substrings no series may contain afterwards
		kept []string // series that must stay
	}{
		{
			name: "a market that left the config",
			edit: func(s *metrics.Snapshot) { s.Markets = s.Markets[:1] },
			gone: []string{`market="anywhere"`},
			kept: []string{`vast_offers{gpu_name="RTX 4090",market="rtx4090",num_gpus="1"}`},
		},
		{
			name: "a GPU group the search no longer returns",
			edit: func(s *metrics.Snapshot) {
				m := s.Markets[0]
				m.Groups = m.Groups[1:] // drops num_gpus="1"
				s.Markets = append([]metrics.MarketSnapshot{m}, s.Markets[1:]...)
			},
			gone: []string{`market="rtx4090",num_gpus="1"`},
			kept: []string{`vast_offers{gpu_name="RTX 4090",market="rtx4090",num_gpus="2"}`},
		},
		{
			name: "a fleet that left the config",
			edit: func(s *metrics.Snapshot) { s.Fleets = s.Fleets[:1] },
			gone: []string{`fleet="training"`},
			kept: []string{`vastwatch_fleet_target_instances{fleet="inference"}`},
		},
		{
			name: "a fleet that is no longer blocked",
			edit: func(s *metrics.Snapshot) {
				s.Fleets = []metrics.FleetRow{s.Fleets[0], s.Fleets[1]}
				s.Fleets[1].Blocked = nil
			},
			gone: []string{`vastwatch_fleet_blocked{`},
			kept: []string{`vastwatch_fleet_target_instances{fleet="training"}`},
		},
		{
			name: "an instance that was destroyed",
			edit: func(s *metrics.Snapshot) { s.Instances = s.Instances[1:] },
			gone: []string{`id="9001"`},
			kept: []string{`vast_instance_info{fleet="inference",gpu_name="RTX 4090",id="9002",machine_id="11",num_gpus="1",ssh_host="ssh4.vast.ai",ssh_port="11610",state="pending"}`},
		},
		{
			name: "an orphan that was destroyed",
			edit: func(s *metrics.Snapshot) { s.Orphans = nil; s.Instances = s.Instances[:3] },
			gone: []string{`fleet="retired"`},
			kept: []string{`vast_instances{fleet="",state="running"}`},
		},
		{
			name: "burn dropped to 0",
			edit: func(s *metrics.Snapshot) { s.Account = &metrics.AccountSnapshot{Credit: s.Account.Credit} },
			gone: []string{`vast_account_runway_seconds`},
			kept: []string{`vast_account_credit_dollars{}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := selfExporter()
			h := e.Handler()
			require.NoError(t, e.Publish(before))
			s := series(t, plainBody(t, h))
			for _, g := range tt.gone {
				require.NotEmpty(t, containing(s, g), "precondition: %s exported before", g)
			}
			after := fixedSnapshot()
			tt.edit(after)
			require.NoError(t, e.Publish(after))
			s = series(t, plainBody(t, h))
			for _, g := range tt.gone {
				assert.Empty(t, containing(s, g))
			}
			for _, k := range tt.kept {
				assert.Contains(t, s, k)
			}
		})
	}
}

// fakeVast is an httptest Vast.ai API that counts every request it receives.
type fakeVast struct {
	requests atomic.Int64
	offers   []byte // search reply body
}

func (f *fakeVast) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case vastapi.EPSearch:
		_, _ = w.Write(f.offers)
	case vastapi.EPCurrentUser:
		_, _ = io.WriteString(w, `{"id":1,"username":"u","credit":42.5,"balance":0}`)
	default:
		http.NotFound(w, r)
	}
}

func TestScrapesNeverCallTheAPI(t *testing.T) {
	// The real reply of 1,396 offers, kept gzipped beside vastapi's matcher tests.
	list := realOffers(t)
	require.Len(t, list, 1396)
	reply, err := json.Marshal(map[string]any{"offers": list})
	require.NoError(t, err)
	api := &fakeVast{offers: reply}
	upstream := httptest.NewServer(api)
	defer upstream.Close()

	reg := prometheus.NewRegistry()
	e := metrics.New(reg, metrics.BuildInfo{}, nil)
	client, err := vastapi.New(vastapi.Config{BaseURL: upstream.URL, Observe: e.ObserveRequest,
		Pacing: map[string]time.Duration{}})
	require.NoError(t, err)

	// One observation, as a poll makes it.
	ctx := context.Background()
	market := &policy.Market{Name: "all", GroupBy: []string{"gpu_name", "num_gpus"}}
	offers, err := client.SearchOffers(ctx, vastapi.Query{})
	require.NoError(t, err)
	require.Len(t, offers, len(list))
	user, err := client.CurrentUser(ctx)
	require.NoError(t, err)
	require.NoError(t, e.Publish(&metrics.Snapshot{
		Markets: []metrics.MarketSnapshot{metrics.NewMarketSnapshot(market, offers, metrics.DefaultMaxGroups)},
		Account: &metrics.AccountSnapshot{Credit: user.Credit},
	}))
	observed := api.requests.Load()
	require.Equal(t, int64(2), observed)

	metricsSrv := httptest.NewServer(e.Handler())
	defer metricsSrv.Close()
	var wg sync.WaitGroup
	var sawOffers atomic.Int64
	for range 20 {
		wg.Go(func() {
			for range 5 {
				resp, err := http.Get(metricsSrv.URL)
				if !assert.NoError(t, err) {
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if bytes.Contains(b, []byte(`vast_account_credit_dollars 42.5`)) &&
					bytes.Contains(b, []byte(`vast_offers{gpu_name=`)) {
					sawOffers.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(100), sawOffers.Load(), "every scrape served the observation")
	assert.Equal(t, observed, api.requests.Load(), "100 scrapes made no request upstream")

	s := series(t, plainBody(t, e.Handler()))
	assert.Equal(t, 1.0, s[`vastwatch_api_requests_total{code="200",endpoint="/api/v0/bundles/"}`])
	assert.Equal(t, 1.0, s[`vastwatch_api_requests_total{code="200",endpoint="/api/v0/users/current/"}`])
}

// Concurrent scrapes share self-metrics gathers, but a scrape must still see every event that
// happened before it arrived.
func TestConcurrentScrapesSeeEveryEarlierEvent(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := metrics.New(reg, metrics.BuildInfo{}, nil)
	require.NoError(t, e.Publish(fixedSnapshot()))
	h := e.Handler()
	var counted atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 30 {
				e.CountAction("inference", "create", "ok")
				before := counted.Add(1)
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				var seen float64
				for line := range strings.Lines(rec.Body.String()) {
					if v, ok := strings.CutPrefix(line, `vastwatch_scaler_actions_total{action="create",fleet="inference",result="ok"} `); ok {
						seen = atof(t, strings.TrimSpace(v))
					}
				}
				if seen < float64(before) {
					t.Errorf("scrape saw %v actions, %d had been counted before it", seen, before)
					return
				}
			}
		})
	}
	wg.Wait()
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	_, err := fmt.Sscan(s, &f)
	require.NoError(t, err)
	return f
}

// realOffers reads the real search reply of 1,396 offers in vastapi's testdata. A missing copy
// fails the test: generated offers would not exercise the real reply's fields.
func realOffers(t *testing.T) []json.RawMessage {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "vastapi", "testdata", "match", "search.json.gz"))
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	var list []json.RawMessage
	require.NoError(t, json.NewDecoder(zr).Decode(&list))
	return list
}
