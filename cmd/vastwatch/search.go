package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/report"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// searchFlags are the options of one search invocation.
type searchFlags struct {
	order, typ, market, cfgFile, output string
	limit                               int
	storage                             float64
	noDefaults, printQuery              bool
	words                               []string
	api                                 apiFlags
}

func defineSearch(cmd *kingpin.CmdClause, c *cli) action {
	sf := &searchFlags{}
	cmd.Flag("order", "Order, vast CLI syntax: fields separated by commas, a trailing - for descending (default score-).").Short('o').StringVar(&sf.order)
	cmd.Flag("limit", "Maximum number of offers (0: the server's default).").Default("0").IntVar(&sf.limit)
	cmd.Flag("type", "Offer type: on-demand, bid (interruptible) or reserved.").Default("on-demand").HintOptions("on-demand", "bid", "reserved").StringVar(&sf.typ)
	cmd.Flag("storage", "Disk GB priced into dph_total.").Default(strconv.FormatFloat(policy.DefaultStorageGB, 'f', -1, 64)).Float64Var(&sf.storage)
	cmd.Flag("no-default", "No default filters (verified, rentable, not external).").Short('n').BoolVar(&sf.noDefaults)
	cmd.Flag("market", "Search this market of --config.file instead of a query.").PlaceHolder("NAME").StringVar(&sf.market)
	cmd.Flag("config.file", "Config file holding --market.").PlaceHolder("FILE").StringVar(&sf.cfgFile)
	cmd.Flag("output", "Output format: table, json or csv.").Default("table").HintOptions("table", "json", "csv").StringVar(&sf.output)
	cmd.Flag("print-query", "Print the JSON body that would be POSTed to /api/v0/bundles/ and exit.").BoolVar(&sf.printQuery)
	sf.api.define(cmd, false)
	cmd.Arg("query", "The vast CLI's search offers syntax, e.g. 'gpu_name=RTX_4090 num_gpus>=2'; flags may come before or after it.").StringsVar(&sf.words)
	return func(ctx context.Context) error { return runSearch(ctx, c, sf) }
}

func runSearch(ctx context.Context, c *cli, sf *searchFlags) error {
	if err := c.envOK(); err != nil {
		return err
	}
	switch sf.output {
	case "table", "json", "csv":
	default:
		return usageErr("--output %q; allowed: table, json or csv", sf.output)
	}
	q, warnings, err := searchQuery(c, sf)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(c.Stderr, w)
	}
	if sf.printQuery {
		b, err := q.MarshalJSON()
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "%s\n", b)
		return nil
	}
	client, err := sf.api.client(c, false)
	if err != nil {
		return err
	}
	return reachable(report.SearchOffers(ctx, client, q, c.Stdout, sf.output), client)
}

// searchQuery builds the wire query from a market of the config or from the query words, with
// the warnings to print first: the CLI's, or check's about the market.
func searchQuery(c *cli, sf *searchFlags) (vastapi.Query, []string, error) {
	if sf.market != "" {
		return marketQuery(c, sf)
	}
	if c.given["config.file"] {
		return vastapi.Query{}, nil, usageErr("--config.file is only used with --market")
	}
	q, warnings, err := policy.ParseQueryWarnings(strings.Join(sf.words, " "), policy.SearchOptions{
		Order: sf.order, Limit: sf.limit, Type: sf.typ, StorageGB: sf.storage, NoDefaults: sf.noDefaults,
	})
	if err != nil {
		// The vast CLI's own way of saying it, so a pasted query fails as it does there.
		for _, w := range warnings {
			fmt.Fprintln(c.Stderr, w)
		}
		fmt.Fprintf(c.Stderr, "Error: %v\n", err)
		return vastapi.Query{}, nil, reported(1)
	}
	return q, warnings, nil
}

// marketQuery is the query of --market in the config file.
func marketQuery(c *cli, sf *searchFlags) (vastapi.Query, []string, error) {
	for _, f := range []struct {
		name  string
		short byte
	}{{"order", 'o'}, {"limit", 0}, {"type", 0}, {"storage", 0}, {"no-default", 'n'}} {
		if c.given[f.name] {
			return vastapi.Query{}, nil, usageErr("%s cannot be combined with --market: the market's own order, limit, type and storage_gb apply", c.spelled(f.name, f.short))
		}
	}
	if len(sf.words) > 0 {
		return vastapi.Query{}, nil, usageErr("give either --market or a query, not both")
	}
	path := sf.cfgFile
	if path == "" {
		return vastapi.Query{}, nil, usageErr("--market needs --config.file")
	}
	cfg, err := policy.Load(path, c.Getenv)
	if err != nil {
		return vastapi.Query{}, nil, fmt.Errorf("%s:\n%w", path, err)
	}
	i := slices.IndexFunc(cfg.Markets, func(m *policy.Market) bool { return m.Name == sf.market })
	if i < 0 {
		names := make([]string, len(cfg.Markets))
		for i, x := range cfg.Markets {
			names[i] = x.Name
		}
		return vastapi.Query{}, nil, fmt.Errorf("no market %q in %s; markets: %s", sf.market, path, strings.Join(names, ", "))
	}
	var warnings []string
	for _, w := range cfg.Warnings {
		if strings.HasPrefix(w, fmt.Sprintf("markets[%d].", i)) {
			warnings = append(warnings, "warning: "+w)
		}
	}
	return cfg.Markets[i].Query, warnings, nil
}
