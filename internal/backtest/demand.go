package backtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// Shapes are the named demand shapes, in instances between a fleet's size.min (at least 1) and
// size.max, times its per_instance (docs/backtest.md "Demand"):
//   - diurnal: a day's wave, lowest at 04:00 UTC and highest at 16:00;
//   - weekly: size.max on weekdays from 08:00 to 18:00 UTC, size.min otherwise;
//   - steady: halfway between, all the time.
var Shapes = []string{"diurnal", "weekly", "steady"}

// DemandSeries is a demand series: the value at a time is the last point's at or before it.
type DemandSeries struct {
	// Shape is one of Shapes; else Points hold the series.
	Shape  string
	Points []DemandPoint
	Source string // the file or shape named on the command line
}

// DemandPoint is one row of a demand file.
type DemandPoint struct {
	At    time.Time
	Value float64
}

// ParseDemand reads --demand's value: a shape's name, or a CSV file of time,value rows (time
// in RFC 3339 or Unix seconds, rising; an optional header row).
func ParseDemand(spec string) (DemandSeries, error) {
	if slices.Contains(Shapes, spec) {
		return DemandSeries{Shape: spec, Source: spec}, nil
	}
	f, err := os.Open(spec)
	if err != nil {
		return DemandSeries{}, fmt.Errorf("demand %q is neither a shape (%s) nor a readable file: %w", spec, strings.Join(Shapes, ", "), err)
	}
	defer f.Close()
	pts, err := readCSV(f)
	if err != nil {
		return DemandSeries{}, fmt.Errorf("demand file %s: %w", spec, err)
	}
	return DemandSeries{Points: pts, Source: spec}, nil
}

func readCSV(r io.Reader) ([]DemandPoint, error) {
	var pts []DemandPoint
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ts, vs, ok := strings.Cut(line, ",")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not time,value", n, line)
		}
		at, terr := parseTime(strings.TrimSpace(ts))
		v, verr := strconv.ParseFloat(strings.TrimSpace(vs), 64)
		if terr != nil && n == 1 && len(pts) == 0 {
			continue // a header
		}
		switch {
		case terr != nil:
			return nil, fmt.Errorf("line %d: %w", n, terr)
		case verr != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0:
			return nil, fmt.Errorf("line %d: value %q is not a number ≥ 0", n, vs)
		case len(pts) > 0 && !at.After(pts[len(pts)-1].At):
			return nil, fmt.Errorf("line %d: %s is not after the row before", n, at.Format(time.RFC3339))
		}
		pts = append(pts, DemandPoint{At: at, Value: v})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(pts) == 0 {
		return nil, errors.New("no rows")
	}
	return pts, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if sec, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(sec) && !math.IsInf(sec, 0) {
		return time.Unix(0, int64(sec*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("time %q is neither RFC 3339 nor Unix seconds", s)
}

// at is the series' value for f at t.
func (s DemandSeries) at(f *policy.Fleet, t time.Time) (float64, error) {
	lo, hi := float64(max(f.Min, 1)), float64(max(f.Max, f.Min, 1))
	per := 1.0
	if f.Autoscale != nil && f.Autoscale.Demand != nil {
		per = f.Autoscale.Demand.PerInstance
	}
	t = t.UTC()
	switch s.Shape {
	case "diurnal":
		h := float64(t.Hour()) + float64(t.Minute())/60
		return per * (lo + (hi-lo)*(1-math.Cos(2*math.Pi*(h-4)/24))/2), nil
	case "weekly":
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday && t.Hour() >= 8 && t.Hour() < 18 {
			return per * hi, nil
		}
		return per * lo, nil
	case "steady":
		return per * (lo + hi) / 2, nil
	}
	i, found := slices.BinarySearchFunc(s.Points, t, func(p DemandPoint, t time.Time) int { return p.At.Compare(t) })
	if !found {
		i--
	}
	if i < 0 {
		return 0, fmt.Errorf("demand series %s starts at %s", s.Source, s.Points[0].At.Format(time.RFC3339))
	}
	return s.Points[i].Value, nil
}

// demandReader reads each fleet's series at the replay's clock.
type demandReader struct {
	clk    clock.Clock
	series map[string]DemandSeries
}

func (d demandReader) ReadDemand(_ context.Context, f *policy.Fleet) (float64, error) {
	s, ok := d.series[f.Name]
	if !ok {
		return 0, fmt.Errorf("no demand series for fleet %s", f.Name)
	}
	return s.at(f, d.clk.Now())
}

var _ scaler.DemandReader = demandReader{}
