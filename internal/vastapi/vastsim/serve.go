package vastsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve serves the simulated API over HTTP on ln until ctx ends, then shuts the server down,
// giving requests in flight up to five seconds. It is what `vastwatch sim` runs: unmodified
// Vast clients work against it when pointed at ln's address.
func (s *Sim) Serve(ctx context.Context, ln net.Listener) error {
	logger := s.opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	logger.Info("simulated Vast.ai API listening", "addr", ln.Addr().String(), "seed", s.opts.Seed,
		"offers", len(s.Offers()), "credit", s.opts.Credit, "speed", s.opts.Speed, "key_required", s.opts.APIKey != "")
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
