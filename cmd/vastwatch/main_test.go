package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestVersionAndUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	pio := IO{Stdout: &out, Stderr: &errb}
	if code := Main(context.Background(), pio, []string{"version"}); code != 0 {
		t.Fatalf("version exit %d", code)
	}
	if !strings.HasPrefix(out.String(), "vastwatch ") {
		t.Fatalf("version output %q", out.String())
	}
	if code := Main(context.Background(), pio, []string{"nope"}); code != 2 {
		t.Fatalf("unknown command exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Fatalf("stderr %q", errb.String())
	}
}
