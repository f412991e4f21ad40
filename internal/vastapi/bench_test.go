package vastapi

import (
	"encoding/json"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi/vastapitest"
)

// newOfferStream is a generated search reply of n offers replicating the real capture.
func newOfferStream(t testing.TB, n int) *vastapitest.OfferStream {
	gen, err := vastapitest.NewOfferStream(realOffersRaw(t), n)
	if err != nil {
		t.Fatal(err)
	}
	return gen
}

const benchFirstID = vastapitest.FirstID

// heapPeak samples HeapInuse (runtime/metrics: heap objects + unused heap) while running f.
func heapPeak(f func()) (peak uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	read := func() uint64 {
		metrics.Read(samples)
		return samples[0].Value.Uint64() + samples[1].Value.Uint64()
	}
	var max atomic.Uint64
	bump := func() {
		v := read()
		for {
			old := max.Load()
			if v <= old || max.CompareAndSwap(old, v) {
				return
			}
		}
	}
	runtime.GC()
	bump()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				bump()
			}
		}
	})
	f()
	bump()
	close(done)
	wg.Wait()
	return max.Load()
}

// BenchmarkDecodeOffers decodes a ~77 MB, 30k-offer search reply three ways in the same run:
// this package's streaming decoder (with a callback that keeps nothing), json.Unmarshal into
// map[string]any, and a plain json.Decoder into the same struct. It reports each throughput, the
// ratios and each peak HeapInuse, and fails when the streaming decoder misses its targets
// (docs/design.md §11: ≥ 2× the map path, ≥ 1.5× the plain decoder, peak HeapInuse ≤ 64 MB).
func BenchmarkDecodeOffers(b *testing.B) {
	const offers = 30_000
	gen := newOfferStream(b, offers)
	size := gen.Size() // not SetBytes: one op runs three decoders; each reports its own MB/s
	b.Logf("payload: %d offers, %.1f MB", offers, float64(size)/1e6)

	var tOurs, tMap, tDec time.Duration
	var pOurs, pMap, pDec uint64
	b.ResetTimer()
	for range b.N {
		// This package's decoder, streaming.
		gen.Reset()
		var sum float64
		var last int64
		var n int
		var err error
		start := time.Now()
		p := heapPeak(func() {
			_, n, err = decodeOffers(gen, func(o *Offer) error {
				sum += o.DphTotal
				last = o.ID
				return nil
			})
		})
		tOurs += time.Since(start)
		pOurs = max(pOurs, p)
		if err != nil || n != offers || last != benchFirstID+offers-1 || sum == 0 {
			b.Fatalf("streaming decode: %d offers, last id %d, err %v", n, last, err)
		}

		// json.Unmarshal into map[string]any (the body read whole first, as that path needs).
		gen.Reset()
		start = time.Now()
		p = heapPeak(func() {
			body, rerr := io.ReadAll(gen)
			if rerr != nil {
				b.Fatal(rerr)
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
			if l, _ := m["offers"].([]any); len(l) != offers {
				b.Fatalf("map decode: %d offers", len(l))
			}
		})
		tMap += time.Since(start)
		pMap = max(pMap, p)

		// A plain json.Decoder into the same struct, by reflection.
		gen.Reset()
		start = time.Now()
		p = heapPeak(func() {
			var reply struct {
				Offers []plainOffer `json:"offers"`
			}
			if err := json.NewDecoder(gen).Decode(&reply); err != nil {
				b.Fatal(err)
			}
			if len(reply.Offers) != offers {
				b.Fatalf("plain decoder: %d offers", len(reply.Offers))
			}
		})
		tDec += time.Since(start)
		pDec = max(pDec, p)
	}
	b.StopTimer()
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / 1e6 / d.Seconds() }
	ours, mapped, plain := mbps(tOurs), mbps(tMap), mbps(tDec)
	b.ReportMetric(ours, "stream_MB/s")
	b.ReportMetric(mapped, "map_MB/s")
	b.ReportMetric(plain, "decoder_MB/s")
	b.ReportMetric(ours/mapped, "x_vs_map")
	b.ReportMetric(ours/plain, "x_vs_decoder")
	b.ReportMetric(float64(pOurs)/(1<<20), "stream_peak_heap_MiB")
	b.ReportMetric(float64(pMap)/(1<<20), "map_peak_heap_MiB")
	b.ReportMetric(float64(pDec)/(1<<20), "decoder_peak_heap_MiB")
	if ours/mapped < 2 || ours/plain < 1.5 || pOurs > 64<<20 {
		b.Errorf("targets missed: %.2f× map (want ≥ 2), %.2f× decoder (want ≥ 1.5), peak heap %.1f MiB (want ≤ 64 MB)",
			ours/mapped, ours/plain, float64(pOurs)/(1<<20))
	}
}
