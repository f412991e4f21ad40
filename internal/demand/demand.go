// Package demand owns reading autoscaled fleets' demand from Prometheus (docs/design.md §8):
// one instant query per fleet and poll through client_golang's api package, over the HTTP
// client that Prometheus' own http_config (prometheus/common/config) builds. A result that is
// not exactly one finite sample is an error, which the scaler treats as "no value".
//
// It only reads. It keeps no last good value (the scaler does, to hold it for stale_after), and
// it never lets the server URL's secrets (a password, a token in the query string) into an
// error.
package demand

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// DefaultTimeout bounds one demand query, so a black-holed Prometheus cannot stretch a cycle.
const DefaultTimeout = 10 * time.Second

// Reader asks each fleet's Prometheus for its demand. It builds a fleet's client once per
// config (a reload with a new demand section builds it again) and is safe for concurrent use.
type Reader struct {
	clk     clock.Clock
	timeout time.Duration

	mu      sync.Mutex
	clients map[string]*fleetClient // by fleet name
}

// fleetClient is the query API of one fleet's demand section.
type fleetClient struct {
	demand *policy.Demand // the section it was built for
	api    v1.API
	scrub  *strings.Replacer
	err    error // the client could not be built from the section
}

var _ scaler.DemandReader = (*Reader)(nil)

// New returns a Reader on clk whose queries each take at most timeout (0: DefaultTimeout).
func New(clk clock.Clock, timeout time.Duration) *Reader {
	if clk == nil {
		clk = clock.Real{}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Reader{clk: clk, timeout: timeout, clients: map[string]*fleetClient{}}
}

// ReadDemand runs the fleet's demand query at the reader's now and returns its one sample.
func (r *Reader) ReadDemand(ctx context.Context, f *policy.Fleet) (float64, error) {
	if f.Autoscale == nil || f.Autoscale.Demand == nil {
		return 0, errors.New("the fleet has no demand source")
	}
	c := r.client(f.Name, f.Autoscale.Demand)
	if c.err != nil {
		return 0, c.err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	v, _, _, err := c.api.Query(ctx, f.Autoscale.Demand.Query, r.clk.Now(), v1.WithTimeout(r.timeout))
	if err != nil {
		return 0, fmt.Errorf("query prometheus: %s", c.scrub.Replace(err.Error()))
	}
	x, err := oneSample(v)
	if err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
		err = fmt.Errorf("the query gave %v, not a number of anything", x)
	}
	return x, err
}

// client is the fleet's client for demand section d, built on first use and again when the
// section changed.
func (r *Reader) client(fleet string, d *policy.Demand) *fleetClient {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[fleet]; ok && c.demand == d {
		return c
	}
	c := newFleetClient(d)
	r.clients[fleet] = c
	return c
}

func newFleetClient(d *policy.Demand) *fleetClient {
	raw := d.URL.Reveal()
	c := &fleetClient{demand: d, scrub: scrubber(raw)}
	hc, err := config.NewClientFromConfig(d.HTTP, "vastwatch_demand")
	if err != nil {
		c.err = fmt.Errorf("prometheus http_config: %s", c.scrub.Replace(err.Error()))
		return c
	}
	ac, err := api.NewClient(api.Config{Address: raw, Client: hc})
	if err != nil {
		c.err = fmt.Errorf("prometheus url: %s", c.scrub.Replace(err.Error()))
		return c
	}
	c.api = v1.NewAPI(ac)
	return c
}

// oneSample is the value of a result that is exactly one sample: a scalar, or a vector of one.
func oneSample(v model.Value) (float64, error) {
	switch r := v.(type) {
	case *model.Scalar:
		return float64(r.Value), nil
	case model.Vector:
		if len(r) != 1 {
			return 0, fmt.Errorf("the query gave %d samples; want exactly one (aggregate it, e.g. with sum())", len(r))
		}
		return float64(r[0].Value), nil
	case nil:
		return 0, errors.New("the query gave no result")
	}
	return 0, fmt.Errorf("the query gave a %s; want a scalar or a vector of one sample", v.Type())
}

// scrubber replaces the URL's secrets in error text: its password, user name and query values,
// and the whole URL as written.
func scrubber(raw string) *strings.Replacer {
	var pairs []string
	add := func(s string) {
		if len(s) >= 3 {
			pairs = append(pairs, s, "<redacted>")
		}
	}
	add(raw)
	if u, err := url.Parse(raw); err == nil {
		if u.User != nil {
			add(u.User.String())
			add(u.User.Username())
			if p, ok := u.User.Password(); ok {
				add(p)
				add(url.QueryEscape(p))
			}
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
				add(url.QueryEscape(v))
			}
		}
	}
	return strings.NewReplacer(pairs...)
}
