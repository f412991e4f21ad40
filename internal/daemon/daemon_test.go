package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// newTestDaemon builds the real daemon in simulate mode with cfgText, on a fake clock shared
// with its simulator, without serving HTTP.
func newTestDaemon(t *testing.T, cfgText string) *Daemon {
	t.Helper()
	return newTestDaemonWith(t, cfgText, nil)
}

// newTestDaemonWith is newTestDaemon with the options changed by mut.
func newTestDaemonWith(t *testing.T, cfgText string, mut func(*Options)) *Daemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigFile: path, StateDir: filepath.Join(dir, "state"),
		Sim:    SimOptions{Enabled: true, Speed: 1000, Seed: 3, Machines: 60, Credit: 100},
		Listen: []string{"127.0.0.1:0"}, StartGrace: -1, Clock: clock.NewFake(testEpoch)}
	if mut != nil {
		mut(&o)
	}
	d, err := New(o, policy.Env{}, newTestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testEpoch is when the daemon tests' fake clock starts.
var testEpoch = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

// advance moves a test daemon's fake clock.
func advance(d *Daemon, by time.Duration) { d.clk.(*clock.Fake).Advance(by) }

const watchOnlyConfig = `poll_interval: 15s
owner: demo
orphans: destroy
markets:
  - name: any
    query: "num_gpus>=1"
    order: "dph_total"
    limit: 100
`

// With no fleets vastwatch never calls a mutating endpoint, whatever the key allows — not even
// to destroy orphans that orphans: destroy would otherwise remove.
func TestNoFleetsNeverMutates(t *testing.T) {
	d := newTestDaemon(t, watchOnlyConfig)
	ctx := context.Background()
	offers, err := d.api.SearchOffers(ctx, vastapi.Query{Limit: 1})
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %v (%d offers)", err, len(offers))
	}
	// An instance of ours whose fleet is gone: an orphan that orphans: destroy targets.
	if _, err := d.api.CreateInstance(ctx, offers[0].ID, vastapi.CreateRequest{Image: "img", DiskGB: 10,
		Label: "vastwatch:demo:gone:0123456789ab"}); err != nil {
		t.Fatal(err)
	}
	before := len(d.sim.Requests())
	for range 3 {
		d.Cycle(ctx)
	}
	reqs := d.sim.Requests()[before:]
	if len(reqs) < 9 {
		t.Fatalf("positive control: three cycles should have observed; %d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.Mutating {
			t.Fatalf("a watch-only daemon sent %s %s", r.Method, r.Endpoint)
		}
	}
	if !d.last.ready.Load() {
		t.Fatal("the watch-only daemon should be ready after a successful poll")
	}
	st := d.statusView()
	if st.Orphans != 1 {
		t.Fatalf("the orphan should be counted and shown, not destroyed: %d", st.Orphans)
	}
	body, err := renderStatus(st)
	if err != nil || !strings.Contains(string(body), "orphaned") {
		t.Fatalf("status page: %v", err)
	}
}

const discoveryConfig = `poll_interval: 15s
owner: demo
markets:
  - name: m
    query: "num_gpus=1"
    order: "dph_total"
    limit: 200
fleets:
  - name: web
    market: m
    size: {min: 1, target: 2, max: 2}
    max_price_dollars_per_hour: 5
    budget_dollars_per_hour: 10
    instance: {image: img, disk_gb: 10}
    cooldown: {scale_up: 0s, scale_down: 0s}
    discovery: {ports: [22]}
  - name: batch
    market: m
    size: {min: 0, target: 0, max: 1}
    max_price_dollars_per_hour: 5
    budget_dollars_per_hour: 10
    instance: {image: img, disk_gb: 10}
    discovery: {ports: [22]}
`

// /sd lists exactly the running instances of fleets with discovery ports, one target per port at
// the public address and mapped host port, with the fleet, instance, machine and GPU labels.
func TestServiceDiscoveryListsRunningInstances(t *testing.T) {
	d := newTestDaemon(t, discoveryConfig)
	ctx := context.Background()
	get := func(query string) []sdGroup {
		rec := httptest.NewRecorder()
		d.serveSD(rec, httptest.NewRequest("GET", "/sd"+query, nil))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("/sd%s: %d %s", query, rec.Code, rec.Header().Get("Content-Type"))
		}
		var groups []sdGroup
		if err := json.Unmarshal(rec.Body.Bytes(), &groups); err != nil {
			t.Fatalf("/sd%s: %v: %s", query, err, rec.Body)
		}
		return groups
	}
	if g := get(""); len(g) != 0 {
		t.Fatalf("before any poll /sd must be empty, got %v", g)
	}
	cycleUntilRunning(t, d, 2)
	d.Cycle(ctx) // observe them running
	groups := get("")
	if len(groups) != 2 {
		t.Fatalf("want 2 targets (2 running instances × 1 port), got %v", groups)
	}
	byID := map[string]vastapi.Instance{}
	for _, in := range d.sim.Instances() {
		byID[strconv.FormatInt(in.ID, 10)] = in
	}
	for _, g := range groups {
		in, ok := byID[g.Labels["instance_id"]]
		if !ok || g.Labels["fleet"] != "web" || g.Labels["container_port"] != "22" ||
			g.Labels["gpu_name"] != in.GPUName || g.Labels["machine_id"] != strconv.FormatInt(in.MachineID, 10) {
			t.Fatalf("labels %v do not describe instance %+v", g.Labels, in.ID)
		}
		want := in.PublicIPAddr + ":" + in.Ports["22/tcp"][0].HostPort
		if len(g.Targets) != 1 || g.Targets[0] != want {
			t.Fatalf("targets %v, want [%s]", g.Targets, want)
		}
	}
	if g := get("?fleet=batch"); len(g) != 0 {
		t.Fatalf("fleet=batch has no instances: %v", g)
	}
	if g := get("?fleet=web"); len(g) != 2 {
		t.Fatalf("fleet=web: %v", g)
	}
	// An instance that dies leaves the list at the next poll.
	if err := d.sim.FailInstance(mustAtoi(t, groups[0].Labels["instance_id"]), "exited"); err != nil {
		t.Fatal(err)
	}
	d.Cycle(ctx)
	for _, g := range get("") {
		if g.Labels["instance_id"] == groups[0].Labels["instance_id"] {
			t.Fatalf("a failed instance is still offered: %v", g)
		}
	}
	// Its machine is avoided, counted for its fleet and shown on the status page.
	d.Cycle(ctx)
	machine := mustAtoi(t, groups[0].Labels["machine_id"])
	found := false
	for _, a := range d.statusView().Avoided {
		found = found || (a.MachineID == machine && a.Fleet == "web")
	}
	if !found {
		t.Fatalf("machine %d of the failed instance is not shown as avoided: %+v", machine, d.statusView().Avoided)
	}
	for _, f := range d.exporter.Snapshot().Fleets {
		if f.Name == "web" && f.AvoidedMachines != 1 {
			t.Fatalf("vastwatch_avoided_machines{fleet=web} = %d, want 1", f.AvoidedMachines)
		}
		// Of web's eligible machines, how many are avoided for it: the status page, `plan` and
		// the metrics say the same (the machine may be rented by now, so at most one).
		if f.Name == "web" && (f.EligibleMachines < 2 || f.EligibleAvoided > 1) {
			t.Fatalf("web: %d of %d eligible machines avoided", f.EligibleAvoided, f.EligibleMachines)
		}
		if f.Name == "web" {
			want := fmt.Sprintf("%d of %d eligible machines avoided", f.EligibleAvoided, f.EligibleMachines)
			page, err := renderStatus(d.statusView())
			if err != nil || !strings.Contains(string(page), want) {
				t.Fatalf("the status page does not say %q: %v", want, err)
			}
		}
		if f.Name == "web" && (f.MonthForecast <= 0 || f.MonthSpend < 0) {
			t.Fatalf("month spend %v and forecast %v of a fleet with running instances", f.MonthSpend, f.MonthForecast)
		}
	}
	if a := d.exporter.Snapshot().Account; a == nil || a.MonthForecast <= 0 {
		t.Fatalf("the account's month forecast should be exported: %+v", a)
	}
	// The simulated key may read billing: what Vast charged this month is exported beside it
	// (read before the first cycle, then every 10 minutes: storage bills from creation).
	advance(d, chargesEvery)
	d.Cycle(ctx)
	if a := d.exporter.Snapshot().Account; a.MonthCharges == nil || a.MonthCharges["disk"] <= 0 {
		t.Fatalf("month-to-date charges of an account with running instances: %v", a.MonthCharges)
	}
}

// cycleUntilRunning runs the daemon's cycles, a second of its fake clock apart (the simulator
// boots on that clock at its speed), until the simulator has n running instances, and returns
// their ids.
func cycleUntilRunning(t *testing.T, d *Daemon, n int) []int64 {
	t.Helper()
	var ids []int64
	for range 600 {
		d.Cycle(context.Background())
		ids = ids[:0]
		for _, in := range d.sim.Instances() {
			if in.Status() == "running" {
				ids = append(ids, in.ID)
			}
		}
		if len(ids) >= n {
			return ids
		}
		advance(d, time.Second)
	}
	t.Fatalf("the fleet did not reach %d running instances in 10 minutes: %v", n, ids)
	return nil
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const readinessConfig = `poll_interval: 15s
owner: demo
markets:
  - name: m
    query: "num_gpus=1 direct_port_count>=4"
    order: "dph_total"
    limit: 200
fleets:
  - name: web
    market: m
    size: {min: 0, target: 3, max: 3}
    max_price_dollars_per_hour: 5
    budget_dollars_per_hour: 15
    instance: {image: img, disk_gb: 10}
    max_actions_per_cycle: 3
    cooldown: {scale_up: 0s, scale_down: 0s}
    discovery: {ports: [9100]}
    readiness: {port: 8080, path: /healthz, timeout: 1s}
    drain: {delay: 1h}
`

// /sd lists exactly the ready, non-draining instances: running, passing the fleet's readiness
// probe, and not being drained; the status page and vastwatch_instance_ready say which is which.
func TestServiceDiscoveryListsExactlyTheReadyNonDrainingInstances(t *testing.T) {
	d := newTestDaemonWith(t, readinessConfig, func(o *Options) { o.Sim.PublicIP = "127.0.0.1" })
	ctx := context.Background()
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer healthy.Close()
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer sick.Close()
	portOf := func(s *httptest.Server) int { return s.Listener.Addr().(*net.TCPAddr).Port }

	// Three instances; the lowest id never passes its probe.
	ids := cycleUntilRunning(t, d, 3)
	slices.Sort(ids)
	for i, id := range ids {
		probe := healthy
		if i == 0 {
			probe = sick
		}
		if err := d.sim.SetHostPort(id, "8080/tcp", portOf(probe)); err != nil {
			t.Fatal(err)
		}
	}
	d.Cycle(ctx)
	targets := func() []string {
		rec := httptest.NewRecorder()
		d.serveSD(rec, httptest.NewRequest("GET", "/sd", nil))
		var groups []sdGroup
		if err := json.Unmarshal(rec.Body.Bytes(), &groups); err != nil {
			t.Fatalf("/sd: %v: %s", err, rec.Body)
		}
		var out []string
		for _, g := range groups {
			out = append(out, g.Labels["instance_id"])
		}
		slices.Sort(out)
		return out
	}
	ready := []string{strconv.FormatInt(ids[1], 10), strconv.FormatInt(ids[2], 10)}
	if got := targets(); !slices.Equal(got, ready) {
		t.Fatalf("/sd lists %v, want the two instances passing their probe %v", got, ready)
	}
	readyMetric := map[int64]bool{}
	for _, in := range d.exporter.Snapshot().Instances {
		if !in.Probed {
			t.Fatalf("instance %d of a probed fleet exported without vastwatch_instance_ready", in.ID)
		}
		readyMetric[in.ID] = in.Ready
	}
	if readyMetric[ids[0]] || !readyMetric[ids[1]] || !readyMetric[ids[2]] {
		t.Fatalf("vastwatch_instance_ready %v for %v (the first never passes)", readyMetric, ids)
	}

	// Scale down to 1: the unready instance and the dearer ready one are drained (delay 1h).
	// Both leave /sd at once although the drained ready one still runs and passes its probe.
	cfg := strings.Replace(readinessConfig, "target: 3", "target: 1", 1)
	if err := os.WriteFile(d.o.ConfigFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.cfg.reload("test"); err != nil {
		t.Fatal(err)
	}
	d.Cycle(ctx)
	d.Cycle(ctx)
	got := targets()
	if len(got) != 1 || !slices.Contains(ready, got[0]) {
		t.Fatalf("after the scale-down /sd lists %v, want exactly one of %v", got, ready)
	}
	draining := 0
	for _, in := range d.statusView().Instances {
		switch {
		case in.State == "draining":
			draining++
			if !strings.Contains(in.Service, "draining for") {
				t.Fatalf("draining instance %d shown as %q", in.ID, in.Service)
			}
		case strconv.FormatInt(in.ID, 10) == got[0]:
			if !in.ServiceOK || !strings.HasPrefix(in.Service, "ready: probe passed") {
				t.Fatalf("ready instance %d shown as %q", in.ID, in.Service)
			}
		}
	}
	if draining != 2 {
		t.Fatalf("%d instances shown draining, want 2", draining)
	}
	page, err := renderStatus(d.statusView())
	if err != nil || !strings.Contains(string(page), "readiness / drain") || !strings.Contains(string(page), "draining for") {
		t.Fatalf("status page without the readiness and drain column: %v", err)
	}
	if n := len(d.sim.Instances()); n != 3 {
		t.Fatalf("%d instances: the drain delay has not passed, none may be destroyed yet", n)
	}
}
