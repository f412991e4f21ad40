package daemon

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// DefaultMemoryLimit is the daemon's soft memory limit (runtime/debug.SetMemoryLimit) unless
// GOMEMLIMIT or --runtime.memory-limit says otherwise. Left to GOGC alone, Go lets the heap grow
// to twice what was live at the last collection and hands freed pages back slowly, so a poll
// that decodes a 5,000-offer market briefly doubles the daemon's memory and the process keeps
// that peak. The limit makes Go collect and return memory before it grows past it. It is sized
// for docs/design.md §11 (peak RSS ≤ 50 MB with 5,000 offers): the binary's own pages take about 24 MB
// of that. A larger market needs a larger limit: past it Go collects more often, never with
// more than half the CPU, and the poll takes longer.
const DefaultMemoryLimit = "22MiB"

// parseMemoryLimit reads a limit in GOMEMLIMIT's form (a byte count with an optional B, KiB,
// MiB, GiB or TiB suffix), or "off" or 0 for none.
func parseMemoryLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return math.MaxInt64, nil
	}
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("memory limit %q: want a byte count with an optional B, KiB, MiB, GiB or TiB suffix, or off", s)
	}
	if n == 0 {
		return math.MaxInt64, nil
	}
	return n * mult, nil
}

// ApplyMemoryLimit sets the soft memory limit from flag unless GOMEMLIMIT is set, which the Go
// runtime has applied already and which wins. It returns a func restoring the previous limit.
func ApplyMemoryLimit(flag string, flagSet bool, getenv func(string) string, logger *slog.Logger) (func(), error) {
	if env := getenv("GOMEMLIMIT"); env != "" {
		if flagSet {
			logger.Warn("GOMEMLIMIT is set and wins over --runtime.memory-limit", "GOMEMLIMIT", env)
		}
		return func() {}, nil
	}
	limit, err := parseMemoryLimit(flag)
	if err != nil {
		return nil, fmt.Errorf("--runtime.memory-limit: %w", err)
	}
	prev := debug.SetMemoryLimit(limit)
	return func() { debug.SetMemoryLimit(prev) }, nil
}
