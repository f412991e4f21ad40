package backtest

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressWithoutATerminal: not on a terminal (a pipe, a file, CI's log), the progress is a
// plain line at every tenth and one at the end, with no carriage return or escape.
func TestProgressWithoutATerminal(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	show := Progress(&buf, func() time.Time { now = now.Add(time.Second); return now })
	total := 30 * day
	for d := time.Duration(0); d < total; d += time.Hour {
		show(d, total)
	}
	show(total, total)
	show(total, total)
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 11 || strings.ContainsAny(out, "\r\x1b") {
		t.Fatalf("%d lines:\n%q", len(lines), out)
	}
	if !strings.HasPrefix(lines[0], "backtest:   0%, 0.0 of 30.0 days") || !strings.HasPrefix(lines[10], "backtest: 100%, 30.0 of 30.0 days") {
		t.Errorf("first and last lines: %q, %q", lines[0], lines[10])
	}
}
