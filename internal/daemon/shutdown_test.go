package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
)

// lockedBuffer is a log sink several goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A SIGTERM in the middle of a cycle (here between two paced searches) abandons it quietly: a
// clean shutdown logs no warning, and the last published view stays.
func TestAShutdownMidCycleLogsNoWarning(t *testing.T) {
	for _, cfgText := range []string{watchOnlyConfig, discoveryConfig} {
		synctest.Test(t, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.yaml")
			cfg := strings.Replace(cfgText, "    limit: 100\n", "    limit: 100\n  - {name: second, query: \"num_gpus=2\", limit: 10}\n", 1)
			cfg = strings.Replace(cfg, "    limit: 200\n", "    limit: 200\n  - {name: second, query: \"num_gpus=2\", limit: 10}\n", 1)
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs lockedBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			d, err := New(Options{ConfigFile: path, StateDir: filepath.Join(dir, "state"), Clock: clock.Real{}, StartGrace: -1,
				PacingFactor: 1, PacingSet: true, Sim: SimOptions{Enabled: true, Seed: 3, Machines: 40, Credit: 100, Speed: 1}},
				policy.Env{}, logger)
			if err != nil {
				t.Fatal(err)
			}
			d.Cycle(context.Background())
			before := d.last.load()
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-time.After(3 * time.Second); cancel() }()
			d.Cycle(ctx)
			if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
				t.Fatalf("a shutdown mid-cycle logged a warning:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), "cycle abandoned") {
				t.Fatalf("positive control: the second cycle was not cut short:\n%s", logs.String())
			}
			if d.last.load() != before {
				t.Fatal("an abandoned cycle replaced the published view")
			}
		})
	}
}
