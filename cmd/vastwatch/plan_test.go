package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

func TestPlanPrintsActionsAndNeverMutates(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	sim, err := vastsim.New(vastsim.Options{Seed: 1, Clock: clk, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := vastapi.New(vastapi.Config{BaseURL: "http://sim", Key: vastapi.NewSecret("k"),
		HTTPClient: &http.Client{Transport: sim.Transport()}, Clock: clk, Pacing: map[string]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := policy.Parse(vastwatch.ExampleConfig, "", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := planOnce(context.Background(), IO{Stdout: &out, Stderr: &errb}, clk, c, cfg, scaler.DirStore(t.TempDir())); err != nil {
		t.Fatalf("plan: %v: %s", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{"fleet inference: target", "$/h 0.0000 -> ", "action create fleet=inference", "below_target", "[dry_run]"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	for _, r := range sim.Requests() {
		if r.Mutating {
			t.Fatalf("plan sent a mutating request: %s %s", r.Method, r.Endpoint)
		}
	}
}

func TestPlanShowsACorruptJournal(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, scaler.JournalFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	sim, err := vastsim.New(vastsim.Options{Seed: 1, Clock: clk, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := vastapi.New(vastapi.Config{BaseURL: "http://sim", Key: vastapi.NewSecret("k"),
		HTTPClient: &http.Client{Transport: sim.Transport()}, Clock: clk, Pacing: map[string]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := policy.Parse(vastwatch.ExampleConfig, "", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := planOnce(context.Background(), IO{Stdout: &out, Stderr: &errb}, clk, c, cfg, scaler.DirStore(dir)); err != nil {
		t.Fatalf("plan: %v: %s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "corrupt") || !strings.Contains(out.String(), "blocked: journal_error") {
		t.Fatalf("stderr %q\nstdout %s", errb.String(), out.String())
	}
}

func TestPlanFlags(t *testing.T) {
	var out, errb bytes.Buffer
	pio := IO{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := Main(context.Background(), pio, []string{"plan"}); code != 2 || !strings.Contains(errb.String(), "--config.file is required") {
		t.Fatalf("no config: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfgPath, vastwatch.ExampleConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := Main(context.Background(), pio, []string{"plan", "--config.file", cfgPath}); code != 1 || !strings.Contains(errb.String(), "VAST_API_KEY") {
		t.Fatalf("no key: exit %d, %q", code, errb.String())
	}
}
