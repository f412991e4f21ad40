package policy

import "time"

// Schedule is a fleet's list of cron entries, each setting the target from its firing on.
// Entries are parsed once at load (robfig/cron, optional CRON_TZ=).
type Schedule struct {
	Entries []ScheduleEntry
}

// ScheduleEntry is one `{cron, target}` item.
type ScheduleEntry struct {
	Spec   string
	Target int
	sched  cronSchedule
}

// cronSchedule is the part of robfig/cron's Schedule the policy uses.
type cronSchedule interface {
	Next(time.Time) time.Time
}

// lookback are the windows searched backwards for the latest firing. robfig/cron only looks
// forward, so we step back by growing windows and walk forward inside each; the last one spans
// more than four years so a yearly or a Feb-29 schedule is always found.
var lookback = []time.Duration{
	2 * time.Hour, 49 * time.Hour, 8 * 24 * time.Hour, 32 * 24 * time.Hour,
	367 * 24 * time.Hour, (4*366 + 2) * 24 * time.Hour, (8*366 + 2) * 24 * time.Hour,
}

// lastFiring returns the latest firing of s at or before now.
func lastFiring(s cronSchedule, now time.Time) (time.Time, bool) {
	for _, w := range lookback {
		var last time.Time
		found := false
		// Next is strictly after its argument; start one second before the window.
		for t := s.Next(now.Add(-w - time.Second)); !t.IsZero() && !t.After(now); t = s.Next(t) {
			last, found = t, true
		}
		if found {
			return last, true
		}
	}
	return time.Time{}, false
}

// TargetAt returns the target of the entry that fired most recently at or before now, and when
// it fired. ok is false when no entry has fired within the lookback. Ties go to the later entry.
func (s Schedule) TargetAt(now time.Time) (target int, firedAt time.Time, ok bool) {
	for _, e := range s.Entries {
		if e.sched == nil {
			continue
		}
		t, found := lastFiring(e.sched, now)
		if !found {
			continue
		}
		if !ok || !t.Before(firedAt) {
			target, firedAt, ok = e.Target, t, true
		}
	}
	return target, firedAt, ok
}

// Next returns the next firing after now that changes nothing less than the target, and when.
func (s Schedule) Next(now time.Time) (target int, at time.Time, ok bool) {
	for _, e := range s.Entries {
		if e.sched == nil {
			continue
		}
		t := e.sched.Next(now)
		if t.IsZero() {
			continue
		}
		if !ok || t.Before(at) {
			target, at, ok = e.Target, t, true
		}
	}
	return target, at, ok
}
