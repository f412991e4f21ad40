package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
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

func runSearch(ctx context.Context, pio IO, args []string) int {
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
				return 0
			}
			return 2
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
		fmt.Fprintf(pio.Stderr, "vastwatch search: --output %q; allowed: table, json or csv\n", sf.output)
		return 2
	}

	q, warnings, code := searchQuery(ctx, pio, sf, set, words)
	if code >= 0 {
		return code
	}
	for _, w := range warnings {
		fmt.Fprintln(pio.Stderr, w)
	}
	if sf.printQuery {
		b, err := q.MarshalJSON()
		if err != nil {
			fmt.Fprintf(pio.Stderr, "vastwatch search: %v\n", err)
			return 1
		}
		fmt.Fprintf(pio.Stdout, "%s\n", b)
		return 0
	}

	client, err := searchClient(ctx, pio, sf)
	if err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch search: %v\n", err)
		return 1
	}
	offers, err := client.SearchOffers(ctx, q)
	if err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch search: %v\n", err)
		return 1
	}
	storage := 0.0
	if q.AllocatedStorage.Valid {
		storage = q.AllocatedStorage.V
	}
	if err := writeOffers(pio.Stdout, sf.output, offers, storage); err != nil {
		fmt.Fprintf(pio.Stderr, "vastwatch search: %v\n", err)
		return 1
	}
	return 0
}

// searchQuery builds the wire query from a market of the config or from the query words. code
// is the exit code to return now, or -1 to go on.
func searchQuery(ctx context.Context, pio IO, sf searchFlags, set map[string]bool, words []string) (vastapi.Query, []string, int) {
	if sf.market != "" {
		for _, f := range []string{"o", "order", "limit", "type", "storage", "n", "no-default"} {
			if set[f] {
				dash := "--"
				if len(f) == 1 {
					dash = "-"
				}
				fmt.Fprintf(pio.Stderr, "vastwatch search: %s%s cannot be combined with --market: the market's own order, limit, type and storage_gb apply\n", dash, f)
				return vastapi.Query{}, nil, 2
			}
		}
		if len(words) > 0 {
			fmt.Fprintln(pio.Stderr, "vastwatch search: give either --market or a query, not both")
			return vastapi.Query{}, nil, 2
		}
		path := sf.cfgFile
		if path == "" {
			env, err := policy.LoadEnv(ctx, pio.Getenv)
			if err != nil {
				fmt.Fprintf(pio.Stderr, "vastwatch search: %v\n", err)
				return vastapi.Query{}, nil, 1
			}
			path = env.ConfigFile
		}
		if path == "" {
			fmt.Fprintln(pio.Stderr, "vastwatch search: --market needs --config.file")
			return vastapi.Query{}, nil, 2
		}
		cfg, err := policy.Load(path, pio.Getenv)
		if err != nil {
			fmt.Fprintf(pio.Stderr, "vastwatch search: %s:\n%v\n", path, err)
			return vastapi.Query{}, nil, 1
		}
		m := cfg.Market(sf.market)
		if m == nil {
			names := make([]string, len(cfg.Markets))
			for i, x := range cfg.Markets {
				names[i] = x.Name
			}
			fmt.Fprintf(pio.Stderr, "vastwatch search: no market %q in %s; markets: %s\n", sf.market, path, strings.Join(names, ", "))
			return vastapi.Query{}, nil, 1
		}
		return m.Query, nil, -1
	}
	if sf.cfgFile != "" {
		fmt.Fprintln(pio.Stderr, "vastwatch search: --config.file is only used with --market")
		return vastapi.Query{}, nil, 2
	}
	q, warnings, err := policy.ParseQueryWarnings(strings.Join(words, " "), policy.SearchOptions{
		Order: sf.order, Limit: sf.limit, Type: sf.typ, StorageGB: sf.storage, NoDefaults: sf.noDefaults,
	})
	if err != nil {
		for _, w := range warnings {
			fmt.Fprintln(pio.Stderr, w)
		}
		fmt.Fprintf(pio.Stderr, "Error: %v\n", err)
		return vastapi.Query{}, nil, 1
	}
	return q, warnings, -1
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
		base = "https://console.vast.ai"
	}
	return vastapi.New(vastapi.Config{BaseURL: base, Key: env.APIKey, Clock: clk, UserAgent: ua})
}

var offerHeader = []string{"id", "gpu", "n", "$/h", "$/gpu/h", "dlperf/$", "reliability", "location", "verified"}

func rowOf(o *vastapi.Offer) []string {
	perGPU := "-"
	if o.NumGPUs > 0 {
		perGPU = strconv.FormatFloat(o.DphTotal/float64(o.NumGPUs), 'f', 4, 64)
	}
	dlperfUSD := o.DLPerfPerDphTotal
	if dlperfUSD == 0 && o.DphTotal > 0 {
		dlperfUSD = o.DLPerf / o.DphTotal
	}
	loc := strings.TrimSpace(o.Geolocation.Or(""))
	if loc == "" {
		loc = "-"
	}
	verified := o.Verification
	if verified == "" {
		verified = "-"
	}
	return []string{
		strconv.FormatInt(o.ID, 10), o.GPUName, strconv.Itoa(o.NumGPUs),
		strconv.FormatFloat(o.DphTotal, 'f', 4, 64), perGPU,
		strconv.FormatFloat(dlperfUSD, 'f', 1, 64),
		strconv.FormatFloat(o.Reliability, 'f', 4, 64), loc, verified,
	}
}

// writeOffers prints offers in the order the API returned them. Prices are dph_total, which the
// API computed for the query's allocated_storage (storageGB).
func writeOffers(w io.Writer, format string, offers []vastapi.Offer, storageGB float64) error {
	switch format {
	case "json":
		if offers == nil {
			offers = []vastapi.Offer{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(offers)
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(offerHeader); err != nil {
			return err
		}
		for i := range offers {
			if err := cw.Write(rowOf(&offers[i])); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(offerHeader, "\t"))
	for i := range offers {
		fmt.Fprintln(tw, strings.Join(rowOf(&offers[i]), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d offer%s; prices include %g GB of storage\n", len(offers), plural(len(offers)), storageGB)
	return err
}
