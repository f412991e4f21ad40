package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
)

// configHolder owns the running config. A reload (SIGHUP, POST /-/reload, or a change of the
// file's content) validates the new file completely before swapping it in atomically; a bad
// file keeps the running config and is reported through onResult.
type configHolder struct {
	path   string // "" = the embedded example (simulate mode): nothing to reload
	parse  func(data []byte, source string) (*policy.Config, error)
	logger *slog.Logger
	now    func() time.Time
	// onResult is called after every reload attempt, for vastwatch_config_last_reload_*.
	onResult func(ok bool, at time.Time, err error)

	cfg     atomic.Pointer[policy.Config]
	mu      sync.Mutex // serialises reloads
	sum     [32]byte   // content hash of the running file
	lastErr atomic.Pointer[string]
}

// load reads and validates the file (or embedded bytes) once at start.
func (h *configHolder) load(embedded []byte) error {
	data := embedded
	source := "embedded config.example.yaml"
	if h.path != "" {
		var err error
		if data, err = os.ReadFile(h.path); err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		source = h.path
	}
	cfg, err := h.parse(data, source)
	if err != nil {
		return err
	}
	h.cfg.Store(cfg)
	h.sum = sha256.Sum256(data)
	return nil
}

// current is the running config.
func (h *configHolder) current() *policy.Config { return h.cfg.Load() }

// reload re-reads the file. It returns the validation error when the new config is rejected.
func (h *configHolder) reload(reason string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := h.now()
	if h.path == "" {
		h.report(true, at, nil)
		return nil
	}
	data, err := os.ReadFile(h.path)
	if err == nil {
		var cfg *policy.Config
		if cfg, err = h.parse(data, h.path); err == nil {
			h.cfg.Store(cfg)
			h.sum = sha256.Sum256(data)
			h.logger.Info("config reloaded", "reason", reason, "file", h.path,
				"markets", len(cfg.Markets), "fleets", len(cfg.Fleets))
			for _, w := range cfg.Warnings {
				h.logger.Warn("config warning", "warning", w)
			}
			h.report(true, at, nil)
			return nil
		}
	}
	h.logger.Error("config reload failed; keeping the running config", "reason", reason, "file", h.path, "err", err)
	h.report(false, at, err)
	return err
}

func (h *configHolder) report(ok bool, at time.Time, err error) {
	if ok {
		h.lastErr.Store(nil)
	} else {
		s := err.Error()
		h.lastErr.Store(&s)
	}
	if h.onResult != nil {
		h.onResult(ok, at, err)
	}
}

// lastError is the last failed reload's message, "" after a good one.
func (h *configHolder) lastError() string {
	if p := h.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

// changed reports whether the file's content is new: different from the running config's
// (or equal to it after a failed reload) and not the content last seen. A still-broken file is
// therefore not retried every tick, but any new edit is.
func (h *configHolder) changed(lastSeen *[32]byte) bool {
	if h.path == "" {
		return false
	}
	data, err := os.ReadFile(h.path)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	h.mu.Lock()
	running := h.sum
	h.mu.Unlock()
	if bytes.Equal(sum[:], lastSeen[:]) {
		return false
	}
	// Content back to the running config's after a failed reload is a change too: reloading it
	// succeeds and clears the failure.
	if sum == running && h.lastError() == "" {
		return false
	}
	*lastSeen = sum
	return true
}

// watch reloads when the file's content changes, checking every interval, until ctx ends.
// Polling content (not mtime or inotify) also sees ConfigMap updates, which swap a symlink.
func (h *configHolder) watch(ctx context.Context, clk clock.Clock, interval time.Duration) {
	if h.path == "" {
		return
	}
	var lastSeen [32]byte
	t := clk.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if h.changed(&lastSeen) {
				_ = h.reload("file changed")
			}
			t.Reset(interval)
		}
	}
}
