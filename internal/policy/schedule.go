package policy

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // CRON_TZ must work in a scratch or distroless image without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"
)

// Schedule is a fleet's list of cron entries, each setting the target from its firing on.
// Entries are parsed once at load (robfig/cron, optional CRON_TZ=).
//
// Time zones and daylight saving time. A spec without CRON_TZ= (or TZ=) is read in UTC, so a
// schedule means the same on every host. A spec with a zone is matched against the wall clock
// of that zone, with these rules where the wall clock is not one-to-one:
//   - Spring forward: a firing whose wall-clock time falls inside the gap (02:30 on the day
//     New York jumps from 02:00 to 03:00) happens at the first instant after the gap (03:00
//     EDT). Several firings inside one gap collapse into that one instant.
//   - Fall back: a wall-clock time that occurs twice (01:30 when New York repeats 01:00-02:00)
//     fires once, at its first occurrence.
//
// robfig/cron alone does neither: it skips firings inside a gap until the next day and fires a
// repeated time twice (schedule_test.go pins both behaviours), so Next evaluates the spec on
// the zone's wall clock and maps each wall time back to an instant itself.
type Schedule struct {
	Entries []ScheduleEntry
}

// ScheduleEntry is one `{cron, target}` item.
type ScheduleEntry struct {
	Spec   string
	Target int
	sched  cronSchedule
}

// cronSchedule is the part of a parsed schedule the policy uses.
type cronSchedule interface {
	Next(time.Time) time.Time
}

// cronParser is the standard five-field syntax plus descriptors (@daily, @yearly, ...).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseScheduleEntry parses one cron spec (with optional CRON_TZ=/TZ= prefix) for target.
// `@every` is rejected: a target needs firing times fixed on the clock, not relative to
// whenever the daemon started.
func ParseScheduleEntry(spec string, target int) (ScheduleEntry, error) {
	s, err := parseCron(spec)
	if err != nil {
		return ScheduleEntry{}, err
	}
	return ScheduleEntry{Spec: spec, Target: target, sched: s}, nil
}

func parseCron(spec string) (*wallSchedule, error) {
	rest := strings.TrimSpace(spec)
	loc := time.UTC
	if strings.HasPrefix(rest, "TZ=") || strings.HasPrefix(rest, "CRON_TZ=") {
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			return nil, fmt.Errorf("%q has a time zone but no schedule after it", spec)
		}
		name := rest[strings.Index(rest, "=")+1 : i]
		l, err := time.LoadLocation(name)
		if err != nil || name == "" || strings.EqualFold(name, "local") {
			return nil, fmt.Errorf("unknown time zone %q; use an IANA name such as Europe/Berlin", name)
		}
		loc = l
		rest = strings.TrimSpace(rest[i:])
	}
	if strings.HasPrefix(rest, "@every") {
		return nil, fmt.Errorf("@every is not allowed: a target needs fixed firing times, use a 5-field spec such as \"*/30 * * * *\"")
	}
	s, err := cronParser.Parse(rest)
	if err != nil {
		return nil, err
	}
	spec2, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q is not a fixed-time schedule", spec)
	}
	// robfig evaluates the spec in UTC here, which has no DST: that is the zone's wall clock
	// laid out on a uniform axis. wallSchedule maps wall times back to instants in loc.
	spec2.Location = time.UTC
	return &wallSchedule{spec: spec2, loc: loc}, nil
}

// wallSchedule is a cron spec matched against the wall clock of loc with the DST rules of
// Schedule.
type wallSchedule struct {
	spec *cron.SpecSchedule
	loc  *time.Location
}

// maxSteps bounds the wall-clock steps one Next may take while skipping repeats of an autumn
// hour (a per-minute schedule skips at most 60 per repeated hour).
const maxSteps = 10000

// Next returns the first firing strictly after t, or the zero time if none within robfig's
// five-year horizon.
func (w *wallSchedule) Next(t time.Time) time.Time {
	wall := toWall(t, w.loc)
	for range maxSteps {
		wall = w.spec.Next(wall)
		if wall.IsZero() {
			return time.Time{}
		}
		if r := fromWall(wall, w.loc); r.After(t) {
			return r.In(t.Location())
		}
	}
	return time.Time{}
}

// toWall is t's wall clock in loc, as a UTC time.
func toWall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// fromWall is the instant at which loc's wall clock first reads wall, or, when wall falls in a
// spring-forward gap, the first instant after the gap.
func fromWall(wall time.Time, loc *time.Location) time.Time {
	g := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)
	gw := toWall(g, loc)
	switch {
	case gw.Equal(wall):
		// Valid; is there an earlier instant with the same wall clock (the first pass of a
		// repeated autumn hour)? It would lie in the zone period before g's.
		start, _ := g.ZoneBounds()
		if start.IsZero() {
			return g
		}
		_, prevOff := start.Add(-time.Nanosecond).Zone()
		c := time.Unix(wall.Unix()-int64(prevOff), int64(wall.Nanosecond())).In(loc)
		if c.Before(start) && toWall(c, loc).Equal(wall) {
			return c
		}
		return g
	case gw.After(wall):
		// Go read the gap time with the old offset, landing after the gap: the gap ends where
		// g's zone period starts.
		start, _ := g.ZoneBounds()
		return start
	default:
		// Go read it with the new offset, landing before the gap: the gap starts where g's zone
		// period ends.
		_, end := g.ZoneBounds()
		return end
	}
}

// lookback are the windows searched backwards for the latest firing. Cron only looks forward,
// so we step back by growing windows and walk forward inside each (a dense schedule is found
// in the first, small window, so the walk stays short); the last one spans more
// than eight years, so a yearly schedule and a Feb-29 schedule (which can skip a century year
// and so wait eight years) are always found.
var lookback = []time.Duration{
	2 * time.Minute, 2 * time.Hour, 49 * time.Hour, 8 * 24 * time.Hour, 32 * 24 * time.Hour,
	367 * 24 * time.Hour, (4*366 + 2) * 24 * time.Hour, (8*366 + 2) * 24 * time.Hour,
}

// lastFiring returns the latest firing of s at or before now.
func lastFiring(s cronSchedule, now time.Time) (time.Time, bool) {
	for _, w := range lookback {
		var last time.Time
		found := false
		// Next is strictly after its argument; start one nanosecond before the window. A
		// window starting before robfig's five-year horizon can yield a zero time first; walk
		// on from a point inside the horizon instead.
		from := now.Add(-w - time.Nanosecond)
		t := s.Next(from)
		if t.IsZero() && w > 4*366*24*time.Hour {
			t = s.Next(now.Add(-4 * 366 * 24 * time.Hour))
		}
		for ; !t.IsZero() && !t.After(now); t = s.Next(t) {
			last, found = t, true
		}
		if found {
			return last, true
		}
	}
	return time.Time{}, false
}

// schedule is e's parsed schedule. Entries built by ParseScheduleEntry (and so every entry of a
// loaded config) carry it; one written as a literal is parsed from Spec here, and ignored if
// Spec does not parse.
func (e ScheduleEntry) schedule() cronSchedule {
	if e.sched != nil {
		return e.sched
	}
	if e.Spec == "" {
		return nil
	}
	s, err := parseCron(e.Spec)
	if err != nil {
		return nil
	}
	return s
}

// TargetAt returns the target of the entry that fired most recently at or before now, and when
// it fired. ok is false when no entry has fired within the lookback. When entries fire at the
// same instant, the one listed later wins. It is a pure function of now.
func (s Schedule) TargetAt(now time.Time) (target int, firedAt time.Time, ok bool) {
	for _, e := range s.Entries {
		sched := e.schedule()
		if sched == nil {
			continue
		}
		t, found := lastFiring(sched, now)
		if !found {
			continue
		}
		if !ok || !t.Before(firedAt) {
			target, firedAt, ok = e.Target, t, true
		}
	}
	return target, firedAt, ok
}

// Next returns the first firing strictly after now and the target it sets. When entries fire
// at the same instant, the one listed later wins, as in TargetAt.
func (s Schedule) Next(now time.Time) (target int, at time.Time, ok bool) {
	for _, e := range s.Entries {
		sched := e.schedule()
		if sched == nil {
			continue
		}
		t := sched.Next(now)
		if t.IsZero() {
			continue
		}
		if !ok || !t.After(at) {
			target, at, ok = e.Target, t, true
		}
	}
	return target, at, ok
}

// NextChange returns the first firing after now that sets a target different from the one in
// effect at now (the schedule's, else def), looking at most limit firings ahead.
func (s Schedule) NextChange(now time.Time, def int, limit int) (target int, at time.Time, ok bool) {
	cur := def
	if t, _, found := s.TargetAt(now); found {
		cur = t
	}
	t := now
	for range limit {
		nt, at, found := s.Next(t)
		if !found {
			return 0, time.Time{}, false
		}
		if nt != cur {
			return nt, at, true
		}
		t = at
	}
	return 0, time.Time{}, false
}
