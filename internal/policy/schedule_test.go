package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustEntry(t *testing.T, spec string, target int) ScheduleEntry {
	t.Helper()
	e, err := ParseScheduleEntry(spec, target)
	if err != nil {
		t.Fatalf("parse %q: %v", spec, err)
	}
	return e
}

// firings lists the firings of spec in (from, to].
func firings(t *testing.T, spec string, from, to time.Time) []time.Time {
	t.Helper()
	e := mustEntry(t, spec, 1)
	var out []time.Time
	for x := e.sched.Next(from); !x.IsZero() && !x.After(to); x = e.sched.Next(x) {
		out = append(out, x)
		if len(out) > 1000 {
			t.Fatal("too many firings")
		}
	}
	return out
}

func TestRobfigAloneMishandlesDST(t *testing.T) {
	// Pins what robfig/cron does by itself, which is why wallSchedule exists.
	ny := mustLoc(t, "America/New_York")
	s, err := cron.ParseStandard("CRON_TZ=America/New_York 30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	got := s.Next(time.Date(2026, 3, 8, 0, 0, 0, 0, ny))
	if want := time.Date(2026, 3, 9, 2, 30, 0, 0, ny); !got.Equal(want) {
		t.Fatalf("robfig in the spring gap: %v, want it to skip to %v", got, want)
	}
	s, _ = cron.ParseStandard("CRON_TZ=America/New_York 30 1 * * *")
	first := s.Next(time.Date(2026, 11, 1, 0, 0, 0, 0, ny))
	second := s.Next(first)
	if second.Sub(first) != time.Hour {
		t.Fatalf("robfig in the repeated hour: %v then %v, want it to fire twice an hour apart", first, second)
	}
}

func TestScheduleDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	be := mustLoc(t, "Europe/Berlin")
	cases := []struct {
		name     string
		spec     string
		from, to time.Time
		want     []time.Time
	}{
		{
			name: "New York spring forward: 02:30 fires at 03:00 EDT, the first instant after the gap",
			spec: "CRON_TZ=America/New_York 30 2 * * *",
			from: time.Date(2026, 3, 7, 12, 0, 0, 0, ny), to: time.Date(2026, 3, 9, 12, 0, 0, 0, ny),
			want: []time.Time{
				time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC),  // 03:00 EDT = the end of the gap
				time.Date(2026, 3, 9, 6, 30, 0, 0, time.UTC), // 02:30 EDT the next day
			},
		},
		{
			name: "New York fall back: 01:30 fires once, at its first occurrence (EDT)",
			spec: "CRON_TZ=America/New_York 30 1 * * *",
			from: time.Date(2026, 10, 31, 12, 0, 0, 0, ny), to: time.Date(2026, 11, 2, 12, 0, 0, 0, ny),
			want: []time.Time{
				time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), // 01:30 EDT
				time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC), // 01:30 EST next day
			},
		},
		{
			name: "New York fall back: an hourly schedule fires once per wall-clock hour",
			spec: "CRON_TZ=America/New_York 0 * * * *",
			from: time.Date(2026, 11, 1, 0, 30, 0, 0, ny), to: time.Date(2026, 11, 1, 3, 30, 0, 0, ny),
			want: []time.Time{
				time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), // 01:00 EDT
				time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC), // 02:00 EST (01:00 EST skipped as a repeat)
				time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), // 03:00 EST
			},
		},
		{
			name: "Berlin spring forward: every 20 minutes inside the gap collapses to 03:00 CEST",
			spec: "CRON_TZ=Europe/Berlin */20 2 * * *",
			from: time.Date(2026, 3, 29, 0, 0, 0, 0, be), to: time.Date(2026, 3, 29, 12, 0, 0, 0, be),
			want: []time.Time{time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)}, // 03:00 CEST
		},
		{
			name: "Berlin fall back: 02:15 fires once, in CEST",
			spec: "TZ=Europe/Berlin 15 2 * * *",
			from: time.Date(2026, 10, 24, 12, 0, 0, 0, be), to: time.Date(2026, 10, 25, 12, 0, 0, 0, be),
			want: []time.Time{time.Date(2026, 10, 25, 0, 15, 0, 0, time.UTC)}, // 02:15 CEST
		},
		{
			name: "Havana springs forward at midnight: a midnight schedule fires at 01:00 CDT that day",
			spec: "CRON_TZ=America/Havana 0 0 * * *",
			from: time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC), to: time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC),
			want: []time.Time{
				time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC), // 01:00 CDT
				time.Date(2026, 3, 9, 4, 0, 0, 0, time.UTC), // 00:00 CDT
			},
		},
		{
			name: "Lord Howe's half-hour spring shift: 01:15 fires as usual, 02:15 in the gap fires at 02:30",
			spec: "CRON_TZ=Australia/Lord_Howe 15 2,1 * * *",
			from: time.Date(2026, 10, 3, 14, 0, 0, 0, time.UTC), to: time.Date(2026, 10, 4, 13, 0, 0, 0, time.UTC),
			want: []time.Time{
				time.Date(2026, 10, 3, 14, 45, 0, 0, time.UTC), // 01:15 +1030 on Oct 4
				time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC), // 02:30 +11 = end of the gap (02:15 does not exist)
			},
		},
		{
			name: "Lord Howe's half-hour autumn shift: the repeated 01:45 fires once, at +11",
			spec: "CRON_TZ=Australia/Lord_Howe 45 1 * * *",
			from: time.Date(2027, 4, 3, 0, 0, 0, 0, time.UTC), to: time.Date(2027, 4, 5, 0, 0, 0, 0, time.UTC),
			want: []time.Time{
				time.Date(2027, 4, 3, 14, 45, 0, 0, time.UTC), // 01:45 +11 on Apr 4
				time.Date(2027, 4, 4, 15, 15, 0, 0, time.UTC), // 01:45 +1030 on Apr 5
			},
		},
		{
			name: "no zone means UTC, whatever the location of now",
			spec: "0 9 * * *",
			from: time.Date(2026, 3, 8, 0, 0, 0, 0, ny), to: time.Date(2026, 3, 9, 0, 0, 0, 0, ny),
			want: []time.Time{time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := firings(t, c.spec, c.from, c.to)
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if !got[i].Equal(c.want[i]) {
					t.Fatalf("firing %d: got %v, want %v (all: %v)", i, got[i].UTC(), c.want[i], got)
				}
			}
		})
	}
}

func TestScheduleTargetAt(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	weekday := Schedule{Entries: []ScheduleEntry{
		mustEntry(t, "0 9 * * 1-5", 6),
		mustEntry(t, "0 19 * * *", 2),
	}}
	yearly := Schedule{Entries: []ScheduleEntry{mustEntry(t, "@yearly", 5), mustEntry(t, "0 0 1 7 *", 1)}}
	leap := Schedule{Entries: []ScheduleEntry{mustEntry(t, "0 12 29 2 *", 9), mustEntry(t, "0 12 1 3 *", 3)}}
	gap := Schedule{Entries: []ScheduleEntry{mustEntry(t, "CRON_TZ=America/New_York 30 2 * * *", 4), mustEntry(t, "CRON_TZ=America/New_York 0 12 * * *", 1)}}
	tie := Schedule{Entries: []ScheduleEntry{mustEntry(t, "0 0 * * *", 1), mustEntry(t, "@daily", 2)}}
	cases := []struct {
		name   string
		s      Schedule
		now    time.Time
		want   int
		fired  time.Time
		wantOK bool
	}{
		{"weekday morning entry is in effect at noon on Tuesday", weekday, time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), 6, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), true},
		{"the evening entry is in effect overnight", weekday, time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC), 2, time.Date(2026, 12, 1, 19, 0, 0, 0, time.UTC), true},
		{"the weekend keeps Friday evening's target", weekday, time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), 2, time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC), true},
		{"a firing is in effect at its own instant", weekday, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), 6, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), true},
		{"yearly: in June the New Year entry is in effect", yearly, time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC), 5, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"yearly: in December the July entry is in effect", yearly, time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), 1, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), true},
		{"Feb 29 found almost four years back", Schedule{Entries: []ScheduleEntry{mustEntry(t, "0 12 29 2 *", 9)}}, time.Date(2028, 2, 28, 0, 0, 0, 0, time.UTC), 9, time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), true},
		{"Feb 29 across the 2100 century gap: eight years back", Schedule{Entries: []ScheduleEntry{mustEntry(t, "0 12 29 2 *", 9)}}, time.Date(2103, 2, 1, 0, 0, 0, 0, time.UTC), 9, time.Date(2096, 2, 29, 12, 0, 0, 0, time.UTC), true},
		{"Feb 29 entry in effect on the leap day afternoon", leap, time.Date(2028, 2, 29, 18, 0, 0, 0, time.UTC), 9, time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC), true},
		{"March 1 entry wins afterwards", leap, time.Date(2028, 3, 2, 0, 0, 0, 0, time.UTC), 3, time.Date(2028, 3, 1, 12, 0, 0, 0, time.UTC), true},
		{"a firing in the spring gap is in effect from 03:00 EDT", gap, time.Date(2026, 3, 8, 3, 0, 0, 0, ny), 4, time.Date(2026, 3, 8, 3, 0, 0, 0, ny), true},
		{"one second before the gap ends the noon entry is still in effect", gap, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC).Add(-time.Second), 1, time.Date(2026, 3, 7, 12, 0, 0, 0, ny), true},
		{"entries firing at the same instant: the later one wins", tie, time.Date(2026, 5, 5, 5, 0, 0, 0, time.UTC), 2, time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC), true},
		{"no entries", Schedule{}, time.Date(2026, 5, 5, 5, 0, 0, 0, time.UTC), 0, time.Time{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, fired, ok := c.s.TargetAt(c.now)
			if ok != c.wantOK || got != c.want || !fired.Equal(c.fired) {
				t.Fatalf("TargetAt(%v) = %d, %v, %v; want %d, %v, %v", c.now, got, fired, ok, c.want, c.fired, c.wantOK)
			}
		})
	}
}

func TestScheduleNextAndNextChange(t *testing.T) {
	s := Schedule{Entries: []ScheduleEntry{
		mustEntry(t, "0 9 * * 1-5", 6),
		mustEntry(t, "0 19 * * *", 2),
	}}
	now := time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC) // Saturday evening, target 2
	tg, at, ok := s.Next(now)
	if !ok || tg != 2 || !at.Equal(time.Date(2026, 12, 6, 19, 0, 0, 0, time.UTC)) {
		t.Fatalf("Next = %d %v %v", tg, at, ok)
	}
	tg, at, ok = s.NextChange(now, 3, 50)
	if !ok || tg != 6 || !at.Equal(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("NextChange = %d %v %v", tg, at, ok)
	}
	f := &Fleet{Min: 1, Target: 3, Max: 4, Schedule: s}
	if got := f.TargetAt(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)); got != 4 {
		t.Fatalf("Fleet.TargetAt clamps to max: %d", got)
	}
	if got := (&Fleet{Min: 1, Target: 3, Max: 4}).TargetAt(now); got != 3 {
		t.Fatalf("Fleet.TargetAt without schedule: %d", got)
	}
}

func TestParseScheduleEntryErrors(t *testing.T) {
	cases := map[string]string{
		"@every 1h":                      "@every is not allowed",
		"CRON_TZ=UTC @every 5m":          "@every is not allowed",
		"CRON_TZ=Mars/Olympus 0 9 * * *": `unknown time zone "Mars/Olympus"`,
		"0 9 * *":                        "expected exactly 5 fields",
		"61 9 * * *":                     "end of range (61) above maximum (59)",
		"CRON_TZ=UTC":                    "has a time zone but no schedule",
		"@fortnightly":                   "unrecognized descriptor",
	}
	for spec, want := range cases {
		t.Run(spec, func(t *testing.T) {
			_, err := ParseScheduleEntry(spec, 1)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want it to contain %q", err, want)
			}
		})
	}
}

func TestScheduleEntryLiteralIsParsedFromSpec(t *testing.T) {
	s := Schedule{Entries: []ScheduleEntry{{Spec: "0 9 * * *", Target: 5}, {Spec: "not a spec", Target: 7}}}
	got, _, ok := s.TargetAt(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC))
	if !ok || got != 5 {
		t.Fatalf("TargetAt = %d %v", got, ok)
	}
}

func BenchmarkScheduleTargetAt(b *testing.B) {
	for _, spec := range []string{"0 9 * * 1-5", "* * * * *", "CRON_TZ=America/New_York 30 2 * * *", "0 12 29 2 *"} {
		e, err := ParseScheduleEntry(spec, 1)
		if err != nil {
			b.Fatal(err)
		}
		s := Schedule{Entries: []ScheduleEntry{e}}
		now := time.Date(2027, 2, 28, 10, 0, 0, 0, time.UTC)
		b.Run(spec, func(b *testing.B) {
			for b.Loop() {
				if _, _, ok := s.TargetAt(now); !ok {
					b.Fatal("no firing")
				}
			}
		})
	}
}

func FuzzScheduleEntry(f *testing.F) {
	for _, s := range []string{"0 9 * * 1-5", "CRON_TZ=America/New_York 30 2 * * *", "@yearly", "0 12 29 2 *", "TZ=Europe/Berlin */20 2 * * *", "@every 1h"} {
		f.Add(s, int64(1_790_000_000))
	}
	f.Fuzz(func(t *testing.T, spec string, unix int64) {
		e, err := ParseScheduleEntry(spec, 1)
		if err != nil {
			return
		}
		now := time.Unix(unix%(200*365*86400), 0).UTC()
		next := e.sched.Next(now)
		if next.IsZero() {
			return
		}
		if !next.After(now) {
			t.Fatalf("Next(%v) = %v, not after", now, next)
		}
		s := Schedule{Entries: []ScheduleEntry{e}}
		if _, fired, ok := s.TargetAt(next); !ok || !fired.Equal(next) {
			t.Fatalf("TargetAt(%v) fired %v ok %v; want the firing itself", next, fired, ok)
		}
	})
}
