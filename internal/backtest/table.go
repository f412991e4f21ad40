package backtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the report for a terminal: what ran, then one row per config and fleet.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%s, %s to %s (%.1f h)\n", r.Source.describe(), r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), r.Hours)
	for _, c := range r.Source.Cuts {
		fmt.Fprintf(w, "  segment cut, read to its last whole poll: %s\n", c)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tfleet\tcost $\tbound $\tcost/bound\tinstance-h\t$/instance-h\tat target\tcreates\tdestroys\treplacements\tblocked\t")
	for _, c := range r.Configs {
		for _, f := range c.Fleets {
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%s\t%.1f\t%.4f\t%.1f%%\t%d\t%d\t%d\t%s\t\n", c.Name, f.Name,
				f.CostDollars, f.BoundDollars, ratio(f.CostOverBound), f.RunningInstanceHours, f.DollarsPerRunningHour,
				100*f.TimeAtTarget, f.Creates, f.Destroys, f.Replacements, blocked(f.BlockedSeconds))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.Configs {
		fmt.Fprintf(w, "%s: %d cycles every %s, account billed $%.2f\n", c.Name, c.Cycles,
			time.Duration(c.PollIntervalSeconds*float64(time.Second)), c.CostDollars)
	}
	return nil
}

func ratio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", x)
}

// blocked lists the reasons a fleet was out of reach, longest first, as "reason 1h30m".
func blocked(m map[string]float64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + (time.Duration(m[k]) * time.Second).String()
	}
	return strings.Join(parts, ", ")
}

func (s Source) describe() string {
	if s.Kind == "scenario" {
		return fmt.Sprintf("scenario %s, seed %d, %d days, %d machines", s.Scenario, s.Seed, s.Days, s.Machines)
	}
	return fmt.Sprintf("recording %s, %d polls", s.Recording, s.Polls)
}
