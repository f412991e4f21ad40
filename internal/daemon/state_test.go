package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// Simulated money never mixes with real money (issue 16 item 9): a state dir remembers the API
// it belongs to and refuses another, either way round.
func TestAStateDirRefusesAnotherAPI(t *testing.T) {
	real := func(t *testing.T, dir string) (*Daemon, error) {
		sim, err := vastsim.New(vastsim.Options{Seed: 3, Machines: 20, Clock: clock.NewFake(testEpoch), APIKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(watchOnlyConfig), 0o600); err != nil {
			t.Fatal(err)
		}
		return New(Options{ConfigFile: path, StateDir: dir, APIURL: "https://vast.example/", Transport: sim.Transport(),
			Clock: clock.NewFake(testEpoch)}, policy.Env{APIKey: vastapi.NewSecret("k")}, newTestLogger(t))
	}
	simulated := func(t *testing.T, dir string) (*Daemon, error) {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(watchOnlyConfig), 0o600); err != nil {
			t.Fatal(err)
		}
		return New(Options{ConfigFile: path, StateDir: dir, Sim: SimOptions{Enabled: true, Speed: 1000, Seed: 3, Machines: 20},
			Clock: clock.NewFake(testEpoch)}, policy.Env{}, newTestLogger(t))
	}
	type open func(*testing.T, string) (*Daemon, error)
	for _, c := range []struct {
		name        string
		first, then open
		firstAPI    string
	}{
		{"a simulated run's state refuses the real API", simulated, real, "simulated seed=3"},
		{"a real run's state refuses the simulator", real, simulated, "https://vast.example"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if _, err := c.first(t, dir); err != nil {
				t.Fatal(err)
			}
			if _, err := c.first(t, dir); err != nil {
				t.Fatalf("the same API again: %v", err)
			}
			_, err := c.then(t, dir)
			if err == nil || !strings.Contains(err.Error(), c.firstAPI) || !strings.Contains(err.Error(), "--state.dir") {
				t.Fatalf("want a refusal naming %q and --state.dir, got %v", c.firstAPI, err)
			}
		})
	}
}

// Without a state dir a simulated run keeps its journal and spend book in a temporary
// directory, gone once it stops (issue 16 item 9).
func TestASimulatedRunWithoutAStateDirKeepsItsStateApart(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	d := newTestDaemonWith(t, discoveryConfig, func(o *Options) { o.StateDir = "" })
	dir := d.o.StateDir
	if dir == "" || filepath.Dir(dir) != tmp {
		t.Fatalf("simulated state dir %q, want a temporary directory in %s", dir, tmp)
	}
	d.Cycle(context.Background())
	if _, err := os.Stat(filepath.Join(dir, scaler.JournalFile)); err != nil {
		t.Fatalf("positive control: the simulated creates should be journalled there: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("the simulated state outlived the run: %v", left)
	}
}

// TestLeaseNamespaceDefaults: without --leader-elect.namespace the Lease (and the state
// ConfigMap beside it) lives in $POD_NAMESPACE, else in default.
func TestLeaseNamespaceDefaults(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "POD_NAMESPACE" {
				return v
			}
			return ""
		}
	}
	for _, c := range []struct{ given, pod, want string }{
		{"", "gpu", "gpu"}, {"", "", "default"}, {"ops", "gpu", "ops"},
	} {
		o := Options{Getenv: env(c.pod), Leader: LeaderOptions{Namespace: c.given}}.withDefaults()
		if o.Leader.Namespace != c.want {
			t.Errorf("namespace %q with POD_NAMESPACE %q: %q, want %q", c.given, c.pod, o.Leader.Namespace, c.want)
		}
	}
}
