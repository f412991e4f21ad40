package vastsim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Scenarios are the generated market with something happening in it, each day at a seeded hour,
// for backtests (docs/backtest.md "Scenarios"). All run on the usual drift, and every scenario
// but host-failures fails 2% of boots and has a host go offline under a running instance about
// once in fifty days.
const (
	// ScenarioCalm is the generated market as it drifts, nothing more.
	ScenarioCalm = "calm"
	// ScenarioPriceSpike raises every price (on-demand and min_bid) 2.5× for three hours a day.
	ScenarioPriceSpike = "price-spike"
	// ScenarioSupplyCrunch has three machines in four rented by others for six hours a day:
	// their offers vanish.
	ScenarioSupplyCrunch = "supply-crunch"
	// ScenarioOutbidStorm moves min_bid for four hours a day: every ten minutes a third of the
	// machines' floors jump to 1.5–3× what they were, the others' fall back.
	ScenarioOutbidStorm = "outbid-storm"
	// ScenarioHostFailures fails 15% of boots and has hosts go offline under running instances
	// about every two days each.
	ScenarioHostFailures = "host-failures"
)

// Scenarios lists the scenarios by name.
var Scenarios = []string{ScenarioCalm, ScenarioPriceSpike, ScenarioSupplyCrunch, ScenarioOutbidStorm, ScenarioHostFailures}

// WithScenario returns o set up for the named scenario.
func WithScenario(o Options, name string) (Options, error) {
	if !slices.Contains(Scenarios, name) {
		return o, fmt.Errorf("vastsim: unknown scenario %q; known: %s", name, strings.Join(Scenarios, ", "))
	}
	o.Scenario = name
	o.BootFailure, o.HostFailuresPerDay = 0.02, 0.02
	if name == ScenarioHostFailures {
		o.BootFailure, o.HostFailuresPerDay = 0.15, 0.5
	}
	return o, nil
}

// scenarioWindow is how long each scenario's daily event lasts.
var scenarioWindow = map[string]time.Duration{
	ScenarioPriceSpike:   3 * time.Hour,
	ScenarioSupplyCrunch: 6 * time.Hour,
	ScenarioOutbidStorm:  4 * time.Hour,
}

// scenarioState is what a running event changed, to undo it.
type scenarioState struct {
	active bool
	// prices are the offers' dph_base and min_bid before the event.
	prices map[*offer][2]float64
	// taken are the GPUs the event gave to other users.
	taken map[*machine][]int64
}

// scenarioStep runs the scenario after drift step step at now: the daily event starts, goes on
// or ends. Its draws come from streams of their own. Callers hold s.mu and have called
// s.mutating().
func (s *Sim) scenarioStep(step int64, now time.Time) {
	win, ok := scenarioWindow[s.opts.Scenario]
	if !ok {
		return
	}
	day := int64(now.Sub(s.start) / (24 * time.Hour))
	dayStart := s.start.Add(time.Duration(day) * 24 * time.Hour)
	r := seedRand(s.opts.Seed^day*0x2545f4914f6cdd1d, 8)
	from := dayStart.Add(time.Duration(6+r.IntN(12)) * time.Hour)
	inside := !now.Before(from) && now.Before(from.Add(win))
	st := &s.scen
	switch {
	case inside && !st.active:
		st.active = true
		st.prices, st.taken = map[*offer][2]float64{}, map[*machine][]int64{}
		s.eventStart(r)
	case !inside && st.active:
		s.eventEnd(now)
		st.active = false
	}
	if st.active && s.opts.Scenario == ScenarioOutbidStorm {
		s.storm(seedRand(s.opts.Seed^step*0x5851f42d4c957f2d, 9), now)
	}
}

func (s *Sim) eventStart(r interface{ Float64() float64 }) {
	switch s.opts.Scenario {
	case ScenarioPriceSpike:
		for _, m := range s.machines {
			for _, o := range m.offers {
				s.scaleOffer(o, 2.5, 2.5)
			}
		}
	case ScenarioSupplyCrunch:
		for _, m := range s.machines {
			if r.Float64() >= 0.75 {
				continue
			}
			for _, g := range m.gpus {
				if m.taken[g] == 0 {
					m.taken[g] = otherUser
					s.scen.taken[m] = append(s.scen.taken[m], g)
				}
			}
			s.refreshMachine(m)
		}
	}
}

// storm redraws which machines' min_bid is raised. Callers hold s.mu.
func (s *Sim) storm(r interface {
	Float64() float64
}, now time.Time) {
	for _, m := range s.machines {
		hit, f := r.Float64() < 1.0/3, 1.5+1.5*r.Float64()
		for _, o := range m.offers {
			if hit {
				s.scaleOffer(o, 1, f)
			} else if p, ok := s.scen.prices[o]; ok {
				o.update(func(v *vastapi.Offer) { v.MinBid = p[1]; priceBase(v) })
			}
		}
		s.checkOutbid(m, now)
	}
}

// scaleOffer sets o's prices to its pre-event ones times f (dph_base) and fb (min_bid).
func (s *Sim) scaleOffer(o *offer, f, fb float64) {
	p, ok := s.scen.prices[o]
	if !ok {
		p = [2]float64{o.own.DphBase, o.own.MinBid}
		s.scen.prices[o] = p
	}
	o.update(func(v *vastapi.Offer) {
		v.DphBase, v.MinBid = round(p[0]*f, 6), round(p[1]*fb, 6)
		priceBase(v)
	})
}

// eventEnd undoes the event: prices back to what they were before it, GPUs given back.
func (s *Sim) eventEnd(now time.Time) {
	ms := map[*machine]bool{}
	for o, p := range s.scen.prices {
		o.update(func(v *vastapi.Offer) { v.DphBase, v.MinBid = p[0], p[1]; priceBase(v) })
		ms[o.m] = true
	}
	for m, gpus := range s.scen.taken {
		for _, g := range gpus {
			if m.taken[g] == otherUser {
				delete(m.taken, g)
			}
		}
		ms[m] = true
	}
	for _, m := range s.machines {
		if ms[m] {
			s.refreshMachine(m)
			s.checkOutbid(m, now)
		}
	}
	s.scen = scenarioState{}
}
