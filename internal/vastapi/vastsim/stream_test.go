package vastsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// wholeMarket asks for every offer, repriced for 20 GB (not the stored pricing), so the reply is
// megabytes and goes out in many chunks.
const wholeMarket = `{"order":[["dph_total","asc"]],"allocated_storage":20}`

func openSearch(t *testing.T, ctx context.Context, hc *http.Client, base, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v0/bundles/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("search: %d", res.StatusCode)
	}
	return res
}

// streamsLeft is how many replies are still registered. Closing a body or ending its context
// releases the reply before the reader can see either, so no waiting is needed.
func streamsLeft(s *Sim) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

func TestLargeSearchRepliesAreStreamed(t *testing.T) {
	h := newHarness(t, Options{Seed: 11, Machines: 400})
	full := h.do("POST", "/api/v0/bundles/", wholeMarket).body
	var whole struct{ Offers []vastapi.Offer }
	if err := json.Unmarshal(full, &whole); err != nil {
		t.Fatal(err)
	}
	if len(full) < 20*chunkBytes || len(whole.Offers) != len(h.sim.Offers()) {
		t.Fatalf("whole market: %d bytes, %d of %d offers", len(full), len(whole.Offers), len(h.sim.Offers()))
	}
	last := whole.Offers[len(whole.Offers)-1]

	t.Run("a reply is the market when it was asked, whatever changes while it is read", func(t *testing.T) {
		res := openSearch(t, context.Background(), h.hc, "http://sim.invalid", wholeMarket)
		defer res.Body.Close()
		head := make([]byte, 1000)
		if _, err := io.ReadFull(res.Body, head); err != nil {
			t.Fatal(err)
		}
		// The last offer of the reply gets dearer and vanishes; prices drift everywhere.
		if err := h.sim.SetPrice(last.ID, last.DphBase*3); err != nil {
			t.Fatal(err)
		}
		if err := h.sim.VanishOffer(last.ID); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			h.sim.Step()
		}
		rest, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got := append(head, rest...); !bytes.Equal(got, full) {
			t.Fatalf("reply changed while read: %d bytes, want %d", len(got), len(full))
		}
		if after := h.do("POST", "/api/v0/bundles/", wholeMarket).body; bytes.Equal(after, full) {
			t.Fatal("a search after the changes answers as before them")
		}
	})

	t.Run("a reader that stops early releases the reply", func(t *testing.T) {
		res := openSearch(t, context.Background(), h.hc, "http://sim.invalid", wholeMarket)
		if _, err := io.ReadFull(res.Body, make([]byte, 3*chunkBytes)); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if n := streamsLeft(h.sim); n != 0 {
			t.Fatalf("%d replies still registered after the reader closed", n)
		}
	})

	t.Run("ending the request's context fails the body's reads", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		res := openSearch(t, ctx, h.hc, "http://sim.invalid", wholeMarket)
		defer res.Body.Close()
		if _, err := io.ReadFull(res.Body, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := io.ReadAll(res.Body); !errors.Is(err, context.Canceled) {
			t.Fatalf("read after cancel: %v, want context.Canceled", err)
		}
		if n := streamsLeft(h.sim); n != 0 {
			t.Fatalf("%d replies still registered after the context ended", n)
		}
	})

	t.Run("over HTTP a large reply goes out chunked and decodes whole", func(t *testing.T) {
		srv := httptest.NewServer(h.sim)
		defer srv.Close()
		res := openSearch(t, context.Background(), srv.Client(), srv.URL, wholeMarket)
		defer res.Body.Close()
		if res.ContentLength != -1 {
			t.Fatalf("Content-Length %d on a streamed reply", res.ContentLength)
		}
		var got struct{ Offers []vastapi.Offer }
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		if len(got.Offers) != len(whole.Offers) {
			t.Fatalf("%d offers over HTTP, want %d", len(got.Offers), len(whole.Offers))
		}
	})

	t.Run("a small reply is whole, with its Content-Length", func(t *testing.T) {
		res := openSearch(t, context.Background(), h.hc, "http://sim.invalid", `{"limit":3}`)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.ContentLength != int64(len(b)) {
			t.Fatalf("Content-Length %d for %d bytes (%v)", res.ContentLength, len(b), err)
		}
	})
}

func TestRepricingKeepsNoCopyOfTheCatalogue(t *testing.T) {
	h := newHarness(t, Options{Seed: 11, Machines: 200})
	for _, gb := range []string{"10", "20", "100", "10", "20"} {
		got := h.search(`{"order":[["id","asc"]],"limit":20,"allocated_storage":` + gb + `}`)
		if len(got) == 0 {
			t.Fatalf("no offers for %s GB", gb)
		}
	}
	h.sim.mu.Lock()
	defer h.sim.mu.Unlock()
	if len(h.sim.priced) > 1+maxPriced {
		t.Fatalf("%d priced catalogues kept, want at most %d", len(h.sim.priced), 1+maxPriced)
	}
	for p, c := range h.sim.priced {
		if (p == basePricing) != (c.reprice == nil) {
			t.Fatalf("pricing %+v: reprices %v", p, c.reprice != nil)
		}
	}
}

func TestOffersOfAMachineShareItsTraits(t *testing.T) {
	t.Run("a generated market keeps one template per machine", func(t *testing.T) {
		h := newHarness(t, Options{Seed: 11, Machines: 200})
		tmpls := map[*vastapi.Offer]bool{}
		for _, o := range h.sim.offers {
			tmpls[o.tmpl] = true
		}
		if len(tmpls) != len(h.sim.machines) || len(h.sim.offers) < 3*len(tmpls) {
			t.Fatalf("%d templates for %d machines and %d offers", len(tmpls), len(h.sim.machines), len(h.sim.offers))
		}
	})
	t.Run("sharing never changes an offer", func(t *testing.T) {
		a := vastapi.Offer{ID: 1, MachineID: 9, GPUName: "RTX 4090", NumGPUs: 1, DphBase: 0.3, StorageCost: 0.2}
		same := a
		same.ID, same.NumGPUs, same.DphBase = 2, 2, 0.6 // own fields only
		other := a
		other.ID, other.GPUName = 3, "RTX 3090" // a machine-wide trait differs
		m := &machine{id: 9}
		base := newOffer(a, nil, m, nil)
		for _, c := range []struct {
			v     vastapi.Offer
			share bool
		}{{same, true}, {other, false}} {
			o := newOffer(c.v, base.tmpl, m, nil)
			if (o.tmpl == base.tmpl) != c.share || !reflect.DeepEqual(o.value(), c.v) {
				t.Fatalf("offer %d: shares %v (want %v), value %+v", c.v.ID, o.tmpl == base.tmpl, c.share, o.value())
			}
		}
	})
}
