package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

func init() {
	register(&command{
		name:    "check",
		summary: "validate a config file; print a summary of markets/fleets; exit 1 on any problem",
		run:     runCheck,
	})
}

// runCheck runs exactly the validation `run` does (policy.Load, then the environment's
// overrides) and prints what the daemon would do with the file.
func runCheck(ctx context.Context, pio IO, args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(pio.Stderr)
	cfgFile := fs.String("config.file", "", "config file to check (default $VASTWATCH_CONFIG_FILE)")
	at := fs.String("at", "", "evaluate schedules at this RFC 3339 time instead of now")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(pio.Stderr, "vastwatch check: unexpected arguments %q\n", fs.Args())
		return 2
	}
	env, err := policy.LoadEnv(ctx, pio.Getenv)
	if err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch check: %v\n", err)
		return 1
	}
	path := *cfgFile
	if path == "" {
		path = env.ConfigFile
	}
	if path == "" {
		fmt.Fprintln(pio.Stderr, "vastwatch check: --config.file is required")
		return 2
	}
	now := clock.Real{}.Now()
	if *at != "" {
		if now, err = time.Parse(time.RFC3339, *at); err != nil {
			fmt.Fprintf(pio.Stderr, "vastwatch check: --at %q is not an RFC 3339 time such as 2026-12-01T09:00:00Z\n", *at)
			return 2
		}
	}
	cfg, err := policy.Load(path, pio.Getenv)
	if err != nil {
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			n := len(ve.Problems)
			fmt.Fprintf(pio.Stderr, "%s: %d problem%s:\n", path, n, plural(n))
			for _, p := range ve.Problems {
				fmt.Fprintf(pio.Stderr, "  %s\n", p)
			}
			return 1
		}
		fmt.Fprintf(pio.Stderr, "vastwatch check: %v\n", err)
		return 1
	}
	cfg = env.ApplyTo(cfg)
	if err := writeCheckSummary(pio.Stdout, path, cfg, now); err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch check: %v\n", err)
		return 1
	}
	return 0
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// writeCheckSummary prints the markets, the fleets with their targets now and at the next
// change, and the searches one poll makes with their pacing. It prints no secret.
func writeCheckSummary(w io.Writer, path string, cfg *policy.Config, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: OK (%d market%s, %d fleet%s, owner %q, poll every %s", path,
		len(cfg.Markets), plural(len(cfg.Markets)), len(cfg.Fleets), plural(len(cfg.Fleets)), cfg.Owner, cfg.PollInterval)
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
			next := "none"
			if t, at, ok := f.Schedule.NextChange(now, f.Target, 200); ok {
				t = max(f.Min, min(t, f.Max))
				next = fmt.Sprintf("%d at %s", t, at.UTC().Format(time.RFC3339))
			}
			bid := "-"
			if f.Bid != nil {
				bid = fmt.Sprintf("min_bid×%g ≤ $%g", f.Bid.Multiplier, f.Bid.MaxPerHour)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d/%d/%d\t%d\t%s\t%g\t%g\t%s\t%s\n", f.Name, f.Market.Name, f.Min, f.Target, f.Max,
				f.TargetAt(now), next, f.MaxPrice, f.Budget, f.ScaleDown, bid)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	n := cfg.DistinctSearches()
	need := time.Duration(n) * vastapi.SearchMinInterval
	verdict := "fits"
	if need > cfg.PollInterval {
		verdict = "does NOT fit"
	}
	fmt.Fprintf(&b, "\nsearches per poll: %d distinct (of %d market%s), %s at one search every %s; %s the poll interval %s\n",
		n, len(cfg.Markets), plural(len(cfg.Markets)), need, vastapi.SearchMinInterval, verdict, cfg.PollInterval)
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
