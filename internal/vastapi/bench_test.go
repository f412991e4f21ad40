package vastapi

import (
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// offerStream generates a search reply of n offers, replicating the real offers with fresh ids,
// in the API's (Python json.dumps) layout. It holds one offer at a time, so the payload itself
// is never on the heap.
type offerStream struct {
	tmpl  [][][]byte // per real offer: text split around its id values
	n     int        // offers to emit
	i     int        // next offer
	state int        // 0 header, 1 offers, 2 footer, 3 done
	buf   []byte
	off   int
}

const benchFirstID = 50_000_000

func newOfferStream(t testing.TB, n int) *offerStream {
	raw := realOffersRaw(t)
	s := &offerStream{n: n}
	for _, r := range raw {
		var c bytes.Buffer
		if err := json.Compact(&c, r); err != nil {
			t.Fatal(err)
		}
		py := pythonLayout(c.Bytes())
		s.tmpl = append(s.tmpl, splitIDs(t, py))
	}
	return s
}

// pythonLayout adds the spaces json.dumps puts after ':' and ',' outside strings.
func pythonLayout(compact []byte) []byte {
	out := make([]byte, 0, len(compact)*11/10)
	in := false
	for i := 0; i < len(compact); i++ {
		c := compact[i]
		out = append(out, c)
		switch {
		case in && c == '\\':
			i++
			out = append(out, compact[i])
		case c == '"':
			in = !in
		case !in && (c == ':' || c == ','):
			out = append(out, ' ')
		}
	}
	return out
}

// splitIDs cuts an offer's text around the values of "id" and "ask_contract_id".
func splitIDs(t testing.TB, b []byte) [][]byte {
	var segs [][]byte
	rest := b
	for {
		i1 := bytes.Index(rest, []byte(`"id": `))
		i2 := bytes.Index(rest, []byte(`"ask_contract_id": `))
		i, klen := i1, len(`"id": `)
		if i2 >= 0 && (i < 0 || i2 < i) {
			i, klen = i2, len(`"ask_contract_id": `)
		}
		if i < 0 {
			break
		}
		start := i + klen
		end := start
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		segs = append(segs, rest[:start])
		rest = rest[end:]
	}
	if len(segs) != 2 {
		t.Fatalf("offer has %d id values, want 2", len(segs))
	}
	return append(segs, rest)
}

func (s *offerStream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if s.off == len(s.buf) {
			if !s.next() {
				if n == 0 {
					return 0, io.EOF
				}
				break
			}
		}
		c := copy(p[n:], s.buf[s.off:])
		s.off += c
		n += c
	}
	return n, nil
}

// next renders the next piece of the reply into buf.
func (s *offerStream) next() bool {
	s.buf, s.off = s.buf[:0], 0
	switch s.state {
	case 0:
		s.buf = append(s.buf, `{"offers": [`...)
		s.state = 1
		if s.n == 0 {
			s.state = 2
		}
	case 1:
		if s.i > 0 {
			s.buf = append(s.buf, ", "...)
		}
		segs := s.tmpl[s.i%len(s.tmpl)]
		id := int64(benchFirstID + s.i)
		for j, seg := range segs {
			if j > 0 {
				s.buf = strconv.AppendInt(s.buf, id, 10)
			}
			s.buf = append(s.buf, seg...)
		}
		s.i++
		if s.i == s.n {
			s.state = 2
		}
	case 2:
		s.buf = append(s.buf, "]}"...)
		s.state = 3
	default:
		return false
	}
	return true
}

// size drains a copy of the stream to count its bytes.
func (s *offerStream) size() int64 {
	c := *s
	c.buf = nil
	n, _ := io.Copy(io.Discard, &c)
	return n
}

func (s *offerStream) reset() { s.i, s.state, s.buf, s.off = 0, 0, s.buf[:0], 0 }

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
	size := gen.size() // not SetBytes: one op runs three decoders; each reports its own MB/s
	b.Logf("payload: %d offers, %.1f MB", offers, float64(size)/1e6)

	var tOurs, tMap, tDec time.Duration
	var pOurs, pMap, pDec uint64
	b.ResetTimer()
	for range b.N {
		// This package's decoder, streaming.
		gen.reset()
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
		gen.reset()
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
		gen.reset()
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
