package scaler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// DemandReader reads one fleet's demand: the one sample of its demand query (docs/design.md
// §8). It only reads; internal/demand asks Prometheus, tests pass fakes. An error, or a value
// that is not a finite number, is "no value".
type DemandReader interface {
	ReadDemand(ctx context.Context, f *policy.Fleet) (float64, error)
}

// Demand is a fleet's demand as the planner sees it: the last good value and when it was
// read, and why the latest read gave none.
type Demand struct {
	Value float64
	At    time.Time // when Value was read; zero: never a good value
	Err   string    // "" when this cycle's read was good
}

// Stale reports whether the last good value is missing or older than staleAfter at now.
func (d Demand) Stale(now time.Time, staleAfter time.Duration) bool {
	return d.At.IsZero() || now.Sub(d.At) > staleAfter
}

// errNoDemandReader is the demand of a fleet that has a demand source when nothing reads it.
var errNoDemandReader = errors.New("no demand reader")

// readDemand reads every autoscaled fleet's demand for this cycle. A read that gives no value
// keeps the last good value (prev) with its time, and says why: the planner holds it for the
// fleet's stale_after, then falls back.
func readDemand(ctx context.Context, r DemandReader, now time.Time, cfg *policy.Config, prev map[string]Demand) map[string]Demand {
	var out map[string]Demand
	for _, f := range cfg.Fleets {
		if f.Autoscale == nil || f.Autoscale.Demand == nil {
			continue
		}
		if out == nil {
			out = make(map[string]Demand)
		}
		d := prev[f.Name]
		var value float64
		err := errNoDemandReader
		if r != nil {
			value, err = r.ReadDemand(ctx, f)
		}
		switch {
		case err != nil:
			d.Err = err.Error()
		case math.IsNaN(value) || math.IsInf(value, 0):
			d.Err = fmt.Sprintf("the query gave %v, not a number of anything", value)
		default:
			d = Demand{Value: value, At: now}
		}
		out[f.Name] = d
	}
	return out
}
