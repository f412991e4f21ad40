package scaler_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// streamReader is a fakeReader that can also stream, through each.
type streamReader struct {
	fakeReader
	streams int
	each    func(reset func(), fn func(*vastapi.Offer) error) error
}

var _ scaler.StreamReader = (*streamReader)(nil)

func (s *streamReader) SearchOffersEach(_ context.Context, _ vastapi.Query, reset func(), fn func(*vastapi.Offer) error) error {
	s.streams++
	return s.each(reset, fn)
}

func TestObserveStreamsMarketsNoFleetRentsFrom(t *testing.T) {
	q := vastapi.Query{Type: vastapi.OnDemand}
	q.Set("num_gpus", vastapi.OpEq, vastapi.NumberValue(1))
	other := q.Clone()
	other.Set("num_gpus", vastapi.OpEq, vastapi.NumberValue(2))
	rentedM := &policy.Market{Name: "rented", Query: q}
	cfg := &policy.Config{
		Markets: []*policy.Market{rentedM, {Name: "same-query-watched", Query: q.Clone()}, {Name: "watched", Query: other}},
		Fleets:  []*policy.Fleet{{Name: "f", Market: rentedM}},
	}
	one, two := testOffer(1, 0.1), testOffer(2, 0.2)
	two.NumGPUs = 2
	two.GPUIDs = []int64{7, 8}
	send := func(fn func(*vastapi.Offer) error, offers ...vastapi.Offer) error {
		for _, o := range offers {
			if err := fn(&o); err != nil {
				return err
			}
		}
		return nil
	}
	newReader := func() *streamReader {
		r := &streamReader{fakeReader: fakeReader{search: func(vastapi.Query) ([]vastapi.Offer, error) {
			return []vastapi.Offer{one, two}, nil
		}}}
		r.each = func(reset func(), fn func(*vastapi.Offer) error) error {
			reset()
			return send(fn, one, two)
		}
		return r
	}

	t.Run("a query only unrented markets use is streamed into digests, re-checked", func(t *testing.T) {
		r := newReader()
		obs, err := scaler.Observe(context.Background(), r, cfg, t0)
		if err != nil {
			t.Fatal(err)
		}
		if r.searches != 1 || r.streams != 1 || obs.Searches != 2 {
			t.Fatalf("%d searches, %d streams, obs.Searches %d", r.searches, r.streams, obs.Searches)
		}
		if _, kept := obs.Offers["watched"]; kept {
			t.Error("the watched market's offers were kept whole")
		}
		if got := obs.Watched["watched"]; !reflect.DeepEqual(got, []scaler.OfferDigest{scaler.DigestOf(&two)}) {
			t.Errorf("watched digests %+v", got)
		}
	})
	t.Run("a market sharing a rented market's query is read from the kept offers", func(t *testing.T) {
		obs, err := scaler.Observe(context.Background(), newReader(), cfg, t0)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"rented", "same-query-watched"} {
			if got := obs.Offers[name]; len(got) != 1 || got[0].ID != 1 {
				t.Errorf("market %s offers %v", name, got)
			}
			if got := obs.Digests(name); !reflect.DeepEqual(got, []scaler.OfferDigest{scaler.DigestOf(&one)}) {
				t.Errorf("market %s digests %+v", name, got)
			}
		}
	})
	t.Run("a reply retried mid-way starts the digests over", func(t *testing.T) {
		r := newReader()
		r.each = func(reset func(), fn func(*vastapi.Offer) error) error {
			reset()
			if err := send(fn, two, two); err != nil {
				return err
			}
			reset()
			return send(fn, one, two)
		}
		obs, err := scaler.Observe(context.Background(), r, cfg, t0)
		if err != nil || len(obs.Watched["watched"]) != 1 {
			t.Fatalf("err %v, digests %+v", err, obs.Watched["watched"])
		}
	})
	t.Run("a failed stream fails its market, keeping none of its digests", func(t *testing.T) {
		r := newReader()
		r.each = func(reset func(), fn func(*vastapi.Offer) error) error {
			reset()
			_ = send(fn, two)
			return errors.New("connection reset")
		}
		obs, err := scaler.Observe(context.Background(), r, cfg, t0)
		if err != nil || obs.Failed["watched"] == nil || obs.Watched["watched"] != nil {
			t.Fatalf("err %v obs %+v", err, obs)
		}
	})
}

// simObserver is an API client on an in-process simulator of about machines×4.4 offers, and a
// config with one market no fleet rents from: the whole market.
func simObserver(tb testing.TB, machines int) (*vastapi.Client, *policy.Config, time.Time) {
	tb.Helper()
	clk := clock.NewFake(simStart)
	sim, err := vastsim.New(vastsim.Options{Seed: 1, Clock: clk, APIKey: simKey, Machines: machines})
	if err != nil {
		tb.Fatal(err)
	}
	api, err := vastapi.New(vastapi.Config{BaseURL: "http://sim", Key: vastapi.NewSecret(simKey),
		HTTPClient: &http.Client{Transport: sim.Transport()}, Clock: clk, Pacing: map[string]time.Duration{}})
	if err != nil {
		tb.Fatal(err)
	}
	q, err := policy.ParseQuery("verified=any rentable=any", policy.SearchOptions{Order: "dph_total", Limit: 10000, StorageGB: 10})
	if err != nil {
		tb.Fatal(err)
	}
	m := &policy.Market{Name: "whole-market", Query: q, Type: vastapi.OnDemand, StorageGB: 10}
	return api, &policy.Config{Markets: []*policy.Market{m}}, clk.Now()
}

func TestObserveStreamedDigestsAreTheSearchedOffers(t *testing.T) {
	api, cfg, now := simObserver(t, 200)
	obs, err := scaler.Observe(context.Background(), api, cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Markets[0]
	offers, err := api.SearchOffers(context.Background(), m.Query)
	if err != nil {
		t.Fatal(err)
	}
	match, err := m.Query.Compile(now)
	if err != nil {
		t.Fatal(err)
	}
	var want []scaler.OfferDigest
	for i := range offers {
		if match.Match(&offers[i]) {
			want = append(want, scaler.DigestOf(&offers[i]))
		}
	}
	if len(want) < 500 || !reflect.DeepEqual(obs.Digests(m.Name), want) {
		t.Fatalf("%d digests streamed, %d offers searched", len(obs.Digests(m.Name)), len(want))
	}
}

// BenchmarkObserveWholeMarket observes a ~5,000-offer market no fleet rents from, as the
// daemon's RSS target (docs/design.md §11) has it, and reports the bytes allocated per observation and
// what the observation keeps per offer. It fails when an observation keeps whole offers (about
// a kilobyte each) of such a market again: that list was most of the daemon's peak memory.
func BenchmarkObserveWholeMarket(b *testing.B) {
	api, cfg, now := simObserver(b, 1650)
	ctx := context.Background()
	if _, err := scaler.Observe(ctx, api, cfg, now); err != nil { // warm: parsed query, caches
		b.Fatal(err)
	}
	var ms runtime.MemStats
	heap := func() uint64 {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	b.ReportAllocs()
	var kept, offers int
	for b.Loop() {
		before := heap()
		obs, err := scaler.Observe(ctx, api, cfg, now)
		if err != nil {
			b.Fatal(err)
		}
		after := heap()
		offers = len(obs.Digests(cfg.Markets[0].Name))
		kept = int(after) - int(before)
		runtime.KeepAlive(obs)
	}
	perOffer := float64(kept) / float64(max(1, offers))
	b.ReportMetric(float64(offers), "offers")
	b.ReportMetric(perOffer, "kept-B/offer")
	if offers < 4000 {
		b.Fatalf("only %d offers: the benchmark no longer observes a ~5,000-offer market", offers)
	}
	if perOffer > 400 {
		b.Fatalf("an observation keeps %.0f B per offer of a market no fleet rents from, want ≤ 400 (a whole vastapi.Offer is about 1 kB)", perOffer)
	}
}
