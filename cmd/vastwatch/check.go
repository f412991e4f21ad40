package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/report"
)

func defineCheck(cmd *kingpin.CmdClause, c *cli) action {
	cfgFile := cmd.Flag("config.file", "Config file to check.").PlaceHolder("FILE").String()
	at := cmd.Flag("at", "Evaluate schedules at this RFC 3339 time instead of now.").PlaceHolder("TIME").String()
	return func(ctx context.Context) error { return runCheck(c, *cfgFile, *at) }
}

// runCheck runs exactly the validation `run` does (policy.Load, then the environment's
// overrides) and prints what the daemon would do with the file.
func runCheck(c *cli, path, at string) error {
	if err := c.envOK(); err != nil {
		return err
	}
	if path == "" {
		return usageErr("--config.file is required")
	}
	now := clock.Real{}.Now()
	if at != "" {
		var err error
		if now, err = time.Parse(time.RFC3339, at); err != nil {
			return usageErr("--at %q is not an RFC 3339 time such as 2026-12-01T09:00:00Z", at)
		}
	}
	cfg, err := policy.Load(path, c.Getenv)
	if err != nil {
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			n := len(ve.Problems)
			fmt.Fprintf(c.Stderr, "%s: %d problem%s:\n", path, n, report.Plural(n))
			for _, p := range ve.Problems {
				fmt.Fprintf(c.Stderr, "  %s\n", p)
			}
			return reported(1)
		}
		return err
	}
	return report.CheckSummary(c.Stdout, path, c.env.ApplyTo(cfg), now)
}
