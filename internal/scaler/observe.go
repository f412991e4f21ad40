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
	// Searches is how many searches succeeded (one per distinct query).
	Searches int
	// Failed holds, by market name, why the market's search failed: the market is then in
	// neither Offers nor Watched, and the fleets renting from it hold this cycle.
	Failed map[string]error
	// Dropped says, one line each, which rows of the replies were left out as broken: an
	// instance listed twice or without an id, offers without a sane price. The cycle logs them.
	Dropped []string
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
// list, the account. Each market's search succeeds or fails on its own: a failed one is in
// Failed, and only the fleets renting from it hold. The instance list and the account are all
// or nothing: when either fails, Observe returns an error and no observation, and the cycle
// must take no action (no action on a partial view of the instances). With a StreamReader, a
// query only markets no fleet rents from use is streamed into Watched; everything else is in
// Offers. Broken rows (an instance listed twice or without an id, an offer without a sane
// price) are left out, each noted in Dropped.
func Observe(ctx context.Context, api Reader, cfg *policy.Config, now time.Time) (Observation, error) {
	obs := Observation{At: now, Offers: make(map[string][]vastapi.Offer, len(cfg.Markets))}
	if err := obs.search(ctx, api, cfg); err != nil {
		return Observation{}, err
	}
	ins, err := api.ListInstances(ctx)
	if err != nil {
		return Observation{}, fmt.Errorf("list instances: %w", err)
	}
	obs.Instances = obs.saneInstances(ins)
	u, err := api.CurrentUser(ctx)
	if err != nil {
		return Observation{}, fmt.Errorf("current user: %w", err)
	}
	obs.User = u
	return obs, nil
}

// search runs one search per distinct market query into obs, each on its own. An API that
// cannot be reached at all fails the whole observation at once: the instance list would fail
// too, after every other search had waited its turn.
func (obs *Observation) search(ctx context.Context, api Reader, cfg *policy.Config) error {
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
		err     error
	}
	byKey := make(map[string]result)
	for _, m := range cfg.Markets {
		key := m.Query.Key()
		r, ok := byKey[key]
		if !ok {
			var bad int
			match, err := m.Query.Compile(obs.At)
			switch {
			case err != nil:
				r.err = fmt.Errorf("compile query: %w", err)
			case stream != nil && !rented[key]:
				r.watched = true
				r.digests, bad, r.err = streamDigests(ctx, stream, m.Query, match)
			default:
				var got []vastapi.Offer
				if got, r.err = api.SearchOffers(ctx, m.Query); r.err == nil {
					r.offers, bad = recheck(match, got)
				}
			}
			if vastapi.IsUnreachable(r.err) {
				return fmt.Errorf("search market %s: %w", m.Name, r.err)
			}
			if r.err == nil {
				obs.Searches++
			}
			if bad > 0 {
				obs.drop("market %s: %d offers with a negative, NaN or absurd price left out", m.Name, bad)
			}
			byKey[key] = r
		}
		switch {
		case r.err != nil:
			if obs.Failed == nil {
				obs.Failed = make(map[string]error)
			}
			obs.Failed[m.Name] = fmt.Errorf("search market %s: %w", m.Name, r.err)
		case r.watched:
			if obs.Watched == nil {
				obs.Watched = make(map[string][]OfferDigest)
			}
			obs.Watched[m.Name] = r.digests
		default:
			obs.Offers[m.Name] = r.offers
		}
	}
	return nil
}

// streamDigests returns the digests of the offers of q's reply that m matches, never holding
// the offers themselves.
// The digests are gathered in fixed blocks and copied once into a list of the exact size: grown
// by append, a 7,000-offer list would leave about four times its size in garbage per poll.
func streamDigests(ctx context.Context, api StreamReader, q vastapi.Query, m *vastapi.Matcher) (_ []OfferDigest, bad int, _ error) {
	const block = 512
	var blocks [][]OfferDigest
	n := 0
	err := api.SearchOffersEach(ctx, q, func() { blocks, n, bad = blocks[:0], 0, 0 }, func(o *vastapi.Offer) error {
		if !m.Match(o) {
			return nil
		}
		if !saneOffer(o) {
			bad++
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
		return nil, 0, err
	}
	if n == 0 {
		return nil, bad, nil
	}
	out := make([]OfferDigest, 0, n)
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out, bad, nil
}

// recheck keeps the offers the query really matches: the daemon never trusts the server's
// filtering with money (docs/vast-api.md §2 "Re-checking replies locally"). Offers without a
// sane price are left out too; bad counts them.
func recheck(m *vastapi.Matcher, offers []vastapi.Offer) (out []vastapi.Offer, bad int) {
	out = offers[:0]
	for i := range offers {
		if !m.Match(&offers[i]) {
			continue
		}
		if !saneOffer(&offers[i]) {
			bad++
			continue
		}
		out = append(out, offers[i])
	}
	return out, bad
}
