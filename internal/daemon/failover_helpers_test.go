package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// The failover tests run two daemons that elect through the conflict-enforcing Lease store and
// share the state in a ConfigMap of the same fake API server, against one simulator reached in
// process, inside a testing/synctest bubble (clock.Real is the bubble's time).

// haKey may do everything a fleet needs but read billing, so that month-to-date spend comes
// from the state alone: Vast's bill (issue 16 item 2) would otherwise hide a lost spend book.
const haKey = "ha-fleet-key"

// haWorld is what two replicas share: the market, the API server, the listing and the webhook.
type haWorld struct {
	t       *testing.T
	sim     *vastsim.Sim
	store   *leasetest.Store
	listing *listingDelay
	intents *intentFirst
	hook    *drainHook
}

func newHAWorld(t *testing.T) *haWorld {
	t.Helper()
	sim, err := vastsim.New(vastsim.Options{Seed: 5, Machines: 80, Clock: clock.Real{}, Speed: 30,
		Keys: map[string][]string{haKey: {vastsim.ScopeMisc, vastsim.ScopeUserRead, vastsim.ScopeInstanceRead, vastsim.ScopeInstanceWrite}}})
	if err != nil {
		t.Fatal(err)
	}
	w := &haWorld{t: t, sim: sim, store: leasetest.NewStore(), listing: &listingDelay{next: sim.Transport(), hidden: map[int64]bool{}},
		hook: &drainHook{}}
	w.intents = &intentFirst{next: w.listing, store: w.store}
	return w
}

// haReplica is one daemon of the pair.
type haReplica struct {
	*replica
	id      string
	cfgPath string
	leases  *leasetest.Faults
}

// start runs one replica's election with cfg, its lease client faulted by leases.
func (w *haWorld) start(id, cfg string, mut func(*Options)) *haReplica {
	t := w.t
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	muts := &mutations{next: w.intents}
	faults := &leasetest.Faults{}
	o := Options{ConfigFile: path, StateDir: filepath.Join(dir, "state"), APIURL: "http://vastsim.test",
		Listen: []string{"127.0.0.1:0"}, StartGrace: testStartGrace, PendingGrace: 10 * time.Minute,
		Transport: muts, Clock: clock.Real{}, Notifier: w.hook.as(id),
		Leader: LeaderOptions{Enabled: true, Namespace: "ns", LeaseName: "vastwatch", Identity: id,
			LeaseDuration: testLease, RenewDeadline: testRenew, RetryPeriod: testRetry,
			Client: w.store.Client(faults).Leases("ns"), ConfigMaps: w.store.ConfigMaps(nil).ConfigMaps("ns")}}
	if mut != nil {
		mut(&o)
	}
	d, err := New(o, policy.Env{APIKey: vastapi.NewSecret(haKey)}, newTestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.store.(kubeState); !ok {
		t.Fatalf("with --leader-elect the state is %T, want the configmap", d.store)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &haReplica{replica: &replica{d: d, muts: muts, stop: cancel, done: make(chan struct{})}, id: id, cfgPath: path, leases: faults}
	go func() {
		defer close(r.done)
		_ = d.lead.run(ctx)
	}()
	t.Cleanup(func() { r.halt() })
	return r
}

// pair starts replicas a and b with cfg and returns them leader first.
func (w *haWorld) pair(cfg string, mut func(*Options)) (first, second *haReplica) {
	a, b := w.start("a", cfg, mut), w.start("b", cfg, mut)
	l, _ := electedOne(w.t, a.replica, b.replica)
	if l == a.replica {
		return a, b
	}
	return b, a
}

// reload swaps the replica's config file for cfg and reloads it.
func (r *haReplica) reload(t *testing.T, cfg string) {
	t.Helper()
	if err := os.WriteFile(r.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.d.cfg.reload("test"); err != nil {
		t.Fatal(err)
	}
}

// view is the replica's last published view.
func (r *haReplica) view(t *testing.T) *scaler.View {
	t.Helper()
	v := r.d.last.load().view
	if v == nil {
		t.Fatalf("replica %s published no view: %s", r.id, r.d.last.load().err)
	}
	return v
}

// fleet is the replica's last status of fleet web.
func (r *haReplica) fleet(t *testing.T) scaler.FleetStatus {
	t.Helper()
	for _, f := range r.view(t).Fleets {
		if f.Name == "web" {
			return f
		}
	}
	t.Fatalf("replica %s shows no fleet web", r.id)
	return scaler.FleetStatus{}
}

// creates counts the create requests the replica sent.
func (r *haReplica) creates() int {
	_, what := r.muts.list()
	n := 0
	for _, w := range what {
		if strings.HasPrefix(w, "PUT /api/v0/asks/") {
			n++
		}
	}
	return n
}

// cycleUntil cycles r a poll apart, at most n times, until done says so.
func cycleUntil(t *testing.T, r *haReplica, n int, what string, done func() bool) {
	t.Helper()
	for range n {
		r.d.Cycle(context.Background())
		if done() {
			return
		}
		pause(15 * time.Second)
	}
	t.Fatalf("replica %s: %s did not happen within %d cycles", r.id, what, n)
}

// haFleet is the failover tests' config: fleet web of target instances, with extra keys.
func haFleet(target int, extra string) string {
	return fmt.Sprintf(`poll_interval: 15s
owner: ha
markets:
  - name: m
    query: "num_gpus=1"
    order: "dph_total"
    limit: 200
fleets:
  - name: web
    market: m
    size: {min: 1, target: %d, max: 2}
    max_price_dollars_per_hour: 5
    budget_dollars_per_hour: 10
    instance: {image: img, disk_gb: 10}
    cooldown: {scale_up: 0s, scale_down: 0s}
    boot_timeout: 5m
%s`, target, extra)
}

// listingDelay is the API as a real one may show it: an instance in hidden is not in the
// instance list yet. With lose set, the next create is applied and its reply lost (a reset
// after the request was sent), and its instance hidden: a create of unknown outcome whose
// instance the list does not show yet.
type listingDelay struct {
	next   http.RoundTripper
	lose   atomic.Bool
	mu     sync.Mutex
	hidden map[int64]bool
}

func (l *listingDelay) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v0/asks/") && l.lose.CompareAndSwap(true, false) {
		res, err := l.next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var reply struct {
			NewContract int64 `json:"new_contract"`
		}
		if err := json.NewDecoder(res.Body).Decode(&reply); err != nil || reply.NewContract == 0 {
			return nil, fmt.Errorf("listing delay: create reply without new_contract: %v", err)
		}
		l.set(reply.NewContract, true)
		return nil, errors.New("connection reset by peer")
	}
	res, err := l.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, vastapi.EPListV1) {
		return res, err
	}
	return l.filter(res)
}

func (l *listingDelay) set(id int64, hidden bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hidden[id] = hidden
}

// filter drops the hidden instances from a list reply.
func (l *listingDelay) filter(res *http.Response) (*http.Response, error) {
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	var page map[string]json.RawMessage
	var rows []map[string]json.RawMessage
	if json.Unmarshal(body, &page) == nil && json.Unmarshal(page["instances"], &rows) == nil {
		l.mu.Lock()
		kept := rows[:0]
		for _, row := range rows {
			var id int64
			if json.Unmarshal(row["id"], &id) == nil && !l.hidden[id] {
				kept = append(kept, row)
			}
		}
		l.mu.Unlock()
		page["instances"], _ = json.Marshal(kept)
		body, _ = json.Marshal(page)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Del("Content-Length")
	return res, nil
}

// intentFirst checks, as each create request reaches the API, that its intent is already in
// the state's ConfigMap: the write-ahead rule on the Kubernetes backend.
type intentFirst struct {
	next    http.RoundTripper
	store   *leasetest.Store
	checked atomic.Int32
	missing atomic.Int32
}

func (c *intentFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v0/asks/") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct {
			Label string `json:"label"`
		}
		_ = json.Unmarshal(body, &req)
		_, _, nonce, _ := scaler.ParseLabel(req.Label)
		cm := c.store.ConfigMap("ns", StateConfigMap("vastwatch"))
		c.checked.Add(1)
		if nonce == "" || cm == nil || !strings.Contains(cm.Data[scaler.JournalFile], `"nonce":"`+nonce+`"`) {
			c.missing.Add(1)
		}
	}
	return c.next.RoundTrip(r)
}

// drainHook is the drain webhook: it records every call, by replica, and answers 2xx only
// while accept is set.
type drainHook struct {
	accept atomic.Bool
	mu     sync.Mutex
	calls  []hookCall
}

type hookCall struct {
	by     string
	at     time.Time
	notice scaler.DrainNotice
	ok     bool
}

func (h *drainHook) as(id string) scaler.Notifier { return hookFor{h: h, id: id} }

func (h *drainHook) list() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.calls...)
}

type hookFor struct {
	h  *drainHook
	id string
}

func (f hookFor) Notify(_ context.Context, _ string, body []byte) error {
	var n scaler.DrainNotice
	if err := json.Unmarshal(body, &n); err != nil {
		return err
	}
	ok := f.h.accept.Load()
	f.h.mu.Lock()
	f.h.calls = append(f.h.calls, hookCall{by: f.id, at: time.Now(), notice: n, ok: ok})
	f.h.mu.Unlock()
	if !ok {
		return errors.New("drain webhook: status 503")
	}
	return nil
}
