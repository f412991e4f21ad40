package daemon

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// lastCycle is what the last cycles published for the HTTP surface. Each cycle swaps in a new
// immutable value, so a request reads it without waiting for a cycle in flight.
type lastCycle struct {
	ready     atomic.Bool
	simulated bool
	dryRun    bool
	cur       atomic.Pointer[published]
}

// published is one cycle's outcome as the HTTP surface reads it. It is never mutated.
type published struct {
	poll, success time.Time
	err           string
	// view is the last successful cycle's (nil before one); markets its markets' summaries.
	view    *scaler.View
	markets map[string]marketSummary
	// decisions and outcomes are the last cycle's, failed ones included.
	decisions []scaler.Decision
	outcomes  []scaler.ActionOutcome
}

func (l *lastCycle) init(_ *policy.Config, simulated, dryRun bool) {
	l.simulated, l.dryRun = simulated, dryRun
	l.cur.Store(&published{})
}

func (l *lastCycle) load() *published { return l.cur.Load() }

// failed records a failed cycle: its decisions and error, keeping the last good view.
func (l *lastCycle) failed(at time.Time, rep *scaler.CycleReport, err error) {
	next := *l.load()
	next.poll, next.err = at, err.Error()
	next.decisions, next.outcomes = rep.Plan.Decisions, rep.Outcomes
	l.cur.Store(&next)
}

// succeeded records a successful cycle's view.
func (l *lastCycle) succeeded(at time.Time, v *scaler.View, markets map[string]marketSummary) {
	l.cur.Store(&published{poll: at, success: at, view: v, markets: markets,
		decisions: v.Decisions, outcomes: v.Outcomes})
}

// marketSummary is what the status page shows of a market's last search.
type marketSummary struct {
	offers       int
	best, median float64
	ok           bool
	// failed is why the search failed, one line; "" when it succeeded.
	failed string
	// empty counts the polls in a row whose search matched no offer: a query that never
	// matches (a typo, an operator inside a value) says so on the page.
	empty int
}

// emptyPollsToWarn is how many polls in a row a market may match nothing before the status
// page says so.
const emptyPollsToWarn = 3

// summarize reduces each market's offers to its count, best and median price; prev is the last
// successful cycle's, for the count of empty polls.
func summarize(cfg *policy.Config, obs *scaler.Observation, prev map[string]marketSummary) map[string]marketSummary {
	out := make(map[string]marketSummary, len(cfg.Markets))
	for _, m := range cfg.Markets {
		if err, failed := obs.Failed[m.Name]; failed {
			out[m.Name] = marketSummary{failed: err.Error(), empty: prev[m.Name].empty}
			continue
		}
		offers := obs.Digests(m.Name)
		ms := marketSummary{offers: len(offers)}
		if len(offers) == 0 {
			ms.empty = prev[m.Name].empty + 1
		}
		ms.best, ms.median, ms.ok = bestAndMedian(offers)
		out[m.Name] = ms
	}
	return out
}

// bestAndMedian are the lowest and the nearest-rank median dph_total of a market's offers.
func bestAndMedian(offers []scaler.OfferDigest) (best, median float64, ok bool) {
	if len(offers) == 0 {
		return 0, 0, false
	}
	p := make([]float64, len(offers))
	for i := range offers {
		p[i] = offers[i].DphTotal
	}
	sort.Float64s(p)
	return p[0], p[(len(p)+1)/2-1], true
}
