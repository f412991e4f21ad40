package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/scaler"
)

func envOf(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestRunRefusesToStartWithoutKeyOrSimulate(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), IO{Stdout: &out, Stderr: &errb, Getenv: envOf(nil)}, []string{"run"})
	if code == 0 {
		t.Fatal("run without an API key and without --simulate must fail")
	}
	msg := strings.TrimSpace(errb.String())
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "VAST_API_KEY") || !strings.Contains(msg, "--simulate") {
		t.Fatalf("want one line naming VAST_API_KEY and --simulate, got %q", msg)
	}
}

func TestRunAgainstTheRealAPIRequiresAConfigFile(t *testing.T) {
	var errb bytes.Buffer
	code := Main(context.Background(), IO{Stdout: &bytes.Buffer{}, Stderr: &errb,
		Getenv: envOf(map[string]string{"VAST_API_KEY": "k-123"})}, []string{"run"})
	if code == 0 || !strings.Contains(errb.String(), "--config.file is required") {
		t.Fatalf("code %d stderr %q", code, errb.String())
	}
	if strings.Contains(errb.String(), "k-123") {
		t.Fatal("the key was echoed")
	}
}

func TestRunRejectsBadLogFlags(t *testing.T) {
	var errb bytes.Buffer
	code := Main(context.Background(), IO{Stdout: &bytes.Buffer{}, Stderr: &errb, Getenv: envOf(nil)},
		[]string{"run", "--simulate", "--log.format", "xml"})
	if code == 0 || !strings.Contains(errb.String(), "--log.format") {
		t.Fatalf("code %d stderr %q", code, errb.String())
	}
}

// run --simulate without --state.dir keeps the simulated month's journal and spend book out of
// ./data, the real runs' default, in a temporary directory removed at exit; plan --simulate
// reads no state of the real API's either (issue 16 item 9).
func TestSimulatedRunsLeaveTheStateDirAlone(t *testing.T) {
	work, tmp := t.TempDir(), t.TempDir()
	t.Chdir(work)
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // start, then stop at once
	var errb bytes.Buffer
	code := Main(ctx, IO{Stdout: &bytes.Buffer{}, Stderr: &errb, Getenv: envOf(nil)},
		[]string{"run", "--simulate", "--web.listen-address=127.0.0.1:0", "--log.level=error"})
	if code != 0 {
		t.Fatalf("run --simulate: exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(work, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("run --simulate wrote the real runs' ./data: %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("the simulated state outlived the run: %v", left)
	}
	// A real run's state dir is not read by plan --simulate, nor by a real plan of another API.
	if _, err := scaler.BindStateDir(filepath.Join(work, "data"), "https://console.vast.ai"); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runMain(t, nil, "plan", "--simulate", "--state.dir=data"); code == 0 || !strings.Contains(errs, "belongs to https://console.vast.ai") {
		t.Fatalf("plan --simulate over a real state dir: exit %d: %s", code, errs)
	}
}
