package daemon

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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

// The election's settings in these tests: the defaults of --leader-elect.*.
const (
	testLease      = 15 * time.Second
	testRenew      = 10 * time.Second
	testRetry      = 2 * time.Second
	testStartGrace = 30 * time.Second
)

type replica struct {
	d    *Daemon
	muts *mutations
	stop context.CancelFunc
	done chan struct{}
}

// startReplica runs one daemon's election against the shared simulator, electing through store.
// It runs inside a synctest bubble: the simulator, the daemon and its election all read the
// bubble's fake time.
func startReplica(t *testing.T, id string, sim *vastsim.Sim, store *leasetest.Store) *replica {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(haConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	muts := &mutations{next: sim.Transport()}
	o := Options{ConfigFile: path, StateDir: filepath.Join(dir, "state"), APIURL: "http://vastsim.test",
		Listen: []string{"127.0.0.1:0"}, StartGrace: testStartGrace, PendingGrace: time.Minute,
		PacingFactor: 0, Transport: muts, Clock: clock.Real{},
		Leader: LeaderOptions{Enabled: true, Namespace: "ns", LeaseName: "vastwatch", Identity: id,
			LeaseDuration: testLease, RenewDeadline: testRenew, RetryPeriod: testRetry,
			Client: store.Client(nil).Leases("ns"), ConfigMaps: store.ConfigMaps(nil).ConfigMaps("ns")}}
	d, err := New(o, policy.Env{APIKey: vastapi.NewSecret("ha-key")}, newTestLogger(t))
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

// pause lets the bubble's fake time pass by d.
func pause(d time.Duration) { <-time.After(d) }

// With two replicas, only the leader ever mutates; the follower still observes and exports.
// When the leader stops, the other takes over within twice the lease duration and, as a fresh
// process would, creates nothing before it has reconciled and one start grace has passed.
func TestOnlyTheLeaderActsAndANewLeaderReconcilesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, err := vastsim.New(vastsim.Options{Seed: 5, Machines: 80, Clock: clock.Real{}, APIKey: "ha-key", Speed: 30})
		if err != nil {
			t.Fatal(err)
		}
		store := leasetest.NewStore()
		a := startReplica(t, "a", sim, store)
		b := startReplica(t, "b", sim, store)
		first, second := electedOne(t, a, b)
		fleetAtTarget(t, sim, first, second)
		second.d.Cycle(context.Background())
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

		// An instance dies, and the leader stops: the follower must take over and replace it,
		// but only after reconciling and one start grace.
		if err := sim.FailInstance(sim.Instances()[0].ID, "exited"); err != nil {
			t.Fatal(err)
		}
		gained := takeover(t, first, second)
		restored(t, sim, second)
		at, what := second.muts.list()
		created := false
		for i, w := range what {
			if strings.HasPrefix(w, "PUT /api/v0/asks/") {
				created = true
				if at[i].Before(gained.Add(testStartGrace)) {
					t.Fatalf("the new leader created %v after gaining the lease, before one start grace (%v)", at[i].Sub(gained), testStartGrace)
				}
			}
		}
		if !created {
			t.Fatalf("positive control: the new leader should have replaced the dead instance; it sent %v", what)
		}
		if n := len(sim.Instances()); n > 2 {
			t.Fatalf("%d instances: something was rented twice across the takeover", n)
		}
	})
}

// electedOne waits until exactly one of a and b leads and returns it first; both leading at
// any moment fails the test.
func electedOne(t *testing.T, a, b *replica) (first, second *replica) {
	t.Helper()
	for waited := time.Duration(0); waited < 2*testLease; waited += 100 * time.Millisecond {
		if a.leads() && b.leads() {
			t.Fatal("both replicas lead")
		}
		switch {
		case a.leads():
			return a, b
		case b.leads():
			return b, a
		}
		pause(100 * time.Millisecond)
	}
	t.Fatal("no replica leads")
	return nil, nil
}

func running(sim *vastsim.Sim) int {
	n := 0
	for _, in := range sim.Instances() {
		if in.Status() == "running" {
			n++
		}
	}
	return n
}

// fleetAtTarget cycles both replicas a poll apart until the leader has two running instances.
func fleetAtTarget(t *testing.T, sim *vastsim.Sim, first, second *replica) {
	t.Helper()
	ctx := context.Background()
	for range 40 {
		first.d.Cycle(ctx)
		second.d.Cycle(ctx)
		if running(sim) >= 2 {
			return
		}
		pause(15 * time.Second)
	}
	t.Fatalf("the fleet did not reach its target under the leader: %d running", running(sim))
}

// takeover stops first and waits until second leads, which must happen within twice the
// lease duration; it returns when.
func takeover(t *testing.T, first, second *replica) time.Time {
	t.Helper()
	stopped := time.Now()
	first.halt()
	for !second.leads() {
		if time.Since(stopped) > 2*testLease {
			t.Fatalf("no takeover within twice the lease duration")
		}
		pause(100 * time.Millisecond)
	}
	gained := time.Now()
	t.Logf("takeover after %v", gained.Sub(stopped))
	return gained
}

// restored cycles the new leader a poll apart until the fleet is back at two running
// instances and nothing else.
func restored(t *testing.T, sim *vastsim.Sim, r *replica) {
	t.Helper()
	for range 80 {
		r.d.Cycle(context.Background())
		if running(sim) >= 2 && len(sim.Instances()) == 2 {
			return
		}
		pause(15 * time.Second)
	}
	t.Fatalf("the new leader did not restore the target: %d running of %d", running(sim), len(sim.Instances()))
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
