package scaler

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
)

type demandFunc func(f *policy.Fleet) (float64, error)

func (fn demandFunc) ReadDemand(_ context.Context, f *policy.Fleet) (float64, error) { return fn(f) }

var _ DemandReader = demandFunc(nil)

func TestReadDemandKeepsTheLastGoodValue(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	before := now.Add(-time.Minute)
	cfg := &policy.Config{Fleets: []*policy.Fleet{
		{Name: "auto", Autoscale: &policy.Autoscale{Demand: &policy.Demand{Query: "q", PerInstance: 1, StaleAfter: time.Minute}}},
		{Name: "plain"},
	}}
	prev := map[string]Demand{"auto": {Value: 7, At: before}}
	cases := []struct {
		name    string
		read    DemandReader
		want    Demand
		wantErr bool
	}{
		{"a good value replaces the last", demandFunc(func(*policy.Fleet) (float64, error) { return 12, nil }), Demand{Value: 12, At: now}, false},
		{"an error keeps the last good value", demandFunc(func(*policy.Fleet) (float64, error) { return 0, errors.New("boom") }), Demand{Value: 7, At: before, Err: "boom"}, true},
		{"NaN is no value", demandFunc(func(*policy.Fleet) (float64, error) { return math.NaN(), nil }), Demand{Value: 7, At: before}, true},
		{"+Inf is no value", demandFunc(func(*policy.Fleet) (float64, error) { return math.Inf(1), nil }), Demand{Value: 7, At: before}, true},
		{"no reader is no value", nil, Demand{Value: 7, At: before}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := readDemand(context.Background(), c.read, now, cfg, prev)
			if _, ok := got["plain"]; ok || len(got) != 1 {
				t.Fatalf("only autoscaled fleets with a demand source are read: %v", got)
			}
			d := got["auto"]
			if d.Value != c.want.Value || !d.At.Equal(c.want.At) || (d.Err != "") != c.wantErr {
				t.Fatalf("got %+v, want %+v (error %v)", d, c.want, c.wantErr)
			}
			if c.want.Err != "" && d.Err != c.want.Err {
				t.Fatalf("error %q, want %q", d.Err, c.want.Err)
			}
		})
	}
}
