package scaler_test

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// checkAvoidance holds every fleet's plan to the bound of docs/design.md §8, recomputed from
// the cycle's own observation and the journal as the plan read it (before): the eligible
// machines (an offer with enough disk, listed for min_duration, within the price caps); the
// failure burst (the fleet's failures within BurstWindow and its instances failed now, on at
// least BurstMachines machines); the avoidances of eligible machines less the burst's, with
// the machines of its instances failed now (FailingNow), of which at most ⌊max_share ×
// eligible⌋ are kept and the rest lapse in LapseOrder; and a create
// on a kept machine only for a fleet below target with nothing else fitting, saying so.
func checkAvoidance(w *world, c int, rep scaler.CycleReport, before scaler.State, st *chaosStats) {
	now := rep.At
	for _, f := range w.cfg.Fleets {
		fs := rep.Plan.Fleet(f.Name)
		if fs == nil || f.Market == nil {
			continue
		}
		st.avoidChecks++
		eligible := map[int64]bool{}
		for _, o := range rep.Observation.Offers[f.Market.Name] {
			if eligibleOffer(f, &o, now) {
				eligible[o.MachineID] = true
			}
		}
		burst := chaosBurst(rep, before, f.Name)
		byMachine := map[int64]scaler.AvoidedMachine{}
		forgiven := 0
		for m, until := range before.Avoided {
			if !now.Before(until) || !eligible[m] {
				continue
			}
			fr := before.Failures[m]
			if burst > 0 && fr.Fleet == f.Name && !fr.Last.After(now) && now.Sub(fr.Last) <= scaler.BurstWindow {
				forgiven++
				continue
			}
			byMachine[m] = scaler.AvoidedMachine{Machine: m, Until: until, Failures: fr.Count, Fleet: fr.Fleet}
		}
		// The machines of the fleet's instances failed now count as avoided (outside a burst).
		for _, mg := range rep.Plan.Managed {
			if m := mg.Instance.MachineID; mg.Fleet == f.Name && mg.Phase == scaler.PhaseFailed && burst == 0 && eligible[m] {
				byMachine[m] = scaler.FailingNow(now, m, f.Name, before.Failures[m])
			}
		}
		cands := slices.SortedFunc(maps.Values(byMachine), scaler.LapseOrder)
		bound := scaler.AvoidBound(f.Avoid.Share(), len(eligible))
		kept := cands[max(0, len(cands)-bound):]
		floor := 0
		for _, a := range rep.Plan.Actions {
			if a.Fleet != f.Name || a.Kind != scaler.KindCreate ||
				!slices.ContainsFunc(kept, func(am scaler.AvoidedMachine) bool { return am.Machine == a.MachineID }) {
				continue
			}
			floor++
			if a.Reason != scaler.ReasonBelowTarget || !strings.Contains(a.Detail, "lapsed early") {
				st.violate(c, "fleet %s rents on machine %d, avoided for it, without its avoidance lapsing for a fleet below target: %s", f.Name, a.MachineID, a)
			}
		}
		switch lapsed := forgiven + len(cands) - len(kept) + floor; {
		case fs.Burst != burst:
			st.violate(c, "fleet %s: the plan says a failure burst of %d machines, the checker %d", f.Name, fs.Burst, burst)
		case fs.Eligible != len(eligible):
			st.violate(c, "fleet %s: the plan counts %d eligible machines, the checker %d", f.Name, fs.Eligible, len(eligible))
		case fs.Avoided > bound:
			st.violate(c, "fleet %s avoids %d of %d eligible machines, over its bound of %d", f.Name, fs.Avoided, fs.Eligible, bound)
		case fs.Avoided != len(kept)-floor || fs.Lapsed != lapsed:
			st.violate(c, "fleet %s: the plan avoids %d and lapsed %d, the checker %d and %d (%d avoided eligible machines, %d of a burst, bound %d, %d rented below target)",
				f.Name, fs.Avoided, fs.Lapsed, len(kept)-floor, lapsed, len(cands)+forgiven, forgiven, bound, floor)
		}
		st.lapses += fs.Lapsed
		st.floorLapses += floor
		if fs.Avoided > st.mostAvoided {
			st.mostAvoided, st.mostAvoidedOf = fs.Avoided, fs.Eligible
		}
		if burst > 0 {
			st.burstCycles++
		}
	}
}

// eligibleOffer reports whether fleet f could rent o at now whatever else it holds: enough
// disk, a listing that lasts min_duration, a price within its caps.
func eligibleOffer(f *policy.Fleet, o *vastapi.Offer, now time.Time) bool {
	if d := f.Instance.DiskGB; d > 0 && o.DiskSpace > 0 && o.DiskSpace+1e-9 < d {
		return false
	}
	if f.MinDuration > 0 {
		if end := o.EndDate.Or(0); end > 0 && end < float64(now.Add(f.MinDuration).Unix()) {
			return false
		}
	}
	p, _, ok := scaler.OfferPrice(f, o)
	return ok && (f.MaxPrice <= 0 || p <= f.MaxPrice+1e-9)
}

// chaosBurst is the fleet's failure burst as the checker sees it: the distinct machines of its
// failures within BurstWindow in the journal the plan read, and of its instances the plan found
// failed; 0 below BurstMachines.
func chaosBurst(rep scaler.CycleReport, before scaler.State, fleet string) int {
	machines := map[int64]bool{}
	for m, fr := range before.Failures {
		if fr.Fleet == fleet && !fr.Last.IsZero() && !fr.Last.After(rep.At) && rep.At.Sub(fr.Last) <= scaler.BurstWindow {
			machines[m] = true
		}
	}
	for _, m := range rep.Plan.Managed {
		if m.Fleet == fleet && m.Phase == scaler.PhaseFailed && m.Instance.MachineID != 0 {
			machines[m.Instance.MachineID] = true
		}
	}
	if len(machines) < scaler.BurstMachines {
		return 0
	}
	return len(machines)
}
