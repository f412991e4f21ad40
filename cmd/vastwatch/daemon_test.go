package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// newTestDaemon builds the real daemon in simulate mode with cfgText, without serving HTTP.
func newTestDaemon(t *testing.T, cfgText string) *daemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	o := runOptions{configFile: path, stateDir: filepath.Join(dir, "state"), simulate: true,
		simSpeed: 1000, simSeed: 3, simMachines: 60, simCredit: 100, listen: "127.0.0.1:0",
		telemetryPath: "/metrics", startGrace: -1, pendingGrace: scaler.DefaultPendingGrace}
	env, err := policy.LoadEnv(context.Background(), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDaemon(o, env, IO{Getenv: envOf(nil)}, newTestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const watchOnlyConfig = `poll_interval: 15s
owner: demo
orphans: destroy
markets:
  - name: any
    query: "num_gpus>=1"
    order: "dph_total"
    limit: 100
`

// With no fleets vastwatch never calls a mutating endpoint, whatever the key allows — not even
// to destroy orphans that orphans: destroy would otherwise remove.
func TestNoFleetsNeverMutates(t *testing.T) {
	d := newTestDaemon(t, watchOnlyConfig)
	ctx := context.Background()
	offers, err := d.api.SearchOffers(ctx, vastapi.Query{Limit: 1})
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %v (%d offers)", err, len(offers))
	}
	// An instance of ours whose fleet is gone: an orphan that orphans: destroy targets.
	if _, err := d.api.CreateInstance(ctx, offers[0].ID, vastapi.CreateRequest{Image: "img", DiskGB: 10,
		Label: "vastwatch:demo:gone:0123456789ab"}); err != nil {
		t.Fatal(err)
	}
	before := len(d.sim.Requests())
	for range 3 {
		d.cycle(ctx)
	}
	reqs := d.sim.Requests()[before:]
	if len(reqs) < 9 {
		t.Fatalf("positive control: three cycles should have observed; %d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.Mutating {
			t.Fatalf("a watch-only daemon sent %s %s", r.Method, r.Endpoint)
		}
	}
	if !d.state.ready.Load() {
		t.Fatal("the watch-only daemon should be ready after a successful poll")
	}
	st := d.statusView()
	if st.Orphans != 1 {
		t.Fatalf("the orphan should be counted and shown, not destroyed: %d", st.Orphans)
	}
	body, err := renderStatus(st)
	if err != nil || !strings.Contains(string(body), "orphaned") {
		t.Fatalf("status page: %v", err)
	}
}
