package scaler_test

import (
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// coldFleet keeps up to n stopped instances in a cold pool.
func coldFleet(m *policy.Market, target, n int) *policy.Fleet {
	return testFleet("f", m, func(f *policy.Fleet) {
		f.Target, f.Max, f.Cold = target, 6, n
		f.CooldownUp, f.CooldownDown = 0, 0
	})
}

func stoppedByUs(ids ...int64) map[int64]time.Time {
	out := map[int64]time.Time{}
	for _, id := range ids {
		out[id] = t0.Add(-30 * time.Hour)
	}
	return out
}

func TestColdPool(t *testing.T) {
	od := testMarket("m", vastapi.OnDemand)
	offers := map[string][]vastapi.Offer{"m": {testOffer(1, 0.30), testOffer(2, 0.40)}}
	run := func(id int64, base float64) vastapi.Instance {
		return testInstance(id, "f", "r"+string(rune('a'+id)), "running", base)
	}
	stop := func(id int64, base float64) vastapi.Instance {
		return testInstance(id, "f", "s"+string(rune('a'+id)), "stopped", base)
	}

	t.Run("a scale-down stops into the pool while it has room, then destroys", func(t *testing.T) {
		obs := obsOf(100, nil, run(11, 0.30), run(12, 0.50), run(13, 0.40), run(14, 0.20))
		res := scaler.Plan(t0, obs, testConfig(coldFleet(od, 1, 2)), scaler.State{})
		// The most expensive go first: 12 and 13 are stopped into the pool, 11 destroyed.
		want := []string{"destroy:f:11", "stop:f:12", "stop:f:13"}
		if got := kinds(res); !equal(got, want) {
			t.Fatalf("actions %v, want %v", got, want)
		}
		// Stopped into the pool, they commit only their storage.
		if fs := res.Fleet("f"); !near(fs.SpendAfter, 0.21+0.01+0.01) {
			t.Fatalf("committed after %.4f, want the running one plus two instances' storage", fs.SpendAfter)
		}
	})
	t.Run("cold instances commit their storage, start first, and are never expired", func(t *testing.T) {
		obs := obsOf(100, offers, run(11, 0.30), stop(12, 0.50), stop(13, 0.20))
		st := scaler.State{StoppedByUs: stoppedByUs(12, 13), StoppedSince: stoppedByUs(12, 13)}
		cfg := testConfig(coldFleet(od, 1, 2))
		res := scaler.Plan(t0, obs, cfg, st)
		if len(res.Actions) != 0 {
			t.Fatalf("at target, a cold pool older than stopped_ttl is kept: %v", kinds(res))
		}
		if fs := res.Fleet("f"); !near(fs.SpendBefore, 0.31+0.01+0.01) {
			t.Fatalf("committed %.4f, want the running one plus the pool's storage", fs.SpendBefore)
		}
		for _, m := range res.Managed {
			if (m.Instance.ID == 12 || m.Instance.ID == 13) != m.Cold {
				t.Fatalf("instance %d cold %v", m.Instance.ID, m.Cold)
			}
		}
		cfg.Fleets[0].Target = 3
		res = scaler.Plan(t0, obs, cfg, st)
		want := []string{"start:f:13", "start:f:12"} // cheapest first, before any rental
		if got := kinds(res); !equal(got, want) {
			t.Fatalf("actions %v, want %v", got, want)
		}
	})
	t.Run("a cold start stays within the budget", func(t *testing.T) {
		obs := obsOf(100, offers, run(11, 0.30), stop(12, 0.50))
		st := scaler.State{StoppedByUs: stoppedByUs(12)}
		f := coldFleet(od, 2, 1)
		f.Budget = 0.6 // 0.31 running + 0.01 storage; starting 12 would commit 0.82
		res := scaler.Plan(t0, obs, testConfig(f), st)
		if got := kinds(res); len(got) != 0 {
			t.Fatalf("actions %v: the start and any rental pass the budget", got)
		}
		if !hasDecision(res, "f", scaler.DecisionBlocked, scaler.ReasonBudget) {
			t.Fatalf("decisions %v", res.Decisions)
		}
	})
	t.Run("beyond the pool, stopped instances are ordinary spares", func(t *testing.T) {
		obs := obsOf(100, nil, run(11, 0.30), stop(12, 0.50), stop(13, 0.20))
		st := scaler.State{StoppedByUs: stoppedByUs(12, 13), StoppedSince: stoppedByUs(12, 13)}
		res := scaler.Plan(t0, obs, testConfig(coldFleet(od, 1, 1)), st)
		// 13 (cheapest) is the pool; 12 has been stopped longer than stopped_ttl.
		if got, want := kinds(res), []string{"destroy:f:12"}; !equal(got, want) {
			t.Fatalf("actions %v, want %v", got, want)
		}
	})
	t.Run("a start whose GPUs are taken is destroyed and replaced, its machine not avoided", func(t *testing.T) {
		waiting := stop(12, 0.30)
		waiting.ActualStatus = vastapi.Some("scheduling")
		waiting.IntendedStatus, waiting.CurState, waiting.NextState = "running", "stopped", "running"
		obs := obsOf(100, offers, run(11, 0.30), waiting)
		st := scaler.State{StartedByUs: map[int64]time.Time{12: t0.Add(-3 * time.Minute)}}
		res := scaler.Plan(t0, obs, testConfig(coldFleet(od, 2, 1)), st)
		if got, want := kinds(res), []string{"destroy:f:12", "create:f:1"}; !equal(got, want) {
			t.Fatalf("actions %v, want %v", got, want)
		}
		if a := res.Actions[0]; a.Reason != scaler.ReasonStartFailed {
			t.Fatalf("destroy reason %q, want %q (the executor avoids only failed machines)", a.Reason, scaler.ReasonStartFailed)
		}
		st.StartedByUs[12] = t0.Add(-time.Minute)
		if got := kinds(scaler.Plan(t0, obs, testConfig(coldFleet(od, 2, 1)), st)); len(got) != 0 {
			t.Fatalf("within the grace the start waits: %v", got)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
