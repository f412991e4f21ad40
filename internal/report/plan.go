package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// Plan prints a plan the way `vastwatch plan` shows it: per fleet its target and counts,
// committed $/h before → after against the budget, each decision and each action with its
// reason and outcome; then the avoided machines and the orphans.
func Plan(w io.Writer, res scaler.Result, outs []scaler.ActionOutcome, acct policy.Account) error {
	var b strings.Builder
	capText := "no cap"
	if acct.MaxSpendPerHour > 0 {
		capText = fmt.Sprintf("cap $%.4f/h", acct.MaxSpendPerHour)
	}
	fmt.Fprintf(&b, "plan at %s: credit $%.2f, committed $%.4f/h -> $%.4f/h (%s)\n",
		res.At.UTC().Format(time.RFC3339), res.Credit, res.CommittedBefore, res.CommittedAfter, capText)
	for _, line := range res.Explain(acct.MaxSpendPerHour, acct.CreditFloor) {
		fmt.Fprintf(&b, "%s\n", line)
	}
	outcome := map[int]string{}
	for i, o := range outs {
		s := o.Result
		if o.Why != "" && o.Result != scaler.ResultDryRun {
			s += ": " + o.Why
		}
		outcome[i] = s
	}
	for _, f := range res.Fleets {
		writeFleet(&b, f, res, outcome)
	}
	writeAvoided(&b, res.Avoided)
	writeOrphans(&b, res, outcome)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeFleet prints one fleet's counts, spend, decisions and actions.
func writeFleet(b *strings.Builder, f scaler.FleetStatus, res scaler.Result, outcome map[int]string) {
	var counts []string
	for _, p := range scaler.Phases {
		counts = append(counts, fmt.Sprintf("%s %d", p, f.Counts[p]))
	}
	if f.PendingCreates > 0 {
		counts = append(counts, fmt.Sprintf("pending creates %d", f.PendingCreates))
	}
	budget := "no budget"
	if f.Budget > 0 {
		budget = fmt.Sprintf("budget $%.4f/h", f.Budget)
	}
	fmt.Fprintf(b, "\nfleet %s: target %d (min %d, max %d); %s\n", f.Name, f.Target, f.Min, f.Max, strings.Join(counts, ", "))
	fmt.Fprintf(b, "  $/h %.4f -> %.4f (%s)\n", f.SpendBefore, f.SpendAfter, budget)
	if d := f.Desired; d.Autoscaled {
		fmt.Fprintf(b, "  desired: %s\n", DesiredText(d))
	}
	if f.OverBudget != "" {
		fmt.Fprintf(b, "  %s\n", f.OverBudget)
	}
	if len(f.Blocked) > 0 {
		fmt.Fprintf(b, "  blocked: %s\n", strings.Join(f.Blocked, ", "))
	}
	fmt.Fprintf(b, "  %s\n", f.AvoidedText())
	if s := f.BurstText(); s != "" {
		fmt.Fprintf(b, "  %s\n", s)
	}
	for _, d := range res.Decisions {
		if d.Fleet != f.Name {
			continue
		}
		fmt.Fprintf(b, "  decision %s: %s", d.Decision, d.Reason)
		if d.Detail != "" {
			fmt.Fprintf(b, " (%s)", d.Detail)
		}
		b.WriteByte('\n')
	}
	n := 0
	for i, a := range res.Actions {
		if a.Fleet == f.Name {
			n++
			writeAction(b, a, i, outcome)
		}
	}
	if n == 0 {
		b.WriteString("  no action\n")
	}
}

// writeAction prints action i with its outcome, if it has one.
func writeAction(b *strings.Builder, a scaler.Action, i int, outcome map[int]string) {
	fmt.Fprintf(b, "  action %s", a)
	if s, ok := outcome[i]; ok {
		fmt.Fprintf(b, " [%s]", s)
	}
	b.WriteByte('\n')
}

// writeAvoided prints the machines not rented on after failures.
func writeAvoided(b *strings.Builder, avoided []scaler.AvoidedMachine) {
	if len(avoided) == 0 {
		return
	}
	fmt.Fprintf(b, "\navoided machines (%d, not rented on after failures):\n", len(avoided))
	for _, m := range avoided {
		fmt.Fprintf(b, "  machine %d until %s", m.Machine, m.Until.UTC().Format(time.RFC3339))
		if m.Failures > 0 {
			fmt.Fprintf(b, " (%d failures", m.Failures)
			if m.Fleet != "" {
				fmt.Fprintf(b, ", last in fleet %s", m.Fleet)
			}
			b.WriteByte(')')
		}
		b.WriteByte('\n')
	}
}

// writeOrphans prints the orphans by fleet and the actions taken on them.
func writeOrphans(b *strings.Builder, res scaler.Result, outcome map[int]string) {
	if len(res.Orphans) == 0 {
		return
	}
	names := make([]string, 0, len(res.Orphans))
	for name := range res.Orphans {
		names = append(names, name)
	}
	slices.Sort(names)
	b.WriteString("\norphans (managed instances whose fleet left the config):\n")
	for _, name := range names {
		fmt.Fprintf(b, "  fleet %s: %d\n", name, res.Orphans[name])
	}
	for i, a := range res.Actions {
		if a.Reason == scaler.ReasonOrphan {
			writeAction(b, a, i, outcome)
		}
	}
}

// DesiredText says where an autoscaled fleet's target came from: each source's inputs and
// desired size, their combination and the stabilised target.
func DesiredText(d scaler.Desired) string {
	var parts []string
	if d.HasDemand {
		switch {
		case d.DemandStale && d.DemandAt.IsZero():
			parts = append(parts, fmt.Sprintf("demand %d (no good value yet, fallback)", d.Demand))
		case d.DemandStale:
			parts = append(parts, fmt.Sprintf("demand %d (value %g stale since %s, fallback)", d.Demand, d.DemandValue, d.DemandAt.UTC().Format(time.RFC3339)))
		default:
			parts = append(parts, fmt.Sprintf("demand %d (value %g)", d.Demand, d.DemandValue))
		}
	}
	if d.HasPrice {
		parts = append(parts, fmt.Sprintf("price %d", d.Price))
	}
	parts = append(parts, fmt.Sprintf("floor %d", d.Schedule), fmt.Sprintf("combined %d", d.Raw), fmt.Sprintf("target %d", d.Final))
	if d.Final != d.Raw {
		parts[len(parts)-1] += " (stabilised)"
	}
	out := strings.Join(parts, ", ")
	if d.DemandErr != "" {
		out += "; last demand read: " + d.DemandErr
	}
	return out
}
