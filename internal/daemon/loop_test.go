package daemon

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Two markets' searches take 6 s of pacing each cycle: the polls must still start every
// poll_interval (15 s), as `vastwatch check` says they fit, not every 15 s plus the cycle.
func TestPollsStartAPollIntervalApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "config.yaml")
		cfg := "poll_interval: 15s\nowner: demo\nmarkets:\n" +
			"  - {name: a, query: \"num_gpus=1\", order: dph_total, limit: 20}\n" +
			"  - {name: b, query: \"num_gpus=2\", order: dph_total, limit: 20}\n"
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := New(Options{ConfigFile: path, StateDir: filepath.Join(dir, "state"), Clock: clock.Real{},
			PacingFactor: 1, PacingSet: true, Sim: SimOptions{Enabled: true, Seed: 3, Machines: 40, Credit: 100, Speed: 1}},
			policy.Env{}, newTestLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		stop, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.loop(stop, context.Background()); close(done) }()
		<-time.After(70 * time.Second)
		cancel()
		<-done
		var starts []time.Time
		for _, r := range d.sim.Requests() {
			if r.Endpoint == vastapi.EPCurrentUser {
				starts = append(starts, r.Time)
			}
		}
		if len(starts) < 4 {
			t.Fatalf("%d polls in 70 s", len(starts))
		}
		for i := 1; i < len(starts); i++ {
			if gap := starts[i].Sub(starts[i-1]); gap != 15*time.Second {
				t.Fatalf("poll %d came %s after the one before, want the poll interval 15s", i, gap)
			}
		}
	})
}
