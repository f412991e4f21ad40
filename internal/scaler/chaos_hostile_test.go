package scaler_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// The chaos test's broken and hostile API data (issue 16 items 4 and 6), kept apart from its
// market and process faults: the search of one rented market fails now and then, a watched
// market's search always fails, instance rows come twice or without an id, and offers and our
// instances come with negative, NaN or absurd prices. checkHostile holds the scaler to what
// it must do with them after every cycle.

// chaosHostile rewrites the chaos API's replies. Its own random stream keeps the chaos test's
// other draws as they were.
type chaosHostile struct {
	mu  sync.Mutex
	rng *rand.Rand
	on  bool
	// flaky is the query key of the rented market whose search fails in some cycles, dead that
	// of the watched market whose search always fails; names maps a market's name to its key.
	flaky, dead string
	names       map[string]string
	owner       string

	// This cycle's doings: whether flaky fails, the offers poisoned by query key, the instance
	// rows as the API really listed them (before they were duplicated).
	failFlaky bool
	poisoned  map[string]map[int64]bool
	listed    []vastapi.Instance

	failedCycles, actedBeside, dupRows, zeroRows, badOffers, badInstances int
}

// newChaosHostile adds the always-failing watched market to cfg and makes flaky's search fail
// now and then.
func newChaosHostile(t *testing.T, cfg *policy.Config, flaky *policy.Market, seed uint64) *chaosHostile {
	t.Helper()
	q, err := policy.ParseQuery("num_gpus=8", policy.SearchOptions{Order: "dph_total", Limit: 64, StorageGB: 20})
	if err != nil {
		t.Fatal(err)
	}
	dead := &policy.Market{Name: "dead", Query: q, Type: vastapi.OnDemand, StorageGB: 20}
	cfg.Markets = append(cfg.Markets, dead)
	h := &chaosHostile{rng: rand.New(rand.NewPCG(seed, 23)), on: true, flaky: flaky.Query.Key(),
		dead: dead.Query.Key(), names: map[string]string{}, owner: cfg.Owner}
	for _, m := range cfg.Markets {
		h.names[m.Name] = m.Query.Key()
	}
	h.next()
	return h
}

// next draws the coming cycle's faults.
func (h *chaosHostile) next() {
	h.failFlaky = h.on && h.rng.Float64() < 0.06
	h.poisoned, h.listed = map[string]map[int64]bool{}, nil
}

// search rewrites one search's reply: the failing markets fail, and now and then one offer of
// a market's search gets a price no sane offer has. A re-check (narrowed to an id) is left alone.
func (h *chaosHostile) search(q vastapi.Query, offers []vastapi.Offer, err error) ([]vastapi.Offer, error) {
	if h == nil || q.Filter("id") != nil {
		return offers, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := q.Key()
	switch {
	case key == h.dead:
		return nil, errors.New("vast api POST /api/v0/bundles/: status 500 (hostile chaos)")
	case key == h.flaky && h.failFlaky:
		return nil, errors.New("vast api POST /api/v0/bundles/: status 502 (hostile chaos)")
	case err != nil || !h.on || len(offers) == 0 || h.rng.Float64() >= 0.3:
		return offers, err
	}
	o := &offers[h.rng.IntN(len(offers))]
	switch h.rng.IntN(3) {
	case 0:
		o.DphBase, o.DphTotal, o.MinBid = -o.DphBase, -o.DphTotal, -o.MinBid
	case 1:
		o.DphTotal, o.DphBase = math.NaN(), math.NaN()
	default:
		o.StorageCost = -50
	}
	if h.poisoned[key] == nil {
		h.poisoned[key] = map[int64]bool{}
	}
	h.poisoned[key][o.ID] = true
	h.badOffers++
	return offers, err
}

// each is search for a streamed watched market.
func (h *chaosHostile) each(q vastapi.Query) error {
	if h == nil || q.Key() != h.dead {
		return nil
	}
	return errors.New("vast api POST /api/v0/bundles/: status 500 (hostile chaos)")
}

// instances rewrites the instance list: now and then one row comes twice, a row of ours comes
// without an id, or one of our instances lists a price no instance has.
func (h *chaosHostile) instances(ins []vastapi.Instance) []vastapi.Instance {
	if h == nil {
		return ins
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listed = append([]vastapi.Instance(nil), ins...)
	if !h.on || len(ins) == 0 {
		return ins
	}
	if h.rng.Float64() < 0.15 {
		ins = append(ins, ins[h.rng.IntN(len(ins))])
		h.dupRows++
	}
	if h.rng.Float64() < 0.05 {
		zero := ins[h.rng.IntN(len(ins))]
		zero.ID, zero.Label = 0, vastapi.Some(scaler.Label(h.owner, "web", "000000000000"))
		ins = append(ins, zero)
		h.zeroRows++
	}
	if h.rng.Float64() < 0.1 {
		i := h.rng.IntN(len(ins))
		if o, _, _, ok := scaler.ParseLabel(ins[i].Label.Or("")); ok && o == h.owner {
			ins[i].DphBase, ins[i].DphTotal = -3*ins[i].DphBase, -ins[i].DphTotal
			h.badInstances++
		}
	}
	return ins
}

func (a *chaosAPI) SearchOffersEach(ctx context.Context, q vastapi.Query, reset func(), fn func(*vastapi.Offer) error) error {
	if err := a.hostile.each(q); err != nil {
		return err
	}
	return a.Client.SearchOffersEach(ctx, q, reset, fn)
}

// checkHostile checks, after cycle c, what the scaler did with this cycle's hostile data, and
// draws the next cycle's. The faults stop at chaosEnd, so that every fleet can settle.
func checkHostile(w *world, c, chaosEnd int, rep scaler.CycleReport, err error, h *chaosHostile, st *chaosStats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() {
		h.on = c+1 < chaosEnd
		h.next()
	}()
	if err != nil {
		return
	}
	obs := &rep.Observation
	if obs.Failed["dead"] == nil {
		st.violate(c, "the dead market's search failed, but the observation does not say so")
	}
	held := map[string]bool{}
	for _, f := range w.cfg.Fleets {
		if f.Market != nil && obs.Failed[f.Market.Name] != nil {
			held[f.Name] = true
		}
	}
	if h.failFlaky {
		h.failedCycles++
		if len(held) == 0 {
			st.violate(c, "the flaky market's search failed, but no fleet of it held")
		}
	}
	acted := false
	for _, a := range rep.Plan.Actions {
		if held[a.Fleet] {
			st.violate(c, "fleet %s acted while its market's search failed: %s", a.Fleet, a)
		}
		acted = acted || !held[a.Fleet]
		if a.Kind == scaler.KindCreate && h.poisoned[h.names[a.Market]][a.Offer.ID] {
			st.violate(c, "planned a create of offer %d, listed at a price no offer has: %s", a.Offer.ID, a)
		}
		if a.Kind != scaler.KindCreate && a.InstanceID <= 0 {
			st.violate(c, "an action on instance id %d: %s", a.InstanceID, a)
		}
	}
	if h.failFlaky && acted {
		h.actedBeside++
	}
	for _, f := range rep.Plan.Fleets {
		if !(f.SpendBefore >= -1e-9) || !(f.SpendAfter >= -1e-9) { // NaN fails too
			st.violate(c, "fleet %s committed $%v/h before, $%v/h after its actions", f.Name, f.SpendBefore, f.SpendAfter)
		}
	}
	checkNoScaleDownBelowTarget(w, c, rep, h.listed, st)
}

// checkNoScaleDownBelowTarget: a removal for being above target never takes a fleet below its
// target as the instance list really was (an instance listed twice once counted twice, and its
// fleet's only instance was destroyed as surplus). Active are the listed instances booting or
// running and not draining before the cycle.
func checkNoScaleDownBelowTarget(w *world, c int, rep scaler.CycleReport, listed []vastapi.Instance, st *chaosStats) {
	if listed == nil {
		return
	}
	draining := map[int64]bool{}
	for _, m := range rep.Plan.Managed {
		draining[m.Instance.ID] = m.Phase == scaler.PhaseDraining
	}
	for _, f := range w.cfg.Fleets {
		active := map[int64]bool{}
		for _, in := range listed {
			_, fleet, _, ok := scaler.ParseLabel(in.Label.Or(""))
			if !ok || fleet != f.Name || draining[in.ID] {
				continue
			}
			p, _ := scaler.Classify(&in, rep.At, time.Unix(int64(in.StartDate), 0), f.BootTimeout, false)
			active[in.ID] = p == scaler.PhaseRunning || p == scaler.PhasePending
		}
		n, removed := 0, 0
		for _, a := range active {
			if a {
				n++
			}
		}
		for _, a := range rep.Plan.Actions {
			if a.Fleet == f.Name && a.Reason == scaler.ReasonAboveTarget && active[a.InstanceID] {
				removed++
			}
		}
		if target := planTarget(rep, f); removed > 0 && n-removed < target {
			st.violate(c, "fleet %s: %d removed above target from %d active as listed, below its target %d", f.Name, removed, n, target)
		}
	}
}

// hostileCoverage fails the run when the hostile data never did what it is there for.
func hostileCoverage(t *testing.T, h *chaosHostile) {
	t.Helper()
	t.Logf("hostile data: %d cycles with the flaky market's search failed (%d with other fleets acting), %d instance rows listed twice, %d without an id, %d offers and %d instances with a broken price",
		h.failedCycles, h.actedBeside, h.dupRows, h.zeroRows, h.badOffers, h.badInstances)
	if !testing.Short() && (h.failedCycles == 0 || h.actedBeside == 0 || h.dupRows == 0 || h.zeroRows == 0 || h.badOffers == 0 || h.badInstances == 0) {
		t.Error("the hostile data never failed a market while others acted, repeated a row, dropped an id or broke a price: it covers less than it claims")
	}
}
