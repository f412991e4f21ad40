package backtest

import (
	"sort"
	"time"

	"github.com/vastwatch/vastwatch/internal/record"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// finish closes r's last interval at end and reports.
func (r *runner) finish(end time.Time) ConfigReport {
	pol := r.cfg.Policy
	cr := ConfigReport{Name: r.cfg.Name, PollIntervalSeconds: pol.PollInterval.Seconds(), Cycles: r.cycles}
	bills := r.bills()
	fleets := make([]string, 0, len(bills))
	for f := range bills {
		fleets = append(fleets, f)
	}
	sort.Strings(fleets)
	for _, f := range fleets { // in name order: the sum's last bits do not depend on map order
		cr.CostDollars += cost(bills[f])
	}
	for _, t := range r.fleets {
		bs := bills[t.cfg.Name]
		t.interval(end, bs)
		fr := t.rep
		for _, b := range bs {
			fr.GPUDollars += b.GPU
			fr.StorageDollars += b.Disk
			fr.RunningInstanceHours += b.RunningSeconds / 3600
		}
		fr.CostDollars = cost(bs)
		if fr.RunningInstanceHours > 0 {
			fr.DollarsPerRunningHour = fr.CostDollars / fr.RunningInstanceHours
		}
		if t.polls > 0 {
			fr.TimeAtTarget = float64(t.atTarget) / float64(t.polls)
		}
		// Float sums in another order could lift the bound a hair above the cost it bounds.
		fr.BoundDollars *= 1 - 1e-9
		if fr.BoundDollars > 0 {
			fr.CostOverBound = fr.CostDollars / fr.BoundDollars
		}
		t.sample(end, fr.CostDollars)
		fr.Series = thin(t.samples)
		cr.Fleets = append(cr.Fleets, fr)
	}
	return cr
}

// thin keeps at most MaxPoints of a series, evenly spread, the first and the last among them.
func thin(ps []Point) []Point {
	if len(ps) <= MaxPoints {
		return ps
	}
	out := make([]Point, 0, MaxPoints)
	for i := range MaxPoints {
		out = append(out, ps[i*(len(ps)-1)/(MaxPoints-1)])
	}
	return out
}

// source describes the market the replay ran on.
func (o Options) source(b *broadcast) Source {
	s := Source{Seed: o.Seed, BootDelaySeconds: o.BootDelay.Seconds(), BootFailure: o.BootFailure, HostFailuresPerDay: o.HostFailuresPerDay}
	if b == nil {
		so, _ := vastsim.WithScenario(vastsim.Options{}, o.Scenario)
		s.Kind, s.Scenario, s.Days, s.Machines = "scenario", o.Scenario, o.Days, o.Machines
		s.BootFailure, s.HostFailuresPerDay = so.BootFailure, so.HostFailuresPerDay
		return s
	}
	s.Kind, s.Recording, s.Polls, s.Cuts = "recording", o.Recording, b.polls, b.r.Cuts()
	for _, m := range b.markets {
		s.Markets = append(s.Markets, m.Name+": "+m.Query)
	}
	return s
}

// recordingSpan estimates how long the replay from start runs, for the progress line.
func (o Options) recordingSpan(start time.Time) time.Duration {
	_, last, err := record.Extent(o.Recording)
	if !o.To.IsZero() && (err != nil || o.To.Before(last)) {
		last = o.To
	}
	if last.Before(start) {
		return 0
	}
	return last.Sub(start)
}

// endsBefore reports whether the recording has no poll at or after t (reading ahead as far as
// it must to tell).
func (b *broadcast) endsBefore(t time.Time) bool {
	for !b.done && (len(b.buf) == 0 || !b.buf[len(b.buf)-1].At.After(t)) {
		b.fill()
	}
	return b.done && b.last.Before(t)
}
