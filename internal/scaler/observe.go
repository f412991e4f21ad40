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

// StreamReader is a Reader that can also hand a search's offers over one at a time, restarting
// on a retried reply (*vastapi.Client.SearchOffersEach). Observe streams the markets no fleet
// rents from through it, so their offers are never held whole.
type StreamReader interface {
	Reader
	SearchOffersEach(ctx context.Context, q vastapi.Query, reset func(), fn func(*vastapi.Offer) error) error
}

// Observation is everything one cycle knows about the world (docs/design.md §4): the offers of each
// market, re-checked locally, the account's instances and the account. The metrics and the
// planner share it; there is never a second one in a cycle.
type Observation struct {
	At time.Time
	// Offers by market name, in the order the search returned them, each re-checked locally
	// with the market's query. A market no fleet rents from may be in Watched instead.
	Offers map[string][]vastapi.Offer
	// Watched holds, by market name, the offers of markets no fleet rents from as digests:
	// the planner never reads them, the metrics and the status page read only these fields,
	// and a whole-market search kept as []vastapi.Offer (about 1 kB an offer) would be most of
	// the daemon's memory. Re-checked like Offers, in reply order.
	Watched   map[string][]OfferDigest
	Instances []vastapi.Instance
	User      vastapi.User
	// Searches is how many searches the observation made (one per distinct query).
	Searches int
}

// OfferDigest is what the metrics and the status page read of an offer: identity, the group_by
// label fields, dph_total, dlperf and GPU ids.
type OfferDigest struct {
	ID, MachineID int64
	NumGPUs       int
	GPUName       string
	GPUArch       string
	Verification  string
	Geolocation   vastapi.Opt[string]
	HostingType   vastapi.Opt[int]
	DphTotal      float64
	DLPerf        float64
	GPUIDs        []int64 // shared with the offer it was made from
}

// DigestOf is o's digest.
func DigestOf(o *vastapi.Offer) OfferDigest {
	return OfferDigest{ID: o.ID, MachineID: o.MachineID, NumGPUs: o.NumGPUs, GPUName: o.GPUName,
		GPUArch: o.GPUArch, Verification: o.Verification, Geolocation: o.Geolocation,
		HostingType: o.HostingType, DphTotal: o.DphTotal, DLPerf: o.DLPerf, GPUIDs: o.GPUIDs}
}

// Into writes the digest's fields to dst and zeroes every other.
func (d *OfferDigest) Into(dst *vastapi.Offer) {
	*dst = vastapi.Offer{ID: d.ID, MachineID: d.MachineID, NumGPUs: d.NumGPUs, GPUName: d.GPUName,
		GPUArch: d.GPUArch, Verification: d.Verification, Geolocation: d.Geolocation,
		HostingType: d.HostingType, DphTotal: d.DphTotal, DLPerf: d.DLPerf, GPUIDs: d.GPUIDs}
}

// Digests returns market name's offers as digests, whether the observation kept them whole
// (Offers: digested now) or streamed them (Watched).
func (o *Observation) Digests(name string) []OfferDigest {
	if d, ok := o.Watched[name]; ok {
		return d
	}
	offers := o.Offers[name]
	if offers == nil {
		return nil
	}
	out := make([]OfferDigest, len(offers))
	for i := range offers {
		out[i] = DigestOf(&offers[i])
	}
	return out
}

// Observe makes the cycle's observation: one search per distinct market query, the instance
// list, the account. It is all or nothing: any failure returns an error and no observation,
// and the cycle must take no action. With a StreamReader, a query only markets no fleet rents
// from use is streamed into Watched; everything else is in Offers.
func Observe(ctx context.Context, api Reader, cfg *policy.Config, now time.Time) (Observation, error) {
	obs := Observation{At: now, Offers: make(map[string][]vastapi.Offer, len(cfg.Markets))}
	stream, _ := api.(StreamReader)
	rented := map[string]bool{} // query keys a fleet rents from
	for _, f := range cfg.Fleets {
		if f.Market != nil {
			rented[f.Market.Query.Key()] = true
		}
	}
	type result struct {
		offers  []vastapi.Offer
		digests []OfferDigest
		watched bool
	}
	byKey := make(map[string]result)
	for _, m := range cfg.Markets {
		key := m.Query.Key()
		r, ok := byKey[key]
		if !ok {
			match, err := m.Query.Compile(now)
			if err != nil {
				return Observation{}, fmt.Errorf("market %s: compile query: %w", m.Name, err)
			}
			if stream != nil && !rented[key] {
				r.watched = true
				r.digests, err = streamDigests(ctx, stream, m.Query, match)
			} else {
				var got []vastapi.Offer
				got, err = api.SearchOffers(ctx, m.Query)
				r.offers = recheck(match, got)
			}
			if err != nil {
				return Observation{}, fmt.Errorf("search market %s: %w", m.Name, err)
			}
			obs.Searches++
			byKey[key] = r
		}
		if r.watched {
			if obs.Watched == nil {
				obs.Watched = make(map[string][]OfferDigest)
			}
			obs.Watched[m.Name] = r.digests
		} else {
			obs.Offers[m.Name] = r.offers
		}
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

// streamDigests returns the digests of the offers of q's reply that m matches, never holding
// the offers themselves.
// The digests are gathered in fixed blocks and copied once into a list of the exact size: grown
// by append, a 7,000-offer list would leave about four times its size in garbage per poll.
func streamDigests(ctx context.Context, api StreamReader, q vastapi.Query, m *vastapi.Matcher) ([]OfferDigest, error) {
	const block = 512
	var blocks [][]OfferDigest
	n := 0
	err := api.SearchOffersEach(ctx, q, func() { blocks, n = blocks[:0], 0 }, func(o *vastapi.Offer) error {
		if !m.Match(o) {
			return nil
		}
		if len(blocks) == 0 || len(blocks[len(blocks)-1]) == block {
			blocks = append(blocks, make([]OfferDigest, 0, block))
		}
		blocks[len(blocks)-1] = append(blocks[len(blocks)-1], DigestOf(o))
		n++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]OfferDigest, 0, n)
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out, nil
}

// recheck keeps the offers the query really matches: the daemon never trusts the server's
// filtering with money (docs/vast-api.md §2 "Re-checking replies locally").
func recheck(m *vastapi.Matcher, offers []vastapi.Offer) []vastapi.Offer {
	out := offers[:0]
	for i := range offers {
		if m.Match(&offers[i]) {
			out = append(out, offers[i])
		}
	}
	return out
}
