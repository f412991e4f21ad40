//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/deploy"
)

// canary is the API key of the whole suite, and secretCanary a secret of the instance template:
// neither may show up in any output.
const (
	canary       = "CANARY-e2e-5b1f0c9d7a3e4f21"
	secretCanary = "HFSECRET-e2e-93a1c07d"
)

// e2eConfig is a fast config: short poll, no cooldowns, a fleet of two on the simulated market.
const e2eConfig = `poll_interval: 2s
owner: e2e
account:
  credit_floor_dollars: 20
  max_spend_dollars_per_hour: 5
  # Far above any forecast (744 hours at the caps), so that the budget panels have data and
  # nothing is blocked by them.
  max_spend_dollars_per_month: 10000
markets:
  - name: rtx4090
    query: "gpu_name=RTX_4090 num_gpus=1 reliability>0.9"
    type: on-demand
    order: "dph_total"
    limit: 500
    storage_gb: 20
    group_by: [gpu_name, num_gpus]
  - name: big
    query: "num_gpus>=4"
    type: on-demand
    order: "dph_total"
    limit: 500
    storage_gb: 50
    group_by: [gpu_name, num_gpus, country]
fleets:
  - name: inference
    market: rtx4090
    size: {min: 1, target: 2, max: 3}
    max_price_dollars_per_hour: 1.50
    budget_dollars_per_hour: 4.00
    budget_dollars_per_month: 5000
    instance:
      image: "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime"
      disk_gb: 20
      runtype: ssh_direct
      onstart: "nvidia-smi"
      env:
        MODEL: "demo"
        HF_TOKEN: {env: E2E_HF_TOKEN}
    boot_timeout: 5m
    cooldown: {scale_up: 0s, scale_down: 30s}
    max_actions_per_cycle: 2
    discovery: {ports: [22]}
`

// probeConfig is e2eConfig with a readiness probe on the fleet. The simulator then reports
// every instance at 127.0.0.1 (sim --public-ip), which only allow_private_addresses lets
// vastwatch probe, and the test maps each instance's probe port to a server of its own, so
// every probe stays on loopback.
var probeConfig = "allow_private_addresses: true\n" + strings.Replace(e2eConfig, "    discovery: {ports: [22]}\n",
	"    discovery: {ports: [22]}\n    readiness: {port: 8080, path: /healthz, timeout: 2s}\n", 1)

// stack is one vastwatch sim + vastwatch run (+ optionally Prometheus) set.
type stack struct {
	t        *testing.T
	bin      string
	dir      string
	simAddr  string
	runAddr  string
	cfgPath  string
	cfg      string // the config's text, e2eConfig unless useConfig changed it
	stateDir string
	sim, run *proc
}

func newStack(t *testing.T) *stack {
	s := &stack{t: t, bin: vastwatchBinary(t), dir: t.TempDir()}
	s.simAddr, s.runAddr = freePort(t), freePort(t)
	s.cfgPath = filepath.Join(s.dir, "config.yaml")
	s.stateDir = filepath.Join(s.dir, "state")
	s.useConfig(e2eConfig)
	return s
}

// useConfig writes text as the config file, the one the steps that rewrite it go back to.
func (s *stack) useConfig(text string) {
	s.t.Helper()
	s.cfg = text
	if err := os.WriteFile(s.cfgPath, []byte(text), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stack) startSim(extra ...string) {
	args := append([]string{"sim", "--listen", s.simAddr, "--seed", "7", "--api-key", canary,
		"--machines", "200", "--credit", "200", "--speed", "60"}, extra...)
	s.sim = startProc(s.t, "vastwatch sim", nil, s.bin, args...)
	eventually(s.t, 20*time.Second, 100*time.Millisecond, "simulator listening", func() error {
		_, _, err := httpGet("http://" + s.simAddr + "/api/v0/gpu_names/unique/")
		return err
	})
}

func (s *stack) startRun(extra ...string) *proc {
	env := []string{"VAST_API_KEY=" + canary, "VASTWATCH_API_URL=http://" + s.simAddr, "E2E_HF_TOKEN=" + secretCanary}
	args := append([]string{"run", "--config.file", s.cfgPath, "--web.listen-address", s.runAddr,
		"--state.dir", s.stateDir, "--log.level", "debug", "--api.pacing-factor", "0.02",
		"--scaler.start-grace", "1s", "--config.watch-interval", "500ms", "--web.enable-lifecycle"}, extra...)
	s.run = startProc(s.t, "vastwatch run", env, s.bin, args...)
	return s.run
}

func (s *stack) url(path string) string { return "http://" + s.runAddr + path }

func (s *stack) simControl(method, path, body string) {
	s.t.Helper()
	req, _ := newRequest(method, "http://"+s.simAddr+path, body)
	req.Header.Set("Authorization", "Bearer "+canary)
	resp, err := httpc.Do(req)
	if err != nil {
		s.t.Fatalf("sim control %s %s: %v", method, path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		s.t.Fatalf("sim control %s %s: HTTP %d", method, path, resp.StatusCode)
	}
}

// metricValue reads one sample of the daemon's /metrics by exact series text prefix.
func (s *stack) metricValue(series string) (float64, error) {
	_, body, err := httpGet(s.url("/metrics"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, series)), 64)
		}
	}
	return 0, fmt.Errorf("series %s not in /metrics", series)
}

// contractMetrics are the metric names of docs/metrics.md that a running daemon with a fleet
// and a completed create always exports.
var contractMetrics = []string{
	"vast_offers", "vast_offer_price_dollars_per_hour", "vast_offer_gpu_price_dollars_per_hour",
	"vast_offer_dlperf_per_dollar", "vast_account_credit_dollars", "vast_account_spend_dollars_per_hour",
	"vast_account_runway_seconds", "vast_instances", "vast_instance_info", "vast_instance_price_dollars_per_hour",
	"vast_instance_start_timestamp_seconds", "vastwatch_fleet_target_instances", "vastwatch_fleet_min_instances",
	"vastwatch_fleet_max_instances", "vastwatch_fleet_spend_dollars_per_hour", "vastwatch_fleet_budget_dollars_per_hour",
	"vastwatch_fleet_blocked", "vastwatch_scaler_actions_total", "vastwatch_scaler_decisions_total",
	"vastwatch_api_requests_total", "vastwatch_api_request_duration_seconds_bucket", "vastwatch_poll_success",
	"vastwatch_last_poll_success_timestamp_seconds", "vastwatch_config_last_reload_successful",
	"vastwatch_config_last_reload_successful_timestamp_seconds", "vastwatch_avoided_machines",
	"vastwatch_orphaned_instances", "vastwatch_fleet_cost_dollars_total", "vastwatch_leader", "vastwatch_build_info",
	"vastwatch_account_credit_floor_dollars", "vastwatch_account_budget_dollars_per_month",
	"vastwatch_fleet_budget_dollars_per_month", "vastwatch_account_month_spend_dollars",
	"vastwatch_account_month_forecast_dollars", "vastwatch_fleet_month_spend_dollars",
	"vastwatch_fleet_month_forecast_dollars",
	// With probeConfig's readiness probe.
	"vastwatch_instance_ready",
	"vast_account_month_charges_dollars",
}

// TestStack runs the whole product against a real Prometheus: readiness flips after the first
// poll, the fleet reaches target with each instance passing its readiness probe (on loopback),
// every contract metric and every dashboard query has data,
// promtool accepts the live exposition, the low-credit alert fires, a bad reload keeps serving,
// the key never leaks, and the status page renders in a real browser.
func TestStack(t *testing.T) {
	promBin := requireTool(t, "prometheus")
	promtool := requireTool(t, "promtool")
	chromium := requireTool(t, "chromium")
	s := newStack(t)
	s.useConfig(probeConfig)
	probes := startProbeTarget(t)

	// The daemon starts before the simulator: its polls fail, so it must not be ready.
	s.startRun()
	eventually(t, 20*time.Second, 100*time.Millisecond, "daemon serving", func() error {
		code, _, err := httpGet(s.url("/-/healthy"))
		if err == nil && code != 200 {
			err = fmt.Errorf("healthy: HTTP %d", code)
		}
		return err
	})
	time.Sleep(2 * time.Second)
	if code, _, err := httpGet(s.url("/-/ready")); err != nil || code != 503 {
		t.Fatalf("/-/ready before any successful poll: code %d err %v, want 503", code, err)
	}
	if v, err := s.metricValue("vastwatch_poll_success"); err != nil || v != 0 {
		t.Fatalf("vastwatch_poll_success before the simulator is up = %v (%v), want 0", v, err)
	}
	s.startSim("--public-ip", "127.0.0.1")
	s.mapProbePorts(probes)
	eventually(t, 30*time.Second, 200*time.Millisecond, "/-/ready after the first poll", func() error {
		code, _, err := httpGet(s.url("/-/ready"))
		if err == nil && code != 200 {
			err = fmt.Errorf("HTTP %d", code)
		}
		return err
	})

	prom := startPrometheus(t, promBin, s.runAddr)

	// The fleet reaches its target, as Prometheus sees it.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	eventually(t, 90*time.Second, time.Second, "fleet at target in Prometheus", func() error {
		r, err := promQuery(ctx, prom, `vast_instances{fleet="inference",state="running"}`)
		if err != nil {
			return err
		}
		if len(r) != 1 || r[0].Value[1] != "2" {
			return fmt.Errorf("running instances: %v", r)
		}
		return nil
	})

	t.Run("every running instance passed its readiness probe, on loopback", func(t *testing.T) {
		eventually(t, 30*time.Second, time.Second, "ready instances in Prometheus", func() error {
			r, err := promQuery(ctx, prom, `sum(vastwatch_instance_ready{fleet="inference"})`)
			if err == nil && (len(r) != 1 || r[0].Value[1] != "2") {
				err = fmt.Errorf("ready instances: %v", r)
			}
			return err
		})
		if probes.hits.Load() == 0 {
			t.Fatal("the probe server was never asked")
		}
	})

	t.Run("Prometheus discovers the fleet's instances through /sd", func(t *testing.T) {
		eventually(t, 30*time.Second, time.Second, "fleet targets discovered", func() error {
			ids, err := discoveredFleetTargets(ctx, prom)
			if err != nil {
				return err
			}
			if len(ids) != 2 {
				return fmt.Errorf("discovered %v, want the 2 running instances", ids)
			}
			return nil
		})
	})

	t.Run("promtool check metrics finds nothing on the live output", func(t *testing.T) {
		_, body, err := httpGet(s.url("/metrics"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Fatalf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("status page screenshots at phone and desktop widths", func(t *testing.T) {
		// Into a temporary folder: the suite never rewrites tracked files. The README's
		// screenshots come from `make screenshots` (screenshots_test.go).
		takeScreenshots(t, chromium, s.url("/"), t.TempDir())
	})

	t.Run("credit below the floor fires the alert, blocks the fleet, and every dashboard query has data", func(t *testing.T) {
		s.simControl("POST", "/_sim/credit", `{"credit": 5}`)
		eventually(t, 60*time.Second, time.Second, "VastCreditBelowFloor firing", func() error {
			return alertFiring(ctx, prom, "VastCreditBelowFloor")
		})
		// An instance dies: it is replaced only while credit allows, so now the fleet is blocked.
		id := s.oneInstanceID()
		s.simControl("POST", fmt.Sprintf("/_sim/instances/%d/fail", id), `{"status":"exited"}`)
		eventually(t, 30*time.Second, 500*time.Millisecond, "fleet blocked by the credit floor", func() error {
			v, err := s.metricValue(`vastwatch_fleet_blocked{fleet="inference",reason="credit_floor"}`)
			if err == nil && v != 1 {
				err = fmt.Errorf("blocked = %v", v)
			}
			return err
		})
		checkDashboards(ctx, t, s, prom)
		s.simControl("POST", "/_sim/credit", `{"credit": 200}`)
	})

	t.Run("a bad reload keeps serving and flips the reload metric", func(t *testing.T) {
		if err := os.WriteFile(s.cfgPath, []byte("poll_interval: 2s\nfleets:\n  - name: Bad Name!\n    bogus_key: 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, body, err := httpPost(s.url("/-/reload"), "text/plain", nil)
		if err != nil || code != 500 || !strings.Contains(body, "line") {
			t.Fatalf("POST /-/reload of a bad file: code %d body %q err %v; want 500 naming the line", code, body, err)
		}
		if v, err := s.metricValue("vastwatch_config_last_reload_successful"); err != nil || v != 0 {
			t.Fatalf("reload metric = %v (%v), want 0", v, err)
		}
		if code, _, err := httpGet(s.url("/metrics")); err != nil || code != 200 {
			t.Fatalf("still serving after a bad reload: %d %v", code, err)
		}
		if _, err := s.metricValue(`vastwatch_fleet_target_instances{fleet="inference"}`); err != nil {
			t.Fatalf("the running config must be kept: fleet inference is gone from the metrics: %v", err)
		}
		if err := os.WriteFile(s.cfgPath, []byte(s.cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, 200*time.Millisecond, "good config reloaded by the file watch", func() error {
			v, err := s.metricValue("vastwatch_config_last_reload_successful")
			if err == nil && v != 1 {
				err = fmt.Errorf("reload metric %v", v)
			}
			return err
		})
	})

	t.Run("a fleet removed from the config leaves counted orphans, untouched", func(t *testing.T) {
		renamed := strings.Replace(s.cfg, "  - name: inference\n", "  - name: batch\n", 1)
		if err := os.WriteFile(s.cfgPath, []byte(renamed), 0o600); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, 500*time.Millisecond, "orphans counted", func() error {
			v, err := s.metricValue(`vastwatch_orphaned_instances{fleet="inference"}`)
			if err == nil && v < 1 {
				err = fmt.Errorf("orphans = %v", v)
			}
			return err
		})
	})

	t.Run("every contract metric is in Prometheus", func(t *testing.T) {
		eventually(t, 30*time.Second, time.Second, "contract metrics", func() error {
			var missing []string
			for _, m := range contractMetrics {
				// Present at some point of the run: blocked and orphaned series exist only while
				// a fleet is blocked or has orphans, which earlier steps brought about.
				r, err := promQuery(ctx, prom, fmt.Sprintf(`count(last_over_time({__name__=%q}[15m]))`, m))
				if err != nil {
					return err
				}
				if len(r) == 0 {
					missing = append(missing, m)
				}
			}
			if len(missing) > 0 {
				return fmt.Errorf("missing: %v", missing)
			}
			return nil
		})
	})

	t.Run("the API key appears nowhere", func(t *testing.T) {
		logs := s.run.output()
		if !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "/api/v0/bundles/") {
			t.Fatalf("positive control: the debug log should show API requests; got %d bytes", len(logs))
		}
		_, metrics, _ := httpGet(s.url("/metrics"))
		_, status, _ := httpGet(s.url("/"))
		if len(metrics) < 1000 || len(status) < 1000 {
			t.Fatalf("positive control: metrics %d bytes, status %d bytes", len(metrics), len(status))
		}
		// Positive control for the template secret: it did reach the rented instances.
		req, _ := newRequest("GET", "http://"+s.simAddr+"/api/v0/instances/?owner=me", "")
		req.Header.Set("Authorization", "Bearer "+canary)
		resp, err := httpc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(raw), secretCanary) {
			t.Fatal("positive control: the template secret should be in the instances' environment")
		}
		for what, text := range map[string]string{"log": logs, "metrics": metrics, "status page": status} {
			if strings.Contains(text, canary) {
				t.Errorf("the API key appears in the %s", what)
			}
			if strings.Contains(text, secretCanary) {
				t.Errorf("the template secret appears in the %s", what)
			}
		}
	})

	t.Run("SIGTERM exits cleanly", func(t *testing.T) {
		s.run.signal(syscall.SIGTERM)
		if code := s.run.wait(20 * time.Second); code != 0 {
			t.Fatalf("exit code after SIGTERM: %d", code)
		}
	})
}

func alertFiring(ctx context.Context, prom, name string) error {
	r, err := promQuery(ctx, prom, fmt.Sprintf(`ALERTS{alertname=%q,alertstate="firing"}`, name))
	if err != nil {
		return err
	}
	if len(r) == 0 {
		return fmt.Errorf("%s not firing", name)
	}
	return nil
}

var forRE = regexp.MustCompile(`(?m)^(\s*)for:\s*\S+`)

// startPrometheus runs Debian's prometheus scraping target every second, with the project's
// alert rules loaded ("for" shortened so alerts fire within the test).
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	rules, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", "vastwatch.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rules = forRE.ReplaceAll(rules, []byte("${1}for: 0s"))
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), rules, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: vastwatch
    static_configs:
      - targets: [%q]
  # The fleet's instances, discovered through /sd. Their addresses are 127.0.0.1 and ports
  # nothing of theirs listens on, so every target is dropped before any scrape: Prometheus
  # discovers them (the test reads them back from its dropped targets) and sends them nothing.
  - job_name: fleet
    http_sd_configs:
      - url: "http://%s/sd"
        refresh_interval: 2s
    relabel_configs:
      - action: drop
        regex: ".*"
        source_labels: [__address__]
`, filepath.Join(dir, "rules.yml"), target, target)
	return runPrometheus(t, bin, cfg)
}

// statusShots are the status page's screenshots: a phone's width and a desktop's.
var statusShots = []struct {
	name          string
	width, height int
}{{"status-phone.png", 390, 1400}, {"status-desktop.png", 1280, 1300}}

// takeScreenshots writes statusShots of url into dir, each checked not to be blank.
func takeScreenshots(t *testing.T, chromium, url, dir string) {
	t.Helper()
	for _, shot := range statusShots {
		path := filepath.Join(dir, shot.name)
		screenshot(t, chromium, url, path, shot.width, shot.height)
		checkNotBlank(t, path)
	}
}

// screenshot takes a PNG of url with headless Chromium, offline-safe flags included.
func screenshot(t *testing.T, chromium, url, path string, w, h int) {
	t.Helper()
	_ = os.Remove(path)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--disable-background-networking", "--disable-sync",
		"--disable-component-update", "--disable-default-apps", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), fmt.Sprintf("--window-size=%d,%d", w, h), "--screenshot="+path, url)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium screenshot: %v\n%s", err, lastLines(string(out), 20))
	}
}

// checkNotBlank fails unless path is a PNG with real content: many colours and a fair share of
// non-background pixels.
func checkNotBlank(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("screenshot missing: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	b := img.Bounds()
	colors := map[[3]uint32]bool{}
	bg := rgb(img, b.Min.X, b.Min.Y+b.Dy()-1)
	differ := 0
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			c := rgb(img, x, y)
			colors[c] = true
			if c != bg {
				differ++
			}
		}
	}
	total := (b.Dx() / 3) * (b.Dy() / 3)
	if len(colors) < 20 || differ < total/20 {
		t.Fatalf("screenshot %s looks blank: %d colours, %d of %d pixels differ from the background", path, len(colors), differ, total)
	}
}

func rgb(img image.Image, x, y int) [3]uint32 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint32{r >> 8, g >> 8, b >> 8}
}

// checkDashboards runs every query of every dashboard against Prometheus and fails unless each
// returns data. It runs while the fleet is blocked, so "blocked now" panels have data too.
func checkDashboards(ctx context.Context, t *testing.T, s *stack, prom string) {
	t.Helper()
	qs, err := deploy.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 10 {
		t.Fatalf("only %d dashboard queries", len(qs))
	}
	vars := map[string]string{"datasource": "prometheus", "market": "rtx4090", "fleet": "inference", "gpu": "RTX 4090",
		"job": "vastwatch", "instance": s.runAddr, "__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
	eventually(t, 60*time.Second, 2*time.Second, "dashboard queries", func() error {
		var empty []string
		for _, q := range qs {
			expr, err := deploy.ExpandVariables(q.Expr, vars)
			if err != nil {
				return err
			}
			r, err := promQuery(ctx, prom, expr)
			if err != nil {
				return fmt.Errorf("%s / %s: %w", q.Dashboard, q.Panel, err)
			}
			if len(r) == 0 {
				empty = append(empty, fmt.Sprintf("%s / %s: %s", q.Dashboard, q.Panel, expr))
			}
		}
		if len(empty) > 0 {
			return fmt.Errorf("%d of %d queries empty:\n%s", len(empty), len(qs), strings.Join(empty, "\n"))
		}
		return nil
	})
}

// discoveredFleetTargets returns the instance ids Prometheus discovered for job "fleet", read
// from its dropped targets (the job drops them all before scraping).
func discoveredFleetTargets(ctx context.Context, prom string) ([]string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, prom+"/api/v1/targets?state=dropped", nil)
	resp, err := httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			DroppedTargets []struct {
				DiscoveredLabels map[string]string `json:"discoveredLabels"`
			} `json:"droppedTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	var ids []string
	for _, t := range r.Data.DroppedTargets {
		l := t.DiscoveredLabels
		if l["job"] == "fleet" && l["fleet"] == "inference" && l["container_port"] == "22" && l["__address__"] != "" {
			ids = append(ids, l["instance_id"])
		}
	}
	return ids, nil
}
