package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/daemon"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/report"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

func init() {
	register(&command{
		name:    "search",
		summary: "one-shot search: a market from the config, or a vast CLI query; table|json|csv",
		run:     runSearch,
	})
}

const searchUsage = `usage: vastwatch search [-o ORDER] [--limit N] [--type T] [--storage GB] [-n]
                        [--output table|json|csv] [--simulate] [--print-query] 'QUERY'
       vastwatch search --config.file F --market NAME [--output ...] [--simulate] [--print-query]

QUERY is the official vast CLI "search offers" syntax, e.g. 'gpu_name=RTX_4090 num_gpus>=2'.
`

// searchFlags are the options of one search invocation.
type searchFlags struct {
	order, typ, market, cfgFile, output string
	limit                               int
	storage                             float64
	noDefaults, simulate, printQuery    bool
	seed                                int64
}

func runSearch(ctx context.Context, pio IO, args []string) error {
	var sf searchFlags
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(pio.Stderr)
	fs.Usage = func() {
		fmt.Fprint(pio.Stderr, searchUsage, "\nflags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&sf.order, "o", "", "order, vast CLI syntax: fields separated by commas, trailing - for descending (default \"score-\")")
	fs.StringVar(&sf.order, "order", "", "same as -o")
	fs.IntVar(&sf.limit, "limit", 0, "maximum number of offers (0: the server's default)")
	fs.StringVar(&sf.typ, "type", "on-demand", "offer type: on-demand, bid (interruptible) or reserved")
	fs.Float64Var(&sf.storage, "storage", policy.DefaultStorageGB, "disk GB priced into dph_total")
	fs.BoolVar(&sf.noDefaults, "n", false, "no default filters (verified, rentable, not external)")
	fs.BoolVar(&sf.noDefaults, "no-default", false, "same as -n")
	fs.StringVar(&sf.market, "market", "", "search this market of --config.file instead of a query")
	fs.StringVar(&sf.cfgFile, "config.file", "", "config file holding --market")
	fs.StringVar(&sf.output, "output", "table", "output format: table, json or csv")
	fs.BoolVar(&sf.simulate, "simulate", false, "search the in-process simulated market")
	fs.Int64Var(&sf.seed, "simulate.seed", 1, "seed of the simulated market")
	fs.BoolVar(&sf.printQuery, "print-query", false, "print the JSON body that would be POSTed to /api/v0/bundles/ and exit")

	// Flags may come before or after the query words, as with the vast CLI.
	var words []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return reported(2)
		}
		if fs.NArg() == 0 {
			break
		}
		words = append(words, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	switch sf.output {
	case "table", "json", "csv":
	default:
		return usageErr("--output %q; allowed: table, json or csv", sf.output)
	}

	q, warnings, err := searchQuery(ctx, pio, sf, set, words)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(pio.Stderr, w)
	}
	if sf.printQuery {
		b, err := q.MarshalJSON()
		if err != nil {
			return err
		}
		fmt.Fprintf(pio.Stdout, "%s\n", b)
		return nil
	}

	client, err := searchClient(ctx, pio, sf)
	if err != nil {
		return err
	}
	return report.SearchOffers(ctx, client, q, pio.Stdout, sf.output)
}

// searchQuery builds the wire query from a market of the config or from the query words.
func searchQuery(ctx context.Context, pio IO, sf searchFlags, set map[string]bool, words []string) (vastapi.Query, []string, error) {
	if sf.market != "" {
		q, err := marketQuery(ctx, pio, sf, set, words)
		return q, nil, err
	}
	if sf.cfgFile != "" {
		return vastapi.Query{}, nil, usageErr("--config.file is only used with --market")
	}
	q, warnings, err := policy.ParseQueryWarnings(strings.Join(words, " "), policy.SearchOptions{
		Order: sf.order, Limit: sf.limit, Type: sf.typ, StorageGB: sf.storage, NoDefaults: sf.noDefaults,
	})
	if err != nil {
		// The vast CLI's own way of saying it, so a pasted query fails as it does there.
		for _, w := range warnings {
			fmt.Fprintln(pio.Stderr, w)
		}
		fmt.Fprintf(pio.Stderr, "Error: %v\n", err)
		return vastapi.Query{}, nil, reported(1)
	}
	return q, warnings, nil
}

// marketQuery is the query of --market in the config file.
func marketQuery(ctx context.Context, pio IO, sf searchFlags, set map[string]bool, words []string) (vastapi.Query, error) {
	for _, f := range []string{"o", "order", "limit", "type", "storage", "n", "no-default"} {
		if set[f] {
			dash := "--"
			if len(f) == 1 {
				dash = "-"
			}
			return vastapi.Query{}, usageErr("%s%s cannot be combined with --market: the market's own order, limit, type and storage_gb apply", dash, f)
		}
	}
	if len(words) > 0 {
		return vastapi.Query{}, usageErr("give either --market or a query, not both")
	}
	path := sf.cfgFile
	if path == "" {
		env, err := policy.LoadEnv(ctx, pio.Getenv)
		if err != nil {
			return vastapi.Query{}, err
		}
		path = env.ConfigFile
	}
	if path == "" {
		return vastapi.Query{}, usageErr("--market needs --config.file")
	}
	cfg, err := policy.Load(path, pio.Getenv)
	if err != nil {
		return vastapi.Query{}, fmt.Errorf("%s:\n%w", path, err)
	}
	m := cfg.Market(sf.market)
	if m == nil {
		names := make([]string, len(cfg.Markets))
		for i, x := range cfg.Markets {
			names[i] = x.Name
		}
		return vastapi.Query{}, fmt.Errorf("no market %q in %s; markets: %s", sf.market, path, strings.Join(names, ", "))
	}
	return m.Query, nil
}

// searchClient is the real API (key and URL from the environment; search works without a key)
// or the in-process simulator.
func searchClient(ctx context.Context, pio IO, sf searchFlags) (*vastapi.Client, error) {
	clk := clock.Real{}
	ua := "vastwatch/" + version
	if sf.simulate {
		sim, err := vastsim.New(vastsim.Options{Seed: sf.seed, Clock: clk})
		if err != nil {
			return nil, fmt.Errorf("start simulator: %w", err)
		}
		return vastapi.New(vastapi.Config{BaseURL: "http://vastsim.invalid", HTTPClient: &http.Client{Transport: sim.Transport(), Timeout: time.Minute},
			Clock: clk, UserAgent: ua, Pacing: map[string]time.Duration{}})
	}
	env, err := policy.LoadEnv(ctx, pio.Getenv)
	if err != nil {
		return nil, err
	}
	base := env.APIURL
	if base == "" {
		base = daemon.DefaultAPIURL
	}
	return vastapi.New(vastapi.Config{BaseURL: base, Key: env.APIKey, Clock: clk, UserAgent: ua})
}
