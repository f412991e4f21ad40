package scaler_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), substr)
}

// A fleet holding at target decides the same thing every poll: it is logged once at Info, and
// again only when it changes. Every decision is still counted.
func TestAnUnchangedDecisionIsLoggedOnce(t *testing.T) {
	var logs syncBuffer
	counted := 0
	f := testFleet("web", simMarket(t), simSized(2))
	w := newWorld(t, 4, simConfig(f), func(_ *vastsim.Options, o *scaler.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		o.OnDecision = func(scaler.Decision) { counted++ }
	})
	w.settle("web", 2)
	const atTarget = "level=INFO msg=decision fleet=web decision=hold reason=at_target"
	before, countedBefore := logs.lines(atTarget), counted
	for range 5 {
		w.mustStep()
	}
	if got := logs.lines(atTarget) - before; got != 0 {
		t.Fatalf("5 more polls at target logged %d more Info lines; the decision did not change", got)
	}
	if logs.lines(atTarget) != 1 {
		t.Fatalf("holding at target logged %d times at Info, want once", logs.lines(atTarget))
	}
	if counted-countedBefore != 5 {
		t.Fatalf("%d decisions counted in 5 polls, want every one", counted-countedBefore)
	}
	w.cfg.Fleets[0].Target = 1
	w.mustStep()
	if logs.lines("level=INFO msg=decision fleet=web decision=scale_down") != 1 {
		t.Fatal("a changed decision is logged at Info")
	}
}
