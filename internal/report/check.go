package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// CheckSummary prints the markets, the fleets with their targets now and at the next
// change, and the searches one poll makes with their pacing. It prints no secret.
func CheckSummary(w io.Writer, path string, cfg *policy.Config, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: OK (%d market%s, %d fleet%s, owner %q, poll every %s", path,
		len(cfg.Markets), Plural(len(cfg.Markets)), len(cfg.Fleets), Plural(len(cfg.Fleets)), cfg.Owner, cfg.PollInterval)
	if cfg.DryRun {
		b.WriteString(", dry run")
	}
	b.WriteString(")\n")
	for _, wn := range cfg.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn)
	}

	b.WriteString("\nmarkets:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tTYPE\tORDER\tLIMIT\tSTORAGE\tGROUP BY\tQUERY")
	for _, m := range cfg.Markets {
		limit := "server default"
		if m.Query.Limit > 0 {
			limit = fmt.Sprint(m.Query.Limit)
		}
		group := strings.Join(m.GroupBy, ",")
		if group == "" {
			group = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%g GB\t%s\t%s\n", m.Name, m.Type, orderText(m.Query.Order), limit, m.StorageGB, group, m.QueryText)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(cfg.Fleets) > 0 {
		fmt.Fprintf(&b, "\nfleets (targets at %s):\n", now.UTC().Format(time.RFC3339))
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tMARKET\tMIN/TARGET/MAX\tTARGET NOW\tNEXT CHANGE\tMAX $/H\tBUDGET $/H\tSCALE DOWN\tBID")
		for _, f := range cfg.Fleets {
			targetNow, next := targetText(f, now)
			bid := "-"
			if f.Bid != nil {
				bid = fmt.Sprintf("min_bid×%g ≤ $%g", f.Bid.Multiplier, f.Bid.MaxPerHour)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d/%d/%d\t%s\t%s\t%g\t%g\t%s\t%s\n", f.Name, f.Market.Name, f.Min, f.Target, f.Max,
				targetNow, next, f.MaxPrice, f.Budget, f.ScaleDown, bid)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		var keys []string
		for _, f := range cfg.Fleets {
			if len(f.SSHKeys) > 0 {
				keys = append(keys, fmt.Sprintf("%s %d", f.Name, len(f.SSHKeys)))
			}
		}
		if len(keys) > 0 {
			fmt.Fprintf(&b, "ssh keys attached to each instance: %s\n", strings.Join(keys, ", "))
		}
	}

	n := cfg.DistinctSearches()
	need := time.Duration(n) * vastapi.SearchMinInterval
	verdict := "fits"
	if need > cfg.PollInterval {
		verdict = "does NOT fit"
	}
	fmt.Fprintf(&b, "\nsearches per poll: %d distinct (of %d market%s), %s at one search every %s; %s the poll interval %s\n",
		n, len(cfg.Markets), Plural(len(cfg.Markets)), need, vastapi.SearchMinInterval, verdict, cfg.PollInterval)
	if cfg.Account.MaxSpendPerHour > 0 || cfg.Account.CreditFloor > 0 {
		fmt.Fprintf(&b, "account: credit floor $%g, spend cap $%g/h", cfg.Account.CreditFloor, cfg.Account.MaxSpendPerHour)
		if cfg.Account.MonthlyBudget > 0 {
			fmt.Fprintf(&b, ", $%g/month", cfg.Account.MonthlyBudget)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orderText(o []vastapi.OrderBy) string {
	if len(o) == 0 {
		return "-"
	}
	parts := make([]string, len(o))
	for i, x := range o {
		parts[i] = x.Field
		if x.Desc {
			parts[i] += "-"
		}
	}
	return strings.Join(parts, ",")
}

// targetText is the fleet's target now and its schedule's next change; an autoscaled fleet's
// target follows its sources, within a floor its schedule sets.
func targetText(f *policy.Fleet, now time.Time) (targetNow, next string) {
	next = "none"
	if f.Autoscale == nil {
		if t, at, ok := f.Schedule.NextChange(now, f.Target, 200); ok {
			next = fmt.Sprintf("%d at %s", max(f.Min, min(t, f.Max)), at.UTC().Format(time.RFC3339))
		}
		return fmt.Sprint(f.TargetAt(now)), next
	}
	if t, at, ok := f.Schedule.NextChange(now, f.Min, 200); ok {
		next = fmt.Sprintf("floor %d at %s", max(f.Min, min(t, f.Max)), at.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("auto, floor %d", f.MinAt(now)), next
}

// Plural is "s" unless n is 1.
func Plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
