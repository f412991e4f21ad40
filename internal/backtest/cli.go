package backtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// CLI is `vastwatch backtest` as its flags leave it (docs/backtest.md "Commands"); the command
// line only binds the flags to it.
type CLI struct {
	Configs            []string
	Recording          string
	From, To           string
	Scenario           string
	Seed               int64
	Days               int
	Demand             map[string]string
	Output, OutputFile string
	BootDelay          time.Duration
	BootFailure        float64
	HostFailuresPerDay float64
}

// UsageError is a command line the backtest cannot run with.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

// ExitCode is the process's exit code for a usage error: 2, as for every command.
func (e *UsageError) ExitCode() int { return 2 }

func usage(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Outputs are the report's formats.
var Outputs = []string{"table", "json", "html"}

// Run loads the configs, replays them and writes the report to stdout or the output file; the
// progress goes to stderr.
func (c *CLI) Run(ctx context.Context, stdout, stderr io.Writer, getenv func(string) string) error {
	o, err := c.options(getenv)
	if err != nil {
		return err
	}
	o.Progress = Progress(stderr, time.Now)
	rep, err := Run(ctx, o)
	if err != nil {
		return err
	}
	w := stdout
	if c.OutputFile != "" {
		f, err := os.Create(c.OutputFile)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	switch c.Output {
	case "json":
		b, err := rep.JSON()
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "html":
		return rep.WriteHTML(w)
	}
	return rep.WriteTable(w)
}

// options checks the flags and loads what they name.
func (c *CLI) options(getenv func(string) string) (Options, error) {
	o := Options{Recording: c.Recording, Scenario: c.Scenario, Seed: c.Seed, Days: c.Days, BootDelay: c.BootDelay,
		BootFailure: c.BootFailure, HostFailuresPerDay: c.HostFailuresPerDay}
	switch {
	case (c.Recording == "") == (c.Scenario == ""):
		return o, usage("give --recording DIR or --scenario NAME (one of %s), not both", strings.Join(Scenarios, ", "))
	case c.Scenario != "" && (c.From != "" || c.To != ""):
		return o, usage("--from and --to select part of a recording; a scenario runs --days")
	}
	var err error
	if o.From, err = flagTime("--from", c.From); err != nil {
		return o, err
	}
	if o.To, err = flagTime("--to", c.To); err != nil {
		return o, err
	}
	if !o.From.IsZero() && !o.To.IsZero() && !o.To.After(o.From) {
		return o, usage("--to %s is not after --from %s", c.To, c.From)
	}
	names := make([]string, 0, len(c.Demand))
	for fleet := range c.Demand {
		names = append(names, fleet)
	}
	sort.Strings(names)
	o.Demand = map[string]DemandSeries{}
	for _, fleet := range names {
		s, err := ParseDemand(c.Demand[fleet])
		if err != nil {
			return o, fmt.Errorf("--demand %s: %w", fleet, err)
		}
		o.Demand[fleet] = s
	}
	for _, path := range c.Configs {
		cfg, err := policy.Load(path, getenv)
		if err != nil {
			return o, fmt.Errorf("config %s: %w", path, err)
		}
		o.Configs = append(o.Configs, Config{Name: path, Policy: cfg})
	}
	for fleet := range c.Demand {
		if !anyFleet(o.Configs, fleet) {
			return o, usage("--demand names fleet %s, which no config has", fleet)
		}
	}
	return o, nil
}

func anyFleet(cs []Config, name string) bool {
	for _, c := range cs {
		if c.Policy.Fleet(name) != nil {
			return true
		}
	}
	return false
}

func flagTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return t, usage("%s: %v", flag, err)
	}
	return t, nil
}
