package backtest

import (
	"context"
	"net/http"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// simAPI is the scaler's API onto one config's simulator. Reads are the simulator's direct
// ones: a poll's search, instance list and account as Go values, field for field what the REST
// API replies (vastsim's TestDirectMatchesHTTP), because encoding and decoding a 500-offer
// search as JSON each poll would be most of a month's replay. What the replay tests is the
// planner and the executor, not the decoder, which has its own tests and benchmark. Every
// mutation (create, destroy, stop, start, rebid) goes through the real client and the
// simulator's HTTP handlers, where the API's checks and replies live.
type simAPI struct {
	// API is the real client over the simulator's HTTP handlers, for everything but the reads
	// below. Embedded as the interface, so only the scaler's methods are promoted: not the
	// client's streamed search, which would take the observation back to JSON.
	scaler.API
	direct vastsim.Direct
	client *vastapi.Client
}

func newSimAPI(sim *vastsim.Sim, clk clock.Clock) (*simAPI, error) {
	cl, err := vastapi.New(vastapi.Config{BaseURL: "http://vastsim.backtest", Key: vastapi.NewSecret(simKey),
		HTTPClient: &http.Client{Transport: sim.Transport()}, Clock: clk, Pacing: map[string]time.Duration{}})
	if err != nil {
		return nil, err
	}
	return &simAPI{API: cl, direct: sim.Direct(), client: cl}, nil
}

// SearchOffers is the observation's search and the executor's re-check (one method serves
// both), read directly: both see the simulator's market at the clock.
func (a *simAPI) SearchOffers(ctx context.Context, q vastapi.Query) ([]vastapi.Offer, error) {
	return a.direct.SearchOffers(ctx, q)
}

func (a *simAPI) ListInstances(ctx context.Context) ([]vastapi.Instance, error) {
	return a.direct.ListInstances(ctx)
}

func (a *simAPI) CurrentUser(ctx context.Context) (vastapi.User, error) {
	return a.direct.CurrentUser(ctx)
}

var (
	_ scaler.API      = (*simAPI)(nil)
	_ scaler.Prober   = readyProber{}
	_ scaler.Notifier = ackNotifier{}
)

// readyProber passes every probe: a replayed instance is ready once it runs.
type readyProber struct{}

func (readyProber) Probe(context.Context, string, *policy.Readiness) error { return nil }

// ackNotifier answers every drain webhook with 2xx at once: no network in a replay.
type ackNotifier struct{}

func (ackNotifier) Notify(context.Context, string, []byte) error { return nil }

// simKey is the simulated account's key (it must differ from anything in the base URL).
const simKey = "replay-only-key"
