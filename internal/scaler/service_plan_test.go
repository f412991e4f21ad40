package scaler_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// probed is a readiness probe on container port 8080.
func probed(f *policy.Fleet) {
	f.Readiness = &policy.Readiness{Port: 8080, Path: "/healthz", Timeout: time.Second}
}

// drained gives the fleet a drain with a webhook, a 5 minute timeout and a 1 minute delay.
func drained(f *policy.Fleet) {
	f.Drain = &policy.Drain{Webhook: policy.SecretValue("https://lb.example/drain?token=x"), Timeout: 5 * time.Minute, Delay: time.Minute}
}

func startedAgo(in vastapi.Instance, d time.Duration) vastapi.Instance {
	in.StartDate = float64(t0.Add(-d).Unix())
	return in
}

func TestPlanReadinessAndDrain(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	offers := map[string][]vastapi.Offer{"m": {testOffer(1, 0.30), testOffer(2, 0.40)}}
	target := func(n int) func(*policy.Fleet) { return func(f *policy.Fleet) { f.Target = n } }
	passed := func(ok bool, passedAt time.Time) scaler.ProbeResult {
		return scaler.ProbeResult{At: t0, OK: ok, Passed: passedAt, Target: "203.0.113.7:41000"}
	}
	drainRec := func(since time.Duration, acked bool, then scaler.Kind, reason string) scaler.DrainRecord {
		r := scaler.DrainRecord{Fleet: "f", Since: t0.Add(-since), Then: then, Reason: reason}
		if acked {
			r.Acked = r.Since.Add(time.Second)
		}
		return r
	}
	cases := []struct {
		name  string
		cfg   *policy.Config
		obs   scaler.Observation
		st    scaler.State
		want  []string
		check func(t *testing.T, r scaler.Result)
	}{
		{
			name: "readiness: a running instance that never passed its probe counts as booting, not ready",
			cfg:  testConfig(testFleet("f", od, probed, target(1))),
			obs:  obsOf(100, offers, startedAgo(testInstance(10, "f", "a", "running", 0.3), 5*time.Minute)),
			st:   scaler.State{Probes: map[int64]scaler.ProbeResult{10: passed(false, time.Time{})}},
			check: func(t *testing.T, r scaler.Result) {
				m := r.Managed[0]
				if m.Phase != scaler.PhasePending || m.Ready || m.Probe == nil || r.Fleet("f").Ready != 0 {
					t.Fatalf("managed %+v, fleet %+v", m, r.Fleet("f"))
				}
			},
		},
		{
			name: "readiness: not passed within boot_timeout is failed: destroyed and replaced",
			cfg:  testConfig(testFleet("f", od, probed, target(1))),
			obs:  obsOf(100, offers, startedAgo(testInstance(10, "f", "a", "running", 0.3), 16*time.Minute)),
			st:   scaler.State{Probes: map[int64]scaler.ProbeResult{10: passed(false, time.Time{})}},
			want: []string{"destroy:f:10", "create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				if a := r.Actions[0]; a.Reason != scaler.ReasonFailed || a.Detail != scaler.WhyReadinessTimeout {
					t.Fatalf("destroy %s", a)
				}
			},
		},
		{
			name: "readiness: no probe result at all past boot_timeout is failed too",
			cfg:  testConfig(testFleet("f", od, probed, target(1))),
			obs:  obsOf(100, offers, startedAgo(testInstance(10, "f", "a", "running", 0.3), 16*time.Minute)),
			want: []string{"destroy:f:10", "create:f:1"},
		},
		{
			name: "readiness: passed once, failing now: running, counted, not ready, not replaced",
			cfg:  testConfig(testFleet("f", od, probed, target(1))),
			obs:  obsOf(100, offers, startedAgo(testInstance(10, "f", "a", "running", 0.3), time.Hour)),
			st:   scaler.State{Probes: map[int64]scaler.ProbeResult{10: passed(false, t0.Add(-30*time.Minute))}},
			check: func(t *testing.T, r scaler.Result) {
				m := r.Managed[0]
				if m.Phase != scaler.PhaseRunning || m.Ready || len(r.Actions) != 0 {
					t.Fatalf("managed %+v, actions %v", m, kinds(r))
				}
			},
		},
		{
			name: "readiness: passing: ready",
			cfg:  testConfig(testFleet("f", od, probed, target(1))),
			obs:  obsOf(100, offers, startedAgo(testInstance(10, "f", "a", "running", 0.3), time.Hour)),
			st:   scaler.State{Probes: map[int64]scaler.ProbeResult{10: passed(true, t0.Add(-30*time.Minute))}},
			check: func(t *testing.T, r scaler.Result) {
				if m := r.Managed[0]; m.Phase != scaler.PhaseRunning || !m.Ready || r.Fleet("f").Ready != 1 {
					t.Fatalf("managed %+v", m)
				}
			},
		},
		{
			name: "readiness and discovery: the create asks Vast to map the probed and discovered ports",
			cfg: testConfig(testFleet("f", od, probed, target(1), func(f *policy.Fleet) {
				f.DiscoveryPorts = []int{9100}
				f.Instance.Env = append(f.Instance.Env, policy.EnvVar{Name: "-p 9100:9100", Value: policy.PlainValue("1")})
			})),
			obs:  obsOf(100, offers),
			want: []string{"create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				env := r.Actions[0].Request.Env
				if env["-p 8080:8080"] != "1" || env["-p 9100:9100"] != "1" || len(env) != 3 {
					t.Fatalf("create env %v: want -p 8080:8080 added, -p 9100:9100 kept once, TOKEN", env)
				}
			},
		},
		{
			name: "drain: scale-down drains instead of destroying, with a notice for the webhook",
			cfg:  testConfig(testFleet("f", od, drained, target(1))),
			obs: obsOf(100, offers, testInstance(10, "f", "a", "running", 0.3),
				testInstance(11, "f", "b", "running", 0.5)),
			want: []string{"drain:f:11"},
			check: func(t *testing.T, r scaler.Result) {
				a := r.Actions[0]
				if a.Then != scaler.KindDestroy || a.Reason != scaler.ReasonAboveTarget || a.Notice == nil ||
					a.Notice.InstanceID != 11 || !a.Notice.Since.Equal(t0) || !a.Notice.Deadline.Equal(t0.Add(5*time.Minute)) {
					t.Fatalf("drain %s %+v", a, a.Notice)
				}
				if !hasDecision(r, "f", scaler.DecisionScaleDown, scaler.ReasonAboveTarget) {
					t.Fatalf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "drain: in stop mode the drain is followed by a stop",
			cfg:  testConfig(testFleet("f", od, drained, target(1), func(f *policy.Fleet) { f.ScaleDown = policy.ScaleDownStop })),
			obs: obsOf(100, offers, testInstance(10, "f", "a", "running", 0.3),
				testInstance(11, "f", "b", "running", 0.5)),
			want: []string{"drain:f:11"},
			check: func(t *testing.T, r scaler.Result) {
				if r.Actions[0].Then != scaler.KindStop {
					t.Fatalf("then %s", r.Actions[0].Then)
				}
			},
		},
		{
			name: "drain: a draining instance does not count toward the target: the fleet grows back",
			cfg:  testConfig(testFleet("f", od, drained, target(1))),
			obs:  obsOf(100, offers, testInstance(11, "f", "b", "running", 0.5)),
			st: scaler.State{Draining: map[int64]scaler.DrainRecord{
				11: drainRec(30*time.Second, true, scaler.KindDestroy, scaler.ReasonAboveTarget)}},
			want: []string{"create:f:1"},
			check: func(t *testing.T, r scaler.Result) {
				fs := r.Fleet("f")
				if m := r.Managed[0]; m.Phase != scaler.PhaseDraining || m.Ready || fs.Draining != 1 || fs.Counts[scaler.PhaseDraining] != 1 {
					t.Fatalf("managed %+v, fleet %+v", m, fs)
				}
				if !hasDecision(r, "f", scaler.DecisionWait, scaler.ReasonDraining) {
					t.Fatalf("decisions %v", r.Decisions)
				}
			},
		},
		{
			name: "drain: acknowledged and past the delay: removed for the reason it was drained for",
			cfg:  testConfig(testFleet("f", od, drained, target(0))),
			obs:  obsOf(100, offers, testInstance(11, "f", "b", "running", 0.5)),
			st: scaler.State{Draining: map[int64]scaler.DrainRecord{
				11: drainRec(2*time.Minute, true, scaler.KindDestroy, scaler.ReasonAboveTarget)}},
			want: []string{"destroy:f:11"},
			check: func(t *testing.T, r scaler.Result) {
				if a := r.Actions[0]; a.Reason != scaler.ReasonAboveTarget || a.Detail != "instance 11 drained: webhook answered 2xx and drain delay passed" {
					t.Fatalf("destroy %s", a)
				}
			},
		},
		{
			name: "drain: acknowledged within the delay: waits",
			cfg:  testConfig(testFleet("f", od, drained, target(0))),
			obs:  obsOf(100, offers, testInstance(11, "f", "b", "running", 0.5)),
			st: scaler.State{Draining: map[int64]scaler.DrainRecord{
				11: drainRec(30*time.Second, true, scaler.KindDestroy, scaler.ReasonAboveTarget)}},
			want: nil,
		},
		{
			name: "drain: not acknowledged within the timeout: the webhook is called again",
			cfg:  testConfig(testFleet("f", od, drained, target(0))),
			obs:  obsOf(100, offers, testInstance(11, "f", "b", "running", 0.5)),
			st: scaler.State{Draining: map[int64]scaler.DrainRecord{
				11: drainRec(2*time.Minute, false, scaler.KindDestroy, scaler.ReasonAboveTarget)}},
			want: []string{"drain:f:11"},
			check: func(t *testing.T, r scaler.Result) {
				if n := r.Actions[0].Notice; n == nil || !n.Since.Equal(t0.Add(-2*time.Minute)) {
					t.Fatalf("a retry must keep the drain's start: %+v", n)
				}
			},
		},
		{
			name: "drain: not acknowledged past the timeout: removed anyway",
			cfg:  testConfig(testFleet("f", od, drained, target(0))),
			obs:  obsOf(100, offers, testInstance(11, "f", "b", "running", 0.5)),
			st: scaler.State{Draining: map[int64]scaler.DrainRecord{
				11: drainRec(5*time.Minute, false, scaler.KindStop, scaler.ReasonAboveTarget)}},
			want: []string{"stop:f:11"},
		},
		{
			name: "drain: a draining instance that fails is destroyed as failed, not drained further",
			cfg:  testConfig(testFleet("f", od, drained, target(0))),
			obs:  obsOf(100, offers, testInstance(11, "f", "b", "exited", 0.5)),
			st: scaler.State{Draining: map[int64]scaler.DrainRecord{
				11: drainRec(30*time.Second, false, scaler.KindDestroy, scaler.ReasonAboveTarget)}},
			want: []string{"destroy:f:11"},
			check: func(t *testing.T, r scaler.Result) {
				if r.Actions[0].Reason != scaler.ReasonFailed {
					t.Fatalf("destroy %s", r.Actions[0])
				}
			},
		},
		{
			name: "drain: drain removed from the config while draining: removed at once",
			cfg:  testConfig(testFleet("f", od, target(0))),
			obs:  obsOf(100, offers, testInstance(11, "f", "b", "running", 0.5)),
			st: scaler.State{Draining: map[int64]scaler.DrainRecord{
				11: drainRec(10*time.Second, false, scaler.KindDestroy, scaler.ReasonAboveTarget)}},
			want: []string{"destroy:f:11"},
		},
		{
			name: "drain: the old instance of a replacement is drained once the new one runs",
			cfg:  testConfig(testFleet("f", od, drained, target(1))),
			obs: obsOf(100, offers, testInstance(10, "f", "a", "running", 0.5),
				testInstance(12, "f", "c", "running", 0.3)),
			st: scaler.State{Creates: []scaler.CreateRecord{{Nonce: "c", Fleet: "f", OfferID: 5, MachineID: 1012, Price: 0.31,
				Outcome: scaler.OutcomeCreated, InstanceID: 12, IntentAt: t0.Add(-10 * time.Minute), SeenAt: t0.Add(-9 * time.Minute), Replaces: 10}}},
			want: []string{"drain:f:10"},
			check: func(t *testing.T, r scaler.Result) {
				if a := r.Actions[0]; a.Reason != scaler.ReasonRebalance || a.Then != scaler.KindDestroy {
					t.Fatalf("drain %s", a)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := scaler.Plan(t0, c.obs, c.cfg, c.st)
			if got := kinds(r); !slices.Equal(got, c.want) {
				t.Fatalf("actions %v, want %v; decisions %v", got, c.want, r.Decisions)
			}
			if c.check != nil {
				c.check(t, r)
			}
			for _, a := range r.Actions {
				if s := a.String(); a.Drain != nil && (containsSecret(s) || containsSecret(a.Detail)) {
					t.Fatalf("action text carries the webhook: %s", s)
				}
			}
		})
	}
}

func containsSecret(s string) bool {
	return strings.Contains(s, "lb.example") || strings.Contains(s, "token")
}
