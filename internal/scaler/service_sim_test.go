package scaler_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// loopbackServer answers every request with status on 127.0.0.1 and returns its port.
func loopbackServer(t *testing.T, status int) int {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

// onLoopback makes every running simulated instance report 127.0.0.1 as its public address.
func onLoopback(so *vastsim.Options, _ *scaler.Options) { so.PublicIPAddr = "127.0.0.1" }

// point maps container port 8080 of every instance of the fleet to the host port port(id).
func (w *world) point(fleet string, port func(id int64) int) {
	w.t.Helper()
	for _, in := range w.ours(fleet) {
		if err := w.sim.SetHostPort(in.ID, "8080/tcp", port(in.ID)); err != nil {
			w.t.Fatal(err)
		}
	}
}

func managedOf(rep scaler.CycleReport, id int64) *scaler.Managed {
	for i := range rep.Plan.Managed {
		if rep.Plan.Managed[i].Instance.ID == id {
			return &rep.Plan.Managed[i]
		}
	}
	return nil
}

// destroyed lists the instance ids the simulator received a destroy for, in order.
func (w *world) destroyed() []int64 {
	var ids []int64
	for _, r := range w.sim.Requests() {
		if r.Method == http.MethodDelete && r.Status == 200 {
			parts := strings.Split(strings.Trim(r.Path, "/"), "/")
			id, err := strconv.ParseInt(parts[len(parts)-1], 10, 64)
			if err != nil {
				w.t.Fatalf("destroy path %s", r.Path)
			}
			ids = append(ids, id)
		}
	}
	return ids
}

func TestSimProbeThatNeverPassesGetsTheInstanceReplaced(t *testing.T) {
	healthy, sick := loopbackServer(t, http.StatusOK), loopbackServer(t, http.StatusServiceUnavailable)
	f := testFleet("web", simMarket(t), simSized(1))
	f.Readiness = &policy.Readiness{Port: 8080, Path: "/healthz", Timeout: time.Second}
	w := newWorld(t, 5, simConfig(f), onLoopback)

	// The first instance never answers 2xx; any later one does.
	var first int64
	port := func(id int64) int {
		if first == 0 {
			first = id
		}
		if id == first {
			return sick
		}
		return healthy
	}
	var rep scaler.CycleReport
	for cycle := 0; cycle < 30; cycle++ {
		w.point("web", port)
		rep = w.mustStep()
		fs := rep.Plan.Fleet("web")
		if first != 0 && slices.Contains(w.destroyed(), first) {
			break
		}
		// Until it is replaced, the unready instance is never counted as running or ready.
		if fs.Counts[scaler.PhaseRunning] != 0 || fs.Ready != 0 {
			t.Fatalf("cycle %d: an instance that never passed its probe counts as running: %+v", cycle, fs)
		}
		if m := managedOf(rep, first); m != nil && m.Probe != nil && (m.Probe.OK || m.Probe.Err == "") {
			t.Fatalf("cycle %d: probe of the sick instance %+v", cycle, m.Probe)
		}
	}
	if first == 0 || !slices.Contains(w.destroyed(), first) {
		t.Fatalf("the instance that never passed its probe was not destroyed: %v", w.destroyed())
	}
	// It failed for readiness, only after boot_timeout, and its machine is avoided.
	var failedAt time.Time
	for _, o := range rep.Outcomes {
		if o.Action.Kind == scaler.KindDestroy && o.Action.InstanceID == first {
			if o.Action.Reason != scaler.ReasonFailed || o.Action.Detail != scaler.WhyReadinessTimeout {
				t.Fatalf("destroy of %d: reason %s (%s), want failed (readiness_timeout)", first, o.Action.Reason, o.Action.Detail)
			}
			failedAt = rep.At
		}
	}
	if failedAt.IsZero() {
		t.Fatalf("no destroy outcome for %d in the last cycle", first)
	}
	avoided := false
	for _, a := range w.sc.AvoidedMachines() {
		avoided = avoided || a.Fleet == "web"
	}
	if !avoided {
		t.Fatal("the machine of the instance that never became ready is not avoided")
	}
	// The replacement passes and becomes the fleet's one ready instance.
	for range 20 {
		w.point("web", port)
		rep = w.mustStep()
		if fs := rep.Plan.Fleet("web"); fs.Ready == 1 && fs.Counts[scaler.PhaseRunning] == 1 {
			break
		}
	}
	fs := rep.Plan.Fleet("web")
	if fs.Ready != 1 || fs.Counts[scaler.PhaseRunning] != 1 {
		t.Fatalf("the replacement did not become ready: %+v", fs)
	}
	for _, m := range rep.Plan.Managed {
		if m.Ready && (m.Probe == nil || !m.Probe.OK || m.Probe.Passed.IsZero() || !strings.HasPrefix(m.Probe.Target, "127.0.0.1:")) {
			t.Fatalf("ready instance %d with probe %+v", m.Instance.ID, m.Probe)
		}
	}
	// The create asked Vast to map the probed port.
	for _, in := range w.ours("web") {
		if _, ok := in.Ports["8080/tcp"]; !ok {
			t.Fatalf("instance %d has no 8080/tcp mapping: %v", in.ID, in.Ports)
		}
	}
}

// drainHook records the drain notices it receives and, for each, whether the instance was still
// alive in the simulator when it was called.
type drainHook struct {
	mu      sync.Mutex
	sim     *vastsim.Sim
	notices []scaler.DrainNotice
	alive   map[int64]bool
	status  int           // answered to every call
	hang    chan struct{} // when set, calls block until it is closed
}

func (h *drainHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n scaler.DrainNotice
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "want a JSON POST", http.StatusBadRequest)
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	live := false
	for _, in := range h.sim.Instances() {
		live = live || in.ID == n.InstanceID
	}
	h.mu.Lock()
	h.notices = append(h.notices, n)
	if h.alive == nil {
		h.alive = map[int64]bool{}
	}
	if _, seen := h.alive[n.InstanceID]; !seen {
		h.alive[n.InstanceID] = live
	}
	h.mu.Unlock()
	if h.hang != nil {
		select {
		case <-h.hang:
		case <-r.Context().Done():
		}
		return
	}
	w.WriteHeader(h.status)
}

func (h *drainHook) calls() (map[int64]int, map[int64]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := map[int64]int{}
	for _, x := range h.notices {
		n[x.InstanceID]++
	}
	alive := map[int64]bool{}
	for id, v := range h.alive {
		alive[id] = v
	}
	return n, alive
}

func TestSimDrainWebhookIsCalledBeforeEveryScaleDownDestroy(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(3))
	f.MaxActionsPerCycle = 3
	w := newWorld(t, 6, simConfig(f))
	hook := &drainHook{sim: w.sim, status: http.StatusNoContent}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	f.Drain = &policy.Drain{Webhook: policy.SecretValue(srv.URL + "/drain?token=t0ken"), Timeout: 10 * time.Minute, Delay: 2 * time.Minute}
	w.settle("web", 3)
	creates := w.creates()

	f.Target = 1
	rep := w.mustStep()
	var draining []int64
	for _, o := range rep.Outcomes {
		if o.Action.Kind != scaler.KindDrain || o.Result != scaler.ResultOK || o.Action.Reason != scaler.ReasonAboveTarget {
			t.Fatalf("scale-down outcome %s: %s %s %v, want ok drains", o.Action, o.Result, o.Why, o.Err)
		}
		draining = append(draining, o.Action.InstanceID)
	}
	if len(draining) != 2 || len(w.destroyed()) != 0 {
		t.Fatalf("scale-down 3 → 1: drains %v, destroys %v; want 2 drains and no destroy yet", draining, w.destroyed())
	}
	// While the delay runs the two are draining: shown and counted, not ready, not counted toward
	// the target (so nothing is created to replace them), not called again (they answered 2xx).
	for range 1 {
		rep = w.mustStep()
		fs := rep.Plan.Fleet("web")
		if fs.Draining != 2 || fs.Counts[scaler.PhaseDraining] != 2 || fs.Counts[scaler.PhaseRunning] != 1 || fs.Ready != 1 {
			t.Fatalf("during the drain: %+v", fs)
		}
		for _, id := range draining {
			if m := managedOf(rep, id); m == nil || m.Ready || m.Phase != scaler.PhaseDraining || m.Drain == nil || m.Drain.Acked.IsZero() {
				t.Fatalf("draining instance %d: %+v", id, m)
			}
		}
		if !hasDecision(rep.Plan, "web", scaler.DecisionWait, scaler.ReasonDraining) {
			t.Fatalf("no draining decision: %v", rep.Plan.Decisions)
		}
	}
	for range 3 {
		w.mustStep()
	}
	gone := w.destroyed()
	slices.Sort(gone)
	slices.Sort(draining)
	if !slices.Equal(gone, draining) {
		t.Fatalf("destroyed %v, want the drained %v", gone, draining)
	}
	calls, alive := hook.calls()
	for _, id := range gone {
		if calls[id] != 1 || !alive[id] {
			t.Fatalf("instance %d: %d webhook calls (alive at the first: %v); want exactly 1, before its destroy", id, calls[id], alive[id])
		}
	}
	if len(w.ours("web")) != 1 || w.creates() != creates {
		t.Fatalf("after the drain: %d instances, %d creates (was %d)", len(w.ours("web")), w.creates(), creates)
	}
	// The notice describes the instance for the receiver.
	hook.mu.Lock()
	n := hook.notices[0]
	hook.mu.Unlock()
	if n.Event != "drain" || n.Fleet != "web" || n.Owner != "itest" || n.Then != scaler.KindDestroy ||
		n.Reason != scaler.ReasonAboveTarget || n.MachineID == 0 || n.GPUName == "" || !strings.HasPrefix(n.Label, "vastwatch:itest:web:") ||
		!n.Deadline.Equal(n.Since.Add(10*time.Minute)) {
		t.Fatalf("notice %+v", n)
	}
}

func TestSimDrainTimeoutDoesNotBlockTheRemoval(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(*drainHook)
	}{
		{"a webhook that answers 503", func(h *drainHook) { h.status = http.StatusServiceUnavailable }},
		{"a webhook that never answers", func(h *drainHook) { h.hang = make(chan struct{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFleet("web", simMarket(t), simSized(2))
			w := newWorld(t, 7, simConfig(f), func(_ *vastsim.Options, o *scaler.Options) {
				o.Notifier = scaler.HTTPNotifier{Timeout: 300 * time.Millisecond}
			})
			hook := &drainHook{sim: w.sim}
			tc.hook(hook)
			srv := httptest.NewServer(hook)
			defer srv.Close()
			if hook.hang != nil {
				defer close(hook.hang)
			}
			f.Drain = &policy.Drain{Webhook: policy.PlainValue(srv.URL), Timeout: 3 * time.Minute}
			w.settle("web", 2)
			f.Target = 1
			var victim int64
			for cycle := 0; cycle < 8 && len(w.destroyed()) == 0; cycle++ {
				started := time.Now()
				rep := w.mustStep()
				if took := time.Since(started); took > 20*time.Second {
					t.Fatalf("cycle %d took %s: the webhook call is not bounded", cycle, took)
				}
				for _, o := range rep.Outcomes {
					if o.Action.Kind == scaler.KindDrain {
						victim = o.Action.InstanceID
						if o.Result != scaler.ResultError || o.Err == nil || strings.Contains(o.Err.Error(), srv.URL) {
							t.Fatalf("drain outcome %s %v: want an error that does not carry the webhook URL", o.Result, o.Err)
						}
					}
				}
			}
			if victim == 0 || !slices.Equal(w.destroyed(), []int64{victim}) {
				t.Fatalf("destroyed %v, want the drained %d after the drain timeout", w.destroyed(), victim)
			}
			// The webhook was retried each cycle until the timeout, then not again.
			calls, _ := hook.calls()
			if calls[victim] < 2 || calls[victim] > 4 {
				t.Fatalf("%d webhook calls in a 3 minute drain at one cycle a minute", calls[victim])
			}
		})
	}
}

func TestSimDrainSurvivesARestart(t *testing.T) {
	f := testFleet("web", simMarket(t), simSized(2))
	w := newWorld(t, 8, simConfig(f))
	f.Drain = &policy.Drain{Timeout: time.Minute, Delay: 5 * time.Minute}
	w.settle("web", 2)
	f.Target = 1
	rep := w.mustStep()
	if len(rep.Outcomes) != 1 || rep.Outcomes[0].Action.Kind != scaler.KindDrain {
		t.Fatalf("outcomes %v, want one drain", rep.Outcomes)
	}
	victim := rep.Outcomes[0].Action.InstanceID
	w.restart()
	for cycle := 0; len(w.destroyed()) == 0; cycle++ {
		if cycle > 8 {
			t.Fatal("the drained instance was never destroyed after the restart")
		}
		at := w.clk.Now()
		rep = w.mustStep()
		for _, o := range rep.Outcomes {
			if o.Action.Kind == scaler.KindDrain {
				t.Fatalf("after the restart the drain began again: %s", o.Action)
			}
		}
		if m := managedOf(rep, victim); len(w.destroyed()) == 0 && (m == nil || m.Phase != scaler.PhaseDraining) {
			t.Fatalf("%s: instance %d is no longer draining after the restart: %+v", at, victim, m)
		}
	}
	if got := w.destroyed(); !slices.Equal(got, []int64{victim}) {
		t.Fatalf("destroyed %v, want %d", got, victim)
	}
	if n := len(w.ours("web")); n != 1 {
		t.Fatalf("%d instances after the drain, want 1", n)
	}
}
