//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// loadExporter serves queue_depth, the load a test sets, as a Prometheus target.
type loadExporter struct {
	*httptest.Server
	load atomic.Int64
}

func newLoadExporter(t *testing.T) *loadExporter {
	e := &loadExporter{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE queue_depth gauge\nqueue_depth %d\n", e.load.Load())
	}))
	t.Cleanup(e.Close)
	return e
}

// startLoadPrometheus runs the real Prometheus scraping the load exporter every second.
func startLoadPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	return runPrometheus(t, bin, fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: load\n    static_configs:\n      - targets: [%q]\n", target))
}

const autoscaleConfig = `poll_interval: %s
owner: e2e
markets:
  - name: gpu1
    query: "num_gpus=1 reliability>0.9"
    order: dph_total
    limit: 100
fleets:
  - name: llm
    market: gpu1
    size: {min: 1, target: 1, max: 6}
    max_price_dollars_per_hour: 3
    budget_dollars_per_hour: 20
    instance: {image: vllm/vllm-openai, disk_gb: 20}
    cooldown: {scale_up: 0s, scale_down: 0s}
    max_actions_per_cycle: 6
    autoscale:
      demand:
        prometheus: {url: %q}
        query: 'sum(queue_depth{job="load"})'
        per_instance: 10
      stabilization: {scale_up: 0s, scale_down: %s}
`

// fleetRunning reads vast_instances{fleet="llm",state="running"} and the final desired size.
func fleetRunning(addr string) (running, desired float64, err error) {
	_, body, err := httpGet("http://" + addr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	running, desired = -1, -1
	for _, line := range strings.Split(body, "\n") {
		if _, e := fmt.Sscanf(line, `vast_instances{fleet="llm",state="running"} %g`, &running); e == nil {
			continue
		}
		_, _ = fmt.Sscanf(line, `vastwatch_fleet_desired_instances{fleet="llm",source="final"} %g`, &desired)
	}
	return running, desired, nil
}

// The real Prometheus scrapes a load exporter; the daemon asks it for the fleet's demand. Load
// 35 at 10 per instance brings the fleet to 4 running; load 0 brings it back to min, but only
// once the scale-down window has passed. The window runs from the last poll that saw the load
// (as Kubernetes' HPA counts it from the last high recommendation), which may come up to one
// poll interval before the test drops the load.
func TestAutoscaleOnLoadFromARealPrometheus(t *testing.T) {
	const window, poll = 20 * time.Second, 2 * time.Second
	load := newLoadExporter(t)
	prom := startLoadPrometheus(t, requireTool(t, "prometheus"), strings.TrimPrefix(load.URL, "http://"))
	cfg := filepath.Join(t.TempDir(), "autoscale.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(autoscaleConfig, poll, prom, window)), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	p := startProc(t, "vastwatch run --simulate", nil, vastwatchBinary(t), "run", "--simulate", "--config.file", cfg,
		"--simulate.speed", "200", "--web.listen-address", addr, "--state.dir", t.TempDir())

	load.load.Store(35)
	eventually(t, 90*time.Second, time.Second, "4 running at load 35", func() error {
		running, desired, err := fleetRunning(addr)
		if err == nil && (running != 4 || desired != 4) {
			err = fmt.Errorf("running %v, desired %v", running, desired)
		}
		return err
	})
	load.load.Store(0)
	dropped := time.Now()
	eventually(t, 90*time.Second, time.Second, "back at min 1 at load 0", func() error {
		running, desired, err := fleetRunning(addr)
		if err != nil {
			return err
		}
		if desired < 4 && time.Since(dropped) < window-poll {
			t.Fatalf("the fleet scaled down to %v %s after the load fell, inside the %s window", desired, time.Since(dropped).Round(time.Second), window)
		}
		if running != 1 || desired != 1 {
			return fmt.Errorf("running %v, desired %v", running, desired)
		}
		return nil
	})
	t.Logf("at min %s after the load fell (window %s)", time.Since(dropped).Round(time.Second), window)
	if strings.Contains(p.output(), "level=ERROR") {
		t.Fatalf("errors in the daemon's log:\n%s", lastLines(p.output(), 30))
	}
}
