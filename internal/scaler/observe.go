package scaler

import (
	"context"
	"fmt"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Reader is the read side of the API an observation needs; *vastapi.Client satisfies it.
type Reader interface {
	SearchOffers(ctx context.Context, q vastapi.Query) ([]vastapi.Offer, error)
	ListInstances(ctx context.Context) ([]vastapi.Instance, error)
	CurrentUser(ctx context.Context) (vastapi.User, error)
}

// Observation is everything one cycle knows about the world (spec.md §5.4): the offers of each
// market, re-checked locally, the account's instances and the account. The metrics and the
// planner share it; there is never a second one in a cycle.
type Observation struct {
	At time.Time
	// Offers by market name, in the order the search returned them, each re-checked locally
	// with the market's query.
	Offers    map[string][]vastapi.Offer
	Instances []vastapi.Instance
	User      vastapi.User
	// Searches is how many searches the observation made (one per distinct query).
	Searches int
}

// Observe makes the cycle's observation: one search per distinct market query, the instance
// list, the account. It is all or nothing: any failure returns an error and no observation,
// and the cycle must take no action.
func Observe(ctx context.Context, api Reader, cfg *policy.Config, now time.Time) (Observation, error) {
	obs := Observation{At: now, Offers: make(map[string][]vastapi.Offer, len(cfg.Markets))}
	byKey := make(map[string][]vastapi.Offer)
	for _, m := range cfg.Markets {
		key := m.Query.Key()
		offers, ok := byKey[key]
		if !ok {
			got, err := api.SearchOffers(ctx, m.Query)
			if err != nil {
				return Observation{}, fmt.Errorf("search market %s: %w", m.Name, err)
			}
			obs.Searches++
			offers, err = recheck(&m.Query, got, now)
			if err != nil {
				return Observation{}, fmt.Errorf("market %s: %w", m.Name, err)
			}
			byKey[key] = offers
		}
		obs.Offers[m.Name] = offers
	}
	ins, err := api.ListInstances(ctx)
	if err != nil {
		return Observation{}, fmt.Errorf("list instances: %w", err)
	}
	obs.Instances = ins
	u, err := api.CurrentUser(ctx)
	if err != nil {
		return Observation{}, fmt.Errorf("current user: %w", err)
	}
	obs.User = u
	return obs, nil
}

// recheck keeps the offers the query really matches: the daemon never trusts the server's
// filtering with money (vast-api.md §2 "Re-checking replies locally").
func recheck(q *vastapi.Query, offers []vastapi.Offer, now time.Time) ([]vastapi.Offer, error) {
	m, err := q.Compile(now)
	if err != nil {
		return nil, fmt.Errorf("compile query: %w", err)
	}
	out := offers[:0]
	for i := range offers {
		if m.Match(&offers[i]) {
			out = append(out, offers[i])
		}
	}
	return out, nil
}
