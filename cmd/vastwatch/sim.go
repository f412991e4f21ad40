package main

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

func defineSim(cmd *kingpin.CmdClause, c *cli) action {
	var opts vastsim.Options
	listen := cmd.Flag("listen", "Address to serve the simulated API on.").Default("127.0.0.1:8181").String()
	cmd.Flag("seed", "Market seed: the same seed gives the same market.").Default("1").Int64Var(&opts.Seed)
	cmd.Flag("api-key", "The key clients must present (default $VAST_API_KEY; empty accepts any key).").PlaceHolder("KEY").StringVar(&opts.APIKey)
	cmd.Flag("machines", "Generated machines, about 4-5 offers each.").Default("300").IntVar(&opts.Machines)
	cmd.Flag("credit", "Starting credit in $.").Default("100").Float64Var(&opts.Credit)
	cmd.Flag("speed", "1 or more: shortens boot and drift delays and multiplies billing; timestamps stay real.").Default("1").Float64Var(&opts.Speed)
	cmd.Flag("public-ip", "Address every running instance reports, e.g. 127.0.0.1 to probe local servers (default: one made up per machine).").PlaceHolder("IP").StringVar(&opts.PublicIPAddr)
	catalogue := cmd.Flag("catalogue", "Serve the offers of this JSON file (an array, or {\"offers\":[...]}) instead of a generated market.").PlaceHolder("FILE").String()
	return func(ctx context.Context) error { return runSim(ctx, c, opts, *listen, *catalogue) }
}

// runSim serves a simulated market on the real clock until ctx ends. Unmodified Vast clients
// work against it: point VAST_URL (or vastwatch's --api.url) at http://ADDR.
func runSim(ctx context.Context, c *cli, opts vastsim.Options, listen, catalogue string) error {
	logger := promslog.New(&c.log)
	if opts.APIKey == "" {
		opts.APIKey = c.Getenv("VAST_API_KEY")
	}
	opts.Clock, opts.Logger = clock.Real{}, logger.With("component", "vastsim")
	var err error
	if catalogue != "" {
		if opts.Catalogue, err = readCatalogue(catalogue); err != nil {
			return err
		}
	}
	sim, err := vastsim.New(opts)
	if err != nil {
		return usageErr("%v", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(c.Stderr, "vastwatch sim: listening on http://%s\n", ln.Addr())
	return sim.Serve(ctx, ln)
}

// readCatalogue reads the offers of --catalogue.
func readCatalogue(path string) ([]vastapi.Offer, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		var offers []vastapi.Offer
		if offers, err = vastsim.ParseCatalogue(b); err == nil {
			return offers, nil
		}
	}
	return nil, fmt.Errorf("catalogue %s: %w", path, err)
}
