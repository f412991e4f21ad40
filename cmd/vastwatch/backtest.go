package main

import (
	"context"

	"github.com/alecthomas/kingpin/v2"

	"github.com/vastwatch/vastwatch/internal/backtest"
)

func defineBacktest(cmd *kingpin.CmdClause, c *cli) action {
	b := backtest.AddFlags(cmd)
	return func(ctx context.Context) error { return b.Run(ctx, c.Stdout, c.Stderr, c.Getenv) }
}
