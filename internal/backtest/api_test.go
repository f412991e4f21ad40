package backtest

import (
	"testing"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// TestReplayObservesWithoutJSON: the replay's API is not a StreamReader, so the observation
// takes every market's offers from the direct search, never a streamed JSON reply.
func TestReplayObservesWithoutJSON(t *testing.T) {
	clk := clock.NewFake(ScenarioStart)
	sim, err := vastsim.New(vastsim.Options{Seed: 1, Machines: 10, Clock: clk, APIKey: simKey})
	if err != nil {
		t.Fatal(err)
	}
	api, err := newSimAPI(sim, clk)
	if err != nil {
		t.Fatal(err)
	}
	var r scaler.Reader = api
	if _, ok := r.(scaler.StreamReader); ok {
		t.Fatal("the replay's API streams searches")
	}
}
