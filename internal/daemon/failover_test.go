package daemon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vastwatch/vastwatch/internal/kubestate"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// A monthly budget spent under the first leader holds under the second: the month-to-date spend
// is in the shared state, so the second does not start the month at $0 (issue 16 item 1).
func TestFailoverKeepsTheMonthsSpend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newHAWorld(t)
		first, second := w.pair(haFleet(1, ""), nil)
		cycleUntil(t, first, 40, "one running instance", func() bool { return running(w.sim) == 1 })
		pause(time.Hour) // the instance bills on
		first.d.Cycle(context.Background())
		booked := first.fleet(t).MonthSpend
		if booked < 0.01 {
			t.Fatalf("positive control: an hour of an instance should have booked spend, got $%.4f", booked)
		}
		takeover(t, first.replica, second.replica)
		second.d.Cycle(context.Background()) // claims the state, reconciles; one start grace
		pause(testStartGrace + time.Second)
		second.d.Cycle(context.Background())
		st := second.fleet(t)
		if st.MonthSpend < booked {
			t.Fatalf("the new leader counts $%.4f spent this month, the old one had booked $%.4f", st.MonthSpend, booked)
		}
		// A budget that one more instance fits only if the month's spend were forgotten: the
		// projection with the cheapest offer, plus half of what was spent.
		h := scaler.HoursLeftInMonth(time.Now())
		budget := (st.SpendBefore+cheapestFleetPrice(t, second))*h + booked/2
		second.reload(t, haFleet(2, fmt.Sprintf("    budget_dollars_per_month: %.6f\n", budget)))
		second.d.Cycle(context.Background())
		if n := second.creates(); n != 0 {
			t.Fatalf("the new leader rented %d instances past a monthly budget the old one had spent into", n)
		}
		if !hasDecision(second.view(t).Decisions, scaler.ReasonMonthlyBudget) {
			t.Fatalf("want a monthly_budget decision, got %v", second.view(t).Decisions)
		}
		// Positive control: with what was spent added to the budget, the same create goes out.
		second.reload(t, haFleet(2, fmt.Sprintf("    budget_dollars_per_month: %.6f\n", budget+booked)))
		second.d.Cycle(context.Background())
		if second.creates() != 1 {
			t.Fatalf("positive control: the budget plus the month's spend should fit one more instance; decisions %v", second.view(t).Decisions)
		}
	})
}

// cheapestFleetPrice is the lowest price fleet web could rent at now, as its plan prices offers.
func cheapestFleetPrice(t *testing.T, r *haReplica) float64 {
	t.Helper()
	cfg := r.d.cfg.current()
	f := cfg.Fleets[0]
	offers, err := r.d.api.SearchOffers(context.Background(), f.Market.Query)
	if err != nil {
		t.Fatal(err)
	}
	low := math.Inf(1)
	for i := range offers {
		if offers[i].DiskSpace < float64(f.Instance.DiskGB) {
			continue
		}
		if p, _, ok := scaler.OfferPrice(f, &offers[i]); ok && p <= f.MaxPrice {
			low = min(low, p)
		}
	}
	if math.IsInf(low, 1) {
		t.Fatal("no offer to rent")
	}
	return low
}

func hasDecision(ds []scaler.Decision, reason string) bool {
	return slices.ContainsFunc(ds, func(d scaler.Decision) bool { return d.Fleet == "web" && d.Reason == reason })
}

// A create whose outcome is unknown under the first leader, and whose instance the list does not
// show yet, is counted by the follower and by the second leader until it shows: it is not
// rented twice (issue 16 item 1).
func TestFailoverDoesNotDoubleACreateOfUnknownOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newHAWorld(t)
		first, second := w.pair(haFleet(2, ""), nil)
		first.d.Cycle(context.Background()) // reconciles; creates wait one start grace
		pause(testStartGrace + time.Second)
		w.listing.lose.Store(true)
		first.d.Cycle(context.Background())
		if first.creates() != 2 || len(w.sim.Instances()) != 2 {
			t.Fatalf("positive control: the leader should have sent 2 creates, one of them lost; sent %d, %d exist", first.creates(), len(w.sim.Instances()))
		}
		if w.intents.checked.Load() != 2 || w.intents.missing.Load() != 0 {
			t.Fatalf("%d of %d creates were sent before their intent was in the state's configmap", w.intents.missing.Load(), w.intents.checked.Load())
		}
		second.d.Cycle(context.Background())
		if n := second.fleet(t).PendingCreates; n != 1 {
			t.Fatalf("the follower shows %d pending creates, want the leader's 1 of unknown outcome", n)
		}
		takeover(t, first.replica, second.replica)
		for range 12 { // three minutes, well past the start grace, within the pending grace
			second.d.Cycle(context.Background())
			pause(15 * time.Second)
		}
		if n := second.creates(); n != 0 {
			t.Fatalf("the new leader rented %d more: the create of unknown outcome was doubled", n)
		}
		for _, in := range w.sim.Instances() {
			w.listing.set(in.ID, false) // the list catches up
		}
		cycleUntil(t, second, 20, "the fleet at target", func() bool { return running(w.sim) == 2 })
		if n := len(w.sim.Instances()); n != 2 || second.creates() != 0 {
			t.Fatalf("%d instances, %d creates by the new leader: something was rented twice", n, second.creates())
		}
	})
}

// A drain begun under the first leader is finished by the second: the same drain (its start
// kept), the webhook called until it answers, then the instance removed (issue 16 item 1).
func TestFailoverFinishesADrainWithItsWebhook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newHAWorld(t)
		drain := "    drain: {webhook: \"https://hooks.example/drain\", timeout: 1h}\n"
		first, second := w.pair(haFleet(2, drain), nil)
		cycleUntil(t, first, 40, "two running instances", func() bool { return running(w.sim) == 2 })
		first.reload(t, haFleet(1, drain))
		second.reload(t, haFleet(1, drain))
		first.d.Cycle(context.Background()) // the drain begins; the webhook refuses
		calls := w.hook.list()
		if len(calls) != 1 || calls[0].by != first.id || calls[0].ok {
			t.Fatalf("positive control: the leader should have begun one drain, its webhook refused: %+v", calls)
		}
		id, since := calls[0].notice.InstanceID, calls[0].notice.Since
		second.d.Cycle(context.Background())
		if !slices.ContainsFunc(second.view(t).Instances, func(v scaler.InstanceView) bool {
			return v.Instance.ID == id && v.State == string(scaler.PhaseDraining)
		}) {
			t.Fatalf("the follower does not show instance %d draining", id)
		}
		w.hook.accept.Store(true)
		takeover(t, first.replica, second.replica)
		cycleUntil(t, second, 20, "the drained instance removed", func() bool { return slices.Contains(w.sim.Destroyed(), id) })
		var acked time.Time
		for _, c := range w.hook.list()[1:] {
			if c.by != second.id || c.notice.InstanceID != id || !c.notice.Since.Equal(since) {
				t.Fatalf("webhook call %+v: want the new leader continuing the drain of %d begun %v", c, id, since)
			}
			if c.ok && acked.IsZero() {
				acked = c.at
			}
		}
		at, what := second.muts.list()
		i := slices.Index(what, fmt.Sprintf("DELETE /api/v0/instances/%d/", id))
		if acked.IsZero() || i < 0 || at[i].Before(acked) {
			t.Fatalf("the new leader removed %d (%v) before its webhook answered (%v): %v", id, i >= 0, acked, what)
		}
		if n := len(w.sim.Instances()); n != 1 {
			t.Fatalf("%d instances left, want 1", n)
		}
	})
}

// A deposed leader's state writes are refused even while its process has not noticed: here its
// store keeps its claim (no loss handler ran, as in a paused process), and a whole cycle of its
// scaler sends no create and changes nothing in the state (issue 16 item 1).
func TestADeposedLeadersStateWriteIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newHAWorld(t)
		first, second := w.pair(haFleet(1, ""), func(o *Options) {})
		for _, r := range []*haReplica{first, second} {
			r.d.store = unnoticing{r.d.store}
		}
		cycleUntil(t, first, 40, "one running instance", func() bool { return running(w.sim) == 1 })
		first.leases.RejectWrites.Store(true) // it can no longer renew; the lease passes to second
		for !second.leads() {
			pause(time.Second)
		}
		second.d.Cycle(context.Background()) // claims the state for its term
		before := w.store.ConfigMap("ns", StateConfigMap("vastwatch"))
		err := first.d.store.Write(scaler.SpendFile, []byte(`{"version":1,"month":"2000-01","account":0}`))
		var fenced *kubestate.FencedError
		if !errors.As(err, &fenced) {
			t.Fatalf("the deposed leader's write: %v", err)
		}
		// Its scaler, cycling on as if it still led, wants a second instance.
		first.reload(t, haFleet(2, ""))
		sent := first.creates()
		rep, err := first.d.scaler.Cycle(context.Background(), first.d.cfg.current())
		if err != nil {
			t.Fatal(err)
		}
		if first.creates() != sent {
			t.Fatal("the deposed leader sent a create: its intent was not refused")
		}
		if !slices.ContainsFunc(rep.Outcomes, func(o scaler.ActionOutcome) bool {
			return o.Action.Kind == scaler.KindCreate && strings.Contains(o.Why, "journal")
		}) {
			t.Fatalf("positive control: the deposed scaler should have planned a create and been refused its intent: %+v", rep.Outcomes)
		}
		after := w.store.ConfigMap("ns", StateConfigMap("vastwatch"))
		if after.ResourceVersion != before.ResourceVersion {
			t.Fatalf("the deposed leader changed the state: %v", after.Data)
		}
	})
}

// unnoticing is a replica's state whose loss of leadership goes unnoticed: its claim is kept.
type unnoticing struct{ stateStore }

func (unnoticing) drop() {}
