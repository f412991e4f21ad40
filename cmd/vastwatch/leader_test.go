package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// mutations records the mutating API requests one replica sends.
type mutations struct {
	mu   sync.Mutex
	next http.RoundTripper
	at   []time.Time
	what []string
}

func (m *mutations) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/v0/bundles") {
		m.mu.Lock()
		m.at = append(m.at, time.Now())
		m.what = append(m.what, r.Method+" "+r.URL.Path)
		m.mu.Unlock()
	}
	return m.next.RoundTrip(r)
}

func (m *mutations) list() ([]time.Time, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time(nil), m.at...), append([]string(nil), m.what...)
}

const haConfig = `poll_interval: 15s
owner: ha
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
    boot_timeout: 5m
`

type replica struct {
	d    *daemon
	muts *mutations
	stop context.CancelFunc
	done chan struct{}
}

// startReplica runs one daemon against the shared simulator, electing through store.
func startReplica(t *testing.T, id, simURL string, store *leasetest.Store) *replica {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(haConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	muts := &mutations{next: http.DefaultTransport}
	o := runOptions{configFile: path, stateDir: filepath.Join(dir, "state"), apiURL: simURL,
		listen: "127.0.0.1:0", telemetryPath: "/metrics", startGrace: time.Second, pendingGrace: time.Minute,
		pacingFactor: 0, transport: muts,
		leader: leaderOptions{enabled: true, namespace: "ns", leaseName: "vastwatch", identity: id,
			leaseDuration: time.Second, renewDeadline: 600 * time.Millisecond, retryPeriod: 100 * time.Millisecond,
			client: store.Client(nil)}}
	env := policy.Env{APIKey: vastapi.NewSecret("ha-key")}
	d, err := newDaemon(o, env, IO{Getenv: envOf(nil)}, newTestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{d: d, muts: muts, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_ = d.lead.run(ctx)
	}()
	t.Cleanup(func() { r.halt() })
	return r
}

func (r *replica) halt() {
	r.stop()
	<-r.done
}

func (r *replica) leads() bool { return r.d.lead.acting() != nil }

// With two replicas, only the leader ever mutates; the follower still observes and exports.
// When the leader stops, the other takes over within twice the lease duration and, as a fresh
// process would, creates nothing before it has reconciled and one start grace has passed.
func TestOnlyTheLeaderActsAndANewLeaderReconcilesFirst(t *testing.T) {
	sim, err := vastsim.New(vastsim.Options{Seed: 5, Machines: 80, Clock: clock.Real{}, APIKey: "ha-key", Speed: 2000})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	store := leasetest.NewStore()
	a := startReplica(t, "a", srv.URL, store)
	b := startReplica(t, "b", srv.URL, store)
	ctx := context.Background()

	var first, second *replica
	deadline := time.Now().Add(10 * time.Second)
	for first == nil {
		if a.leads() && b.leads() {
			t.Fatal("both replicas lead")
		}
		switch {
		case a.leads():
			first, second = a, b
		case b.leads():
			first, second = b, a
		}
		if time.Now().After(deadline) {
			t.Fatal("no replica leads")
		}
		time.Sleep(20 * time.Millisecond)
	}

	running := func() int {
		n := 0
		for _, in := range sim.Instances() {
			if in.Status() == "running" {
				n++
			}
		}
		return n
	}
	deadline = time.Now().Add(20 * time.Second)
	for running() < 2 {
		first.d.cycle(ctx)
		second.d.cycle(ctx)
		if time.Now().After(deadline) {
			t.Fatalf("the fleet did not reach its target under the leader: %d running", running())
		}
		time.Sleep(100 * time.Millisecond)
	}
	second.d.cycle(ctx)
	if at, what := second.muts.list(); len(at) != 0 {
		t.Fatalf("the follower sent mutating requests: %v", what)
	}
	if at, _ := first.muts.list(); len(at) < 2 {
		t.Fatalf("positive control: the leader should have created 2 instances; %d mutations", len(at))
	}
	snap := second.d.exporter.Snapshot()
	if snap == nil || len(snap.Fleets) != 1 || len(snap.Instances) != 2 {
		t.Fatalf("the follower should still export the fleet and its instances: %+v", snap)
	}

	// An instance dies, and the leader stops: the follower must take over and replace it, but
	// only after reconciling and one start grace.
	if err := sim.FailInstance(sim.Instances()[0].ID, "exited"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	first.halt()
	for !second.leads() {
		if time.Since(stopped) > 2*time.Second {
			t.Fatalf("no takeover within twice the lease duration")
		}
		time.Sleep(10 * time.Millisecond)
	}
	gained := time.Now()
	t.Logf("takeover after %v", gained.Sub(stopped).Round(time.Millisecond))
	deadline = time.Now().Add(20 * time.Second)
	for running() < 2 || len(sim.Instances()) != 2 {
		second.d.cycle(ctx)
		if time.Now().After(deadline) {
			t.Fatalf("the new leader did not restore the target: %d running of %d", running(), len(sim.Instances()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	at, what := second.muts.list()
	created := false
	for i, w := range what {
		if strings.HasPrefix(w, "PUT /api/v0/asks/") {
			created = true
			if at[i].Before(gained.Add(time.Second)) {
				t.Fatalf("the new leader created %v after gaining the lease, before one start grace (1s)", at[i].Sub(gained))
			}
		}
	}
	if !created {
		t.Fatalf("positive control: the new leader should have replaced the dead instance; it sent %v", what)
	}
	if n := len(sim.Instances()); n > 2 {
		t.Fatalf("%d instances: something was rented twice across the takeover", n)
	}
}

// Without --leader-elect there is no elector at all: Kubernetes is never contacted and the
// daemon always acts.
func TestWithoutLeaderElectNothingIsElected(t *testing.T) {
	d := newTestDaemon(t, watchOnlyConfig)
	if d.lead.enabled() || d.lead.elector != nil || d.lead.acting() == nil {
		t.Fatal("leader election must be off without --leader-elect")
	}
	if err := d.lead.run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
