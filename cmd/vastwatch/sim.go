package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

func init() {
	register(&command{name: "sim", summary: "serve the simulated Vast.ai REST API on a port", run: runSim})
}

// runSim serves a simulated market on the real clock until ctx ends. Unmodified Vast clients
// work against it: point VAST_URL (or vastwatch's VASTWATCH_API_URL) at http://ADDR.
func runSim(ctx context.Context, pio IO, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(pio.Stderr)
	listen := fs.String("listen", "127.0.0.1:8181", "address to serve the simulated API on")
	seed := fs.Int64("seed", 1, "market seed: the same seed gives the same market")
	apiKey := fs.String("api-key", "", "the key clients must present (default $VAST_API_KEY; empty accepts any key)")
	machines := fs.Int("machines", 300, "generated machines (about 4-5 offers each)")
	credit := fs.Float64("credit", 100, "starting credit in dollars")
	speed := fs.Float64("speed", 1, "≥1: shortens boot and drift delays and multiplies billing; timestamps stay real")
	catalogue := fs.String("catalogue", "", "serve the offers of this JSON file (an array, or {\"offers\":[...]}) instead of a generated market")
	logLevel := fs.String("log.level", "info", "debug|info|warn|error")
	logFormat := fs.String("log.format", "logfmt", "logfmt|json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(pio.Stderr, *logLevel, *logFormat)
	if err != nil {
		return usageErr("%v", err)
	}
	key := *apiKey
	if key == "" {
		key = pio.Getenv("VAST_API_KEY")
	}
	opts := vastsim.Options{
		Seed: *seed, Machines: *machines, Clock: clock.Real{}, APIKey: key,
		Credit: *credit, Speed: *speed, Logger: logger.With("component", "vastsim"),
	}
	if *catalogue != "" {
		if opts.Catalogue, err = readCatalogue(*catalogue); err != nil {
			return err
		}
	}
	sim, err := vastsim.New(opts)
	if err != nil {
		return usageErr("%v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serveSim(ctx, pio, logger, sim, ln, opts)
}

// serveSim serves sim on ln until ctx ends.
func serveSim(ctx context.Context, pio IO, logger *slog.Logger, sim *vastsim.Sim, ln net.Listener, opts vastsim.Options) error {
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	logger.Info("simulated Vast.ai API listening", "addr", ln.Addr().String(), "seed", opts.Seed,
		"offers", len(sim.Offers()), "credit", opts.Credit, "speed", opts.Speed, "key_required", opts.APIKey != "")
	fmt.Fprintf(pio.Stderr, "vastwatch sim: listening on http://%s\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shctx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("simulator stopped")
	return nil
}

// readCatalogue reads offers from a search reply ({"offers":[...]}) or the CLI's --raw array.
func readCatalogue(path string) ([]vastapi.Offer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read catalogue: %w", err)
	}
	var offers []vastapi.Offer
	if err := json.Unmarshal(b, &offers); err != nil {
		var wrapped struct {
			Offers []vastapi.Offer `json:"offers"`
		}
		if err2 := json.Unmarshal(b, &wrapped); err2 != nil || wrapped.Offers == nil {
			return nil, fmt.Errorf("catalogue %s: want a JSON array of offers or {\"offers\": [...]}: %w", path, err)
		}
		offers = wrapped.Offers
	}
	if len(offers) == 0 {
		return nil, fmt.Errorf("catalogue %s holds no offers", path)
	}
	return offers, nil
}
