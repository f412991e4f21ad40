package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/report"
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
func runCheck(ctx context.Context, pio IO, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(pio.Stderr)
	cfgFile := fs.String("config.file", "", "config file to check (default $VASTWATCH_CONFIG_FILE)")
	at := fs.String("at", "", "evaluate schedules at this RFC 3339 time instead of now")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	env, err := policy.LoadEnv(ctx, pio.Getenv)
	if err != nil {
		return err
	}
	path := *cfgFile
	if path == "" {
		path = env.ConfigFile
	}
	if path == "" {
		return usageErr("--config.file is required")
	}
	now := clock.Real{}.Now()
	if *at != "" {
		if now, err = time.Parse(time.RFC3339, *at); err != nil {
			return usageErr("--at %q is not an RFC 3339 time such as 2026-12-01T09:00:00Z", *at)
		}
	}
	cfg, err := policy.Load(path, pio.Getenv)
	if err != nil {
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			n := len(ve.Problems)
			fmt.Fprintf(pio.Stderr, "%s: %d problem%s:\n", path, n, report.Plural(n))
			for _, p := range ve.Problems {
				fmt.Fprintf(pio.Stderr, "  %s\n", p)
			}
			return reported(1)
		}
		return err
	}
	return report.CheckSummary(pio.Stdout, path, env.ApplyTo(cfg), now)
}
