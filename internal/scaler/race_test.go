//go:build race

package scaler_test

// raceEnabled shortens the chaos test under the race detector, which slows the simulator's
// JSON round trips about fivefold; the full 2,000 cycles run in a plain `go test`.
const raceEnabled = true
