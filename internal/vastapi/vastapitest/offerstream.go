// Package vastapitest generates Vast.ai search replies for benchmarks: a full-market reply of any
// size, built from the real offers in internal/vastapi/testdata, served from an io.Reader that
// never holds more than one offer. It imports nothing internal, so vastapi's own tests can use
// it, and nothing ships with it.
package vastapitest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
)

// RealSearchPath is the real search capture (1,396 offers, a JSON array), relative to the
// repository root (internal/vastapi/testdata/README.md).
const RealSearchPath = "internal/vastapi/testdata/match/search.json.gz"

// ReadRealOffers reads the gzipped JSON array of offers at path.
func ReadRealOffers(path string) ([]json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read real offers: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read real offers %s: %w", path, err)
	}
	var raw []json.RawMessage
	if err := json.NewDecoder(zr).Decode(&raw); err != nil {
		return nil, fmt.Errorf("read real offers %s: %w", path, err)
	}
	return raw, nil
}

// FirstID is the id of a stream's first offer; the others follow in order.
const FirstID = 50_000_000

// OfferStream generates a search reply, {"offers": [...]}, of n offers: the given offers
// replicated in turn with fresh ids (FirstID, FirstID+1, ...), in the API's (Python
// json.dumps) layout. It holds one offer at a time, so the payload itself is never on the heap.
// About 2.6 kB an offer with the real capture: 30,000 offers are a 77 MB reply.
type OfferStream struct {
	tmpl  [][][]byte // per offer: its text split around its id values
	n     int        // offers to emit
	i     int        // next offer
	state int        // 0 header, 1 offers, 2 footer, 3 done
	buf   []byte
	off   int
}

// NewOfferStream prepares a stream of n offers replicating raw, which must be JSON objects that
// each hold "id" and "ask_contract_id" once.
func NewOfferStream(raw []json.RawMessage, n int) (*OfferStream, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("offer stream: no offers to replicate")
	}
	s := &OfferStream{n: n}
	for i, r := range raw {
		var c bytes.Buffer
		if err := json.Compact(&c, r); err != nil {
			return nil, fmt.Errorf("offer stream: offer %d: %w", i, err)
		}
		segs, err := splitIDs(pythonLayout(c.Bytes()))
		if err != nil {
			return nil, fmt.Errorf("offer stream: offer %d: %w", i, err)
		}
		s.tmpl = append(s.tmpl, segs)
	}
	return s, nil
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
func splitIDs(b []byte) ([][]byte, error) {
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
		return nil, fmt.Errorf("%d id values, want 2", len(segs))
	}
	return append(segs, rest), nil
}

func (s *OfferStream) Read(p []byte) (int, error) {
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
func (s *OfferStream) next() bool {
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
		id := int64(FirstID + s.i)
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

// Size is the reply's length in bytes (it drains a copy of the stream).
func (s *OfferStream) Size() int64 {
	c := *s
	c.buf = nil
	c.Reset()
	n, _ := io.Copy(io.Discard, &c)
	return n
}

// Reset rewinds the stream to its first byte.
func (s *OfferStream) Reset() { s.i, s.state, s.buf, s.off = 0, 0, s.buf[:0], 0 }

// Clone is a stream of the same reply that shares the templates and rewinds on its own, for
// serving one reply to several readers at once.
func (s *OfferStream) Clone() *OfferStream {
	c := *s
	c.buf = nil
	c.Reset()
	return &c
}
