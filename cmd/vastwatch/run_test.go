package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
