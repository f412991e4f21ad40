package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
)

// surface is what the HTTP endpoints read from the daemon.
type surface struct {
	metrics     http.Handler
	status      func() *statusView
	ready       func() bool
	reload      func(ctx context.Context) error
	telemetry   string
	extraRoutes map[string]http.Handler
}

func (s surface) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle(s.telemetry, s.metrics)
	m.HandleFunc("/-/healthy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "Healthy")
	})
	m.HandleFunc("/-/ready", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintln(w, "Not ready: no successful poll yet")
			return
		}
		_, _ = fmt.Fprintln(w, "Ready")
	})
	m.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "use POST to reload the config", http.StatusMethodNotAllowed)
			return
		}
		if err := s.reload(r.Context()); err != nil {
			http.Error(w, "reload failed, running config kept:\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = fmt.Fprintln(w, "Reloaded")
	})
	for p, h := range s.extraRoutes {
		m.Handle(p, h)
	}
	m.HandleFunc("/", serveStatus(s.status))
	return m
}

// httpServer serves the surface with exporter-toolkit (TLS, basic auth via --web.config.file)
// and timeouts, so a slow client cannot hold a connection forever.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

func newHTTPServer(addr string, h http.Handler, logger *slog.Logger) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return &httpServer{srv: srv, ln: ln}, nil
}

// Addr is the bound address (useful with port 0).
func (s *httpServer) Addr() string { return s.ln.Addr().String() }

// serve blocks until Shutdown; webConfig "" serves plain HTTP.
func (s *httpServer) serve(webConfig string, logger *slog.Logger) error {
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &[]string{s.ln.Addr().String()}, WebSystemdSocket: &systemd, WebConfigFile: &webConfig}
	err := web.Serve(s.ln, s.srv, flags, logger)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *httpServer) shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
