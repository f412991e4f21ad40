package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/exporter-toolkit/web"
)

// surface is what the HTTP endpoints read from the daemon.
type surface struct {
	metrics     http.Handler
	status      func() *statusView
	ready       func() bool
	reload      func(ctx context.Context) error
	quit        func()
	lifecycle   bool // --web.enable-lifecycle: POST /-/reload and /-/quit are served
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
	m.HandleFunc("/-/reload", s.lifecycleHandler("reload the config", "Reloaded", func(r *http.Request) error {
		if err := s.reload(r.Context()); err != nil {
			return fmt.Errorf("reload failed, running config kept:\n%w", err)
		}
		return nil
	}))
	m.HandleFunc("/-/quit", s.lifecycleHandler("shut down", "Requesting termination... Goodbye!", func(*http.Request) error {
		s.quit()
		return nil
	}))
	for p, h := range s.extraRoutes {
		m.Handle(p, h)
	}
	m.HandleFunc("/", serveStatus(s.status))
	return m
}

// lifecycleHandler serves an endpoint that changes the process as Prometheus serves its own:
// POST or PUT only (405 otherwise), and 403 unless --web.enable-lifecycle was given. SIGHUP and
// the file watch reload the config whatever the flag says.
func (s surface) lifecycleHandler(what, done string, do func(*http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "use POST to "+what, http.StatusMethodNotAllowed)
			return
		}
		if !s.lifecycle {
			http.Error(w, "Lifecycle API is not enabled: start vastwatch run with --web.enable-lifecycle (SIGHUP and a change of the file reload the config without it).", http.StatusForbidden)
			return
		}
		if err := do(r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, done)
	}
}

// httpServer serves the surface with exporter-toolkit (TLS, basic auth via --web.config.file)
// and timeouts, so a slow client cannot hold a connection forever.
type httpServer struct {
	srv *http.Server
	lns []net.Listener
}

// newHTTPServer opens every listener first, so a daemon that cannot bind one of them never
// starts cycling.
func newHTTPServer(addrs []string, systemd bool, h http.Handler, logger *slog.Logger) (*httpServer, error) {
	lns, err := listenAll(addrs, systemd)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return &httpServer{srv: srv, lns: lns}, nil
}

// listenAll opens systemd's socket-activated listeners, or one per address: host:port over TCP,
// vsock://:port over vsock, as exporter-toolkit's --web.listen-address reads them.
func listenAll(addrs []string, systemd bool) ([]net.Listener, error) {
	if systemd {
		lns, err := activation.Listeners()
		if err == nil && len(lns) == 0 {
			err = errors.New("no socket-activation file descriptors found")
		}
		if err != nil {
			return nil, fmt.Errorf("--web.systemd-socket: %w", err)
		}
		return lns, nil
	}
	if len(addrs) == 0 {
		return nil, errors.New("no --web.listen-address to serve on")
	}
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := listen(a)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w", a, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func listen(addr string) (net.Listener, error) {
	if !strings.HasPrefix(addr, "vsock://") {
		return net.Listen("tcp", addr)
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(u.Port(), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("vsock port %q: %w", u.Port(), err)
	}
	return vsock.Listen(uint32(port), nil)
}

// Addr is the bound addresses, comma-separated (useful with port 0).
func (s *httpServer) Addr() string {
	out := make([]string, len(s.lns))
	for i, ln := range s.lns {
		out[i] = ln.Addr().String()
	}
	return strings.Join(out, ",")
}

// serve blocks until Shutdown; webConfig "" serves plain HTTP.
func (s *httpServer) serve(webConfig string, logger *slog.Logger) error {
	addrs := strings.Split(s.Addr(), ",")
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &webConfig}
	err := web.ServeMultiple(s.lns, s.srv, flags, logger)
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
