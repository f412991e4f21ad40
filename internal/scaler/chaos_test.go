package scaler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// chaosFaults are the standing faults of the chaos phase, by rate.
var chaosFaults = []vastsim.Fault{
	{Kind: vastsim.Fault429Text, Rate: 0.04},
	{Kind: vastsim.Fault429JSON, Rate: 0.02},
	{Kind: vastsim.Fault502, Rate: 0.02},
	{Kind: vastsim.Fault503, Rate: 0.02},
	{Kind: vastsim.Fault504, Rate: 0.01},
	{Kind: vastsim.Fault500, Rate: 0.01},
	{Kind: vastsim.FaultReset, Rate: 0.02},
	{Kind: vastsim.FaultSuccessFail, Rate: 0.01},
	{Method: http.MethodPut, Endpoint: vastapi.EPCreate, Kind: vastsim.FaultLostReply, Rate: 0.15},
	{Method: http.MethodDelete, Endpoint: vastapi.EPDestroy, Kind: vastsim.FaultLostReply, Rate: 0.15},
	{Method: http.MethodPut, Endpoint: vastapi.EPManage, Kind: vastsim.FaultLostReply, Rate: 0.15},
}

type chaosStats struct {
	cycles, failedCycles, restarts, vanished, failed, priceJumps, bidJumps, creditDrops, reloads int
	violations                                                                                   []string
	seenReqs                                                                                     int
}

func (s *chaosStats) violate(cycle int, format string, args ...any) {
	s.violations = append(s.violations, fmt.Sprintf("cycle %d: ", cycle)+fmt.Sprintf(format, args...))
}

// TestChaos runs the scaler against the simulator under random faults and market moves, and
// checks after every cycle, from the simulator's own state, that the money and ownership rules
// held. After the faults stop, every fleet must settle within 5 cycles.
func TestChaos(t *testing.T) {
	cycles := 2000
	switch {
	case testing.Short():
		cycles = 200
	case raceEnabled:
		cycles = 400
	}
	const quiet = 20 // fault-free cycles at the end
	const seed = 20261130
	rng := rand.New(rand.NewPCG(seed, 99))
	m := simMarket(t)
	web := simFleet("web", m, 3)
	web.Max, web.Budget, web.MaxPrice = 5, 2.5, 1.2
	web.BootTimeout = 4 * time.Minute
	batch := simFleet("batch", m, 2)
	batch.Max, batch.Budget, batch.MaxPrice = 4, 2.0, 1.0
	batch.ScaleDown = policy.ScaleDownStop
	batch.StoppedTTL = 10 * time.Minute
	batch.CooldownDown = 2 * time.Minute
	batch.BootTimeout = 4 * time.Minute
	tight := simFleet("tight", m, 3)
	tight.Max, tight.Budget, tight.MaxPrice = 4, 0.9, 0.6
	tight.BootTimeout = 4 * time.Minute
	cfg := simConfig(web, batch, tight)
	cfg.Account.MaxSpendPerHour = 5.0
	w := newWorld(t, seed, cfg)

	// Foreign instances: someone else's fleet, an unlabelled box, another owner's fleet of the
	// same name. They must never be touched.
	ctx := context.Background()
	offers, err := w.api.SearchOffers(ctx, m.Query)
	if err != nil || len(offers) < 10 {
		t.Fatalf("search: %d offers, %v", len(offers), err)
	}
	foreign := map[int64]bool{}
	for i, label := range []string{"", "my-own-box", scaler.Label("other", "web", "x1")} {
		res, err := w.api.CreateInstance(ctx, offers[len(offers)-1-i].ID, vastapi.CreateRequest{Image: "img", DiskGB: 20, Label: label})
		if err != nil {
			t.Fatalf("foreign instance: %v", err)
		}
		foreign[res.InstanceID] = true
	}
	if len(foreign) != 3 {
		t.Fatal("foreign instances not created")
	}
	w.sim.SetCredit(10_000)
	reqsBefore := len(w.sim.Requests())
	for _, f := range chaosFaults {
		w.sim.InjectFault(f)
	}

	st := &chaosStats{}
	chaosEnd := cycles - quiet
	for c := range cycles {
		if c < chaosEnd {
			chaosEvents(t, w, rng, st)
		}
		if c == chaosEnd {
			w.sim.ClearFaults()
			w.sim.SetCredit(10_000)
		}
		rep, err := w.step()
		st.cycles++
		if err != nil {
			st.failedCycles++
			if len(rep.Outcomes) != 0 {
				st.violate(c, "actions in a cycle whose observation failed")
			}
		}
		checkInvariants(t, w, c, foreign, reqsBefore, st)
		if c >= chaosEnd+5 {
			checkSettled(t, w, c, rep, err, st)
		}
	}
	faults := 0
	for _, r := range w.sim.Requests()[reqsBefore:] {
		if r.Fault != "" {
			faults++
		}
	}
	t.Logf("chaos seed %d: %d cycles (%d with a failed observation), %d faults injected, %d restarts, %d offers vanished, %d instances failed, %d price jumps, %d min_bid jumps, %d credit drops, %d config reloads; %d violations",
		seed, st.cycles, st.failedCycles, faults, st.restarts, st.vanished, st.failed, st.priceJumps, st.bidJumps, st.creditDrops, st.reloads, len(st.violations))
	for i, v := range st.violations {
		if i == 20 {
			t.Errorf("… and %d more", len(st.violations)-20)
			break
		}
		t.Error(v)
	}
	if faults == 0 || st.restarts == 0 || st.failed == 0 {
		t.Fatal("the chaos injected nothing: the test proves nothing")
	}
}

// chaosEvents applies this cycle's random market moves and process events.
func chaosEvents(t *testing.T, w *world, rng *rand.Rand, st *chaosStats) {
	t.Helper()
	if rng.Float64() < 0.02 {
		w.restart()
		st.restarts++
	}
	if rng.Float64() < 0.15 {
		if offs := w.sim.Offers(); len(offs) > 0 {
			if w.sim.VanishOffer(offs[rng.IntN(len(offs))].ID) == nil {
				st.vanished++
			}
		}
	}
	if rng.Float64() < 0.06 {
		var mine []vastapi.Instance
		for _, f := range w.cfg.Fleets {
			mine = append(mine, w.ours(f.Name)...)
		}
		if len(mine) > 0 {
			kinds := []string{vastsim.FailExited, vastsim.FailUnknown, vastsim.FailOffline, vastsim.FailOCI, vastsim.FailStuck}
			if w.sim.FailInstance(mine[rng.IntN(len(mine))].ID, kinds[rng.IntN(len(kinds))]) == nil {
				st.failed++
			}
		}
	}
	if rng.Float64() < 0.15 {
		if offs := w.sim.Offers(); len(offs) > 0 {
			o := offs[rng.IntN(len(offs))]
			if w.sim.SetPrice(o.ID, o.DphBase*(0.3+rng.Float64()*2)) == nil {
				st.priceJumps++
			}
		}
	}
	if rng.Float64() < 0.05 {
		if offs := w.sim.Offers(); len(offs) > 0 {
			o := offs[rng.IntN(len(offs))]
			if w.sim.SetMinBid(o.ID, o.MinBid*(0.5+rng.Float64()*2)) == nil {
				st.bidJumps++
			}
		}
	}
	switch r := rng.Float64(); {
	case r < 0.02:
		w.sim.SetCredit(5 + rng.Float64()*25) // around the floor of 20
		st.creditDrops++
	case r < 0.05:
		w.sim.SetCredit(10_000)
	}
	if rng.Float64() < 0.03 {
		// A reload: a new config with one fleet's target moved.
		next := *w.cfg
		next.Fleets = nil
		pick := rng.IntN(len(w.cfg.Fleets))
		for i, f := range w.cfg.Fleets {
			if i == pick {
				nf := *f
				nf.Target = rng.IntN(nf.Max + 1)
				f = &nf
			}
			next.Fleets = append(next.Fleets, f)
		}
		w.cfg = &next
		st.reloads++
	}
}

// simCommitted is an instance's committed $/h from the simulator's own state.
func simCommitted(in vastapi.Instance) float64 {
	return in.DphBase + in.StorageCost*in.DiskSpace/vastapi.HoursPerMonth
}

func checkInvariants(t *testing.T, w *world, c int, foreign map[int64]bool, reqsBefore int, st *chaosStats) {
	t.Helper()
	account := 0.0
	js, jerr := scaler.ReadState(w.dir, time.Hour)
	if jerr != nil {
		st.violate(c, "journal unreadable: %v", jerr)
	}
	nonces := map[string]bool{}
	for _, r := range js.Creates {
		nonces[r.Nonce] = true
	}
	for _, in := range w.sim.Instances() {
		o, fleet, nonce, ok := scaler.ParseLabel(in.Label.Or(""))
		if !ok || o != w.cfg.Owner {
			continue
		}
		account += simCommitted(in)
		if !nonces[nonce] {
			st.violate(c, "managed instance %d (fleet %s, nonce %s) is not in the journal", in.ID, fleet, nonce)
		}
	}
	for _, f := range w.cfg.Fleets {
		ins := w.ours(f.Name)
		if len(ins) > f.Max {
			st.violate(c, "fleet %s has %d instances, max %d", f.Name, len(ins), f.Max)
		}
		spend := 0.0
		for _, in := range ins {
			spend += simCommitted(in)
		}
		if spend > f.Budget+1e-6 {
			st.violate(c, "fleet %s committed $%.4f/h over its budget $%.4f/h", f.Name, spend, f.Budget)
		}
	}
	if capv := w.cfg.Account.MaxSpendPerHour; capv > 0 && account > capv+1e-6 {
		st.violate(c, "account committed $%.4f/h over the cap $%.4f/h", account, capv)
	}
	reqs := w.sim.Requests()
	if len(reqs) < st.seenReqs { // the simulator trimmed its log: look at what is left
		st.seenReqs, reqsBefore = 0, 0
	}
	for _, r := range reqs[max(reqsBefore, st.seenReqs):] {
		if r.Mutating && foreign[instanceIDOf(r.Path)] && r.Endpoint != vastapi.EPCreate {
			st.violate(c, "foreign instance touched: %s %s", r.Method, r.Path)
		}
	}
	st.seenReqs = len(reqs)
	for _, id := range w.sim.Destroyed() {
		if foreign[id] {
			st.violate(c, "foreign instance %d destroyed", id)
		}
	}
}

// checkSettled: after the faults stop, every fleet holds exactly its target (instances running
// or still within their boot timeout), or is blocked with a reason that holds.
func checkSettled(t *testing.T, w *world, c int, rep scaler.CycleReport, err error, st *chaosStats) {
	t.Helper()
	if err != nil {
		st.violate(c, "observation failed after the faults stopped: %v", err)
		return
	}
	now := w.clk.Now()
	for _, f := range w.cfg.Fleets {
		active := 0
		for _, in := range w.ours(f.Name) {
			p, _ := scaler.Classify(&in, now, time.Unix(int64(in.StartDate), 0), f.BootTimeout, false)
			if p == scaler.PhaseRunning || p == scaler.PhasePending {
				active++
			}
		}
		target := f.TargetAt(now)
		if active == target {
			continue
		}
		fs := rep.Plan.Fleet(f.Name)
		if fs == nil || len(fs.Blocked) == 0 {
			st.violate(c, "fleet %s has %d active, target %d, and is not blocked", f.Name, active, target)
			continue
		}
		if why := blockedHolds(w, f, fs.Blocked, active, target); why != "" {
			st.violate(c, "fleet %s blocked %v but %s", f.Name, fs.Blocked, why)
		}
	}
}

// blockedHolds checks a blocked reason against the simulator's own state; "" when it holds.
func blockedHolds(w *world, f *policy.Fleet, reasons []string, active, target int) string {
	if active > target {
		return fmt.Sprintf("%d active over target %d", active, target)
	}
	ins := w.ours(f.Name)
	spend, account := 0.0, 0.0
	for _, in := range ins {
		spend += simCommitted(in)
	}
	for _, g := range w.cfg.Fleets {
		for _, in := range w.ours(g.Name) {
			account += simCommitted(in)
		}
	}
	cheapest := -1.0
	for _, o := range w.sim.Offers() {
		if !o.Rentable || !f.Market.Query.Match(&o, w.clk.Now()) {
			continue
		}
		if p := o.PriceFor(f.Instance.DiskGB); cheapest < 0 || p < cheapest {
			cheapest = p
		}
	}
	for _, r := range reasons {
		switch r {
		case scaler.ReasonCreditFloor:
			if w.sim.Credit() < w.cfg.Account.CreditFloor {
				return ""
			}
		case scaler.ReasonBudget:
			if cheapest < 0 || spend+cheapest > f.Budget {
				return ""
			}
		case scaler.ReasonAccountCap:
			if cheapest < 0 || account+cheapest > w.cfg.Account.MaxSpendPerHour {
				return ""
			}
		case scaler.ReasonPriceCap, scaler.ReasonNoOffers:
			if cheapest < 0 || cheapest > f.MaxPrice {
				return ""
			}
		case scaler.ReasonMaxInstances:
			if len(ins) >= f.Max {
				return ""
			}
		}
	}
	return fmt.Sprintf("none holds (spend $%.4f/h, account $%.4f/h, cheapest $%.4f/h, %d instances, credit $%.2f)",
		spend, account, cheapest, len(ins), w.sim.Credit())
}
