package demand_test

import (
	"context"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/config"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/demand"
	"github.com/vastwatch/vastwatch/internal/demand/promtest"
	"github.com/vastwatch/vastwatch/internal/policy"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func fleetOn(url string, hc config.HTTPClientConfig) *policy.Fleet {
	return &policy.Fleet{Name: "llm", Autoscale: &policy.Autoscale{Demand: &policy.Demand{
		URL: policy.SecretValue(url), HTTP: hc, Query: `sum(vllm:num_requests_waiting{job="llm"})`,
		PerInstance: 10, StaleAfter: 5 * time.Minute}}}
}

func TestReadDemandTakesExactlyOneFiniteSample(t *testing.T) {
	prom := promtest.New()
	defer prom.Close()
	r := demand.New(clock.NewFake(t0), time.Second)
	f := fleetOn(prom.URL, config.DefaultHTTPClientConfig)
	cases := []struct {
		name    string
		set     func()
		want    float64
		wantErr string
	}{
		{"a scalar", func() { prom.SetScalar(35) }, 35, ""},
		{"a vector of one sample", func() { prom.SetVector(12.5) }, 12.5, ""},
		{"an empty vector", func() { prom.SetVector() }, 0, "gave 0 samples; want exactly one"},
		{"a vector of several samples", func() { prom.SetVector(1, 2) }, 0, "gave 2 samples; want exactly one"},
		{"a range vector", func() { prom.SetMatrix() }, 0, "gave a matrix; want a scalar or a vector of one sample"},
		{"NaN", func() { prom.SetScalar(math.NaN()) }, 0, "gave NaN, not a number of anything"},
		{"+Inf", func() { prom.SetVector(math.Inf(1)) }, 0, "gave +Inf, not a number of anything"},
		{"an error from Prometheus", func() { prom.Fail(http.StatusUnprocessableEntity) }, 0, "query prometheus:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.set()
			got, err := r.ReadDemand(context.Background(), f)
			switch {
			case c.wantErr == "" && (err != nil || got != c.want):
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, c.wantErr)
			}
		})
	}
	if q := prom.Queries(); len(q) != len(cases) || q[0] != f.Autoscale.Demand.Query {
		t.Fatalf("queries asked %q", q)
	}
}

// http_config is Prometheus' own: its authorization reaches the server.
func TestReadDemandUsesTheHTTPConfig(t *testing.T) {
	prom := promtest.New()
	defer prom.Close()
	prom.RequireAuth("Bearer tok-123")
	prom.SetScalar(7)
	r := demand.New(clock.NewFake(t0), time.Second)
	if _, err := r.ReadDemand(context.Background(), fleetOn(prom.URL, config.DefaultHTTPClientConfig)); err == nil {
		t.Fatal("positive control: without the token the server refuses")
	}
	hc := config.DefaultHTTPClientConfig
	hc.Authorization = &config.Authorization{Type: "Bearer", Credentials: "tok-123"}
	if got, err := r.ReadDemand(context.Background(), fleetOn(prom.URL, hc)); err != nil || got != 7 {
		t.Fatalf("with the token: %v, %v", got, err)
	}
}

// The server URL may carry a password or a token; neither is ever in an error.
func TestReadDemandErrorsHoldNoSecretOfTheURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r := demand.New(clock.NewFake(t0), time.Second)
	url := "http://admin:pa55word-canary@" + addr + "/prom?token=tok-canary"
	_, err = r.ReadDemand(context.Background(), fleetOn(url, config.DefaultHTTPClientConfig))
	if err == nil {
		t.Fatal("a closed port answered")
	}
	for _, secret := range []string{"pa55word-canary", "tok-canary", "admin:"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q holds %q", err, secret)
		}
	}
}

// A black-holed Prometheus cannot stretch a cycle: the query gives up after the timeout.
func TestReadDemandIsBounded(t *testing.T) {
	hold := make(chan struct{})
	srv := promtest.New()
	defer srv.Close()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	})
	defer close(hold)
	r := demand.New(clock.Real{}, 200*time.Millisecond)
	done := make(chan error, 1)
	go func() {
		_, err := r.ReadDemand(context.Background(), fleetOn(srv.URL, config.DefaultHTTPClientConfig))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a server that never answers gave a value")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the query was not bounded by its timeout")
	}
}
