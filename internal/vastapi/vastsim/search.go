package vastsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// pricing is how a search prices offers: its type and allocated_storage (-1: absent).
type pricing struct {
	typ     vastapi.OfferType
	storage float64
}

// pricedCat is the catalogue repriced for one pricing, with each offer's reply JSON cached
// around its time-dependent `duration`.
type pricedCat struct {
	version uint64
	offers  []*vastapi.Offer // the stored offers themselves for the base pricing, else copies
	enc     []encOffer
	encoded int // entries of enc filled, bounded by maxEncoded
	results map[string]cachedSearch
}

// maxEncoded bounds the cached offer encodings of one priced catalogue (about 2.7 kB each), so
// a simulator of 5,000 offers stays small inside a daemon's memory budget; offers past it are
// encoded on every reply.
const maxEncoded = 1024

// maxPriced bounds the repriced copies kept besides the base pricing.
const maxPriced = 1

type encOffer struct {
	pre, post []byte // JSON before and after the duration value; nil until first used
	endDate   vastapi.Opt[float64]
}

// durationMark is a sentinel whose encoding locates `duration` in an offer's JSON.
const durationMark = -987654321.125

// basePricing is how the stored catalogue is priced (the CLI's default search).
var basePricing = pricing{typ: vastapi.OnDemand, storage: baseStorageGB}

func (s *Sim) pricedFor(p pricing) *pricedCat {
	if p.typ == vastapi.OnDemand && p.storage < 0 {
		p = basePricing // no allocated_storage: the offers as listed
	}
	if c, ok := s.priced[p]; ok && c.version == s.version {
		return c
	}
	// Catalogues of older versions are never served again; beyond maxPriced repriced copies the
	// others go too, so memory stays bounded whatever sizes clients ask for.
	for k, old := range s.priced {
		if old.version != s.version || (k != basePricing && len(s.priced) > maxPriced) {
			delete(s.priced, k)
		}
	}
	c := &pricedCat{version: s.version, offers: make([]*vastapi.Offer, len(s.offers)), enc: make([]encOffer, len(s.offers))}
	if p == basePricing {
		for i, o := range s.offers {
			c.offers[i] = &o.o
		}
	} else {
		q := vastapi.Query{Type: p.typ}
		if p.storage >= 0 {
			q.AllocatedStorage = vastapi.Some(p.storage)
		}
		m, _ := q.Compile(time.Unix(0, 0))
		copies := make([]vastapi.Offer, len(s.offers))
		for i, o := range s.offers {
			copies[i] = o.o
			m.Reprice(&copies[i])
			c.offers[i] = &copies[i]
		}
	}
	s.priced[p] = c
	return c
}

// encode appends offer i's JSON with duration computed against now.
func (c *pricedCat) encode(buf *bytes.Buffer, i int, now float64) error {
	e := &c.enc[i]
	if e.pre == nil {
		o := *c.offers[i]
		var tmp encOffer
		if c.encoded >= maxEncoded {
			e = &tmp
		} else {
			c.encoded++
		}
		e.endDate = o.EndDate
		o.Duration = vastapi.Some(durationMark)
		b, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("encode offer %d: %w", o.ID, err)
		}
		mark := []byte(`"duration":` + strconv.FormatFloat(durationMark, 'f', -1, 64))
		at := bytes.Index(b, mark)
		if at < 0 {
			return fmt.Errorf("encode offer %d: duration not found", o.ID)
		}
		e.pre = b[:at+len(`"duration":`)]
		e.post = b[at+len(mark):]
	}
	buf.Write(e.pre)
	if e.endDate.Valid {
		buf.WriteString(strconv.FormatFloat(e.endDate.V-now, 'f', -1, 64))
	} else {
		buf.WriteString("null")
	}
	buf.Write(e.post)
	return nil
}

// parseSearch reads the query of a search request: the POST body, GET ?q=, or the
// {"select_cols","q"} body of PUT /search/asks/.
func parseSearch(r *http.Request, body []byte) (vastapi.Query, error) {
	var q vastapi.Query
	raw := body
	switch r.Method {
	case http.MethodGet:
		raw = []byte(r.URL.Query().Get("q"))
		if len(raw) == 0 {
			raw = []byte("{}")
		}
	case http.MethodPut:
		var wrap struct {
			Q json.RawMessage `json:"q"`
		}
		if err := json.Unmarshal(body, &wrap); err != nil {
			return q, err
		}
		raw = wrap.Q
		if len(raw) == 0 || string(raw) == "null" {
			raw = []byte("{}")
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	err := json.Unmarshal(raw, &q)
	return q, err
}

// parsedQuery is a search request's query, parsed once per distinct request.
type parsedQuery struct {
	q     vastapi.Query
	key   string // canonical key (vastapi.Query.Key)
	timed bool   // depends on now (duration), so never served from the result cache
}

func newParsed(q vastapi.Query) *parsedQuery {
	timed := q.Filter("duration") != nil
	for _, o := range q.Order {
		timed = timed || o.Field == "duration"
	}
	return &parsedQuery{q: q, key: q.Key(), timed: timed}
}

func (s *Sim) handleSearch(r *http.Request, body []byte, _ route) reply {
	reqKey := r.Method + "\x00" + r.URL.RawQuery + "\x00" + string(body)
	s.mu.Lock()
	pq := s.parsed[reqKey]
	s.mu.Unlock()
	if pq == nil {
		q, err := parseSearch(r, body)
		if err != nil {
			return apiErr(400, "invalid_args", "Invalid query: "+err.Error())
		}
		pq = newParsed(q)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	m, err := pq.q.Compile(now)
	if err != nil {
		return apiErr(400, "invalid_args", "Invalid query: "+err.Error())
	}
	if s.parsed == nil || len(s.parsed) >= 256 {
		s.parsed = map[string]*parsedQuery{}
	}
	s.parsed[reqKey] = pq
	p := pricing{typ: pq.q.Type, storage: -1}
	if p.typ == "" {
		p.typ = vastapi.OnDemand
	}
	if pq.q.AllocatedStorage.Valid {
		p.storage = pq.q.AllocatedStorage.V
	}
	c := s.pricedFor(p)
	idx := s.searchIndex(c, pq, m, now)
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	buf.WriteString(`{"offers": [`)
	nowSec := float64(now.UnixNano()) / 1e9
	for k, i := range idx {
		if k > 0 {
			buf.WriteString(", ")
		}
		if err := c.encode(buf, i, nowSec); err != nil {
			bufPool.Put(buf)
			return apiErr(500, "server_error", err.Error())
		}
	}
	buf.WriteString("]}")
	return reply{status: 200, body: buf.Bytes(), ctype: "application/json", pooled: buf}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// cachedSearch is the ordered, limited result of one query against one catalogue version.
type cachedSearch struct {
	idx []int
}

// searchIndex returns the offers (indices into c) a query selects, in order and limited. Results
// are cached per priced catalogue by the query's canonical key, so a repeated query (the
// daemon's polls, a pinned benchmark) costs only its encoding; any change to the market makes a
// new priced catalogue and so a fresh cache. A query on `duration` depends on now and is
// matched every time.
func (s *Sim) searchIndex(c *pricedCat, pq *parsedQuery, m *vastapi.Matcher, now time.Time) []int {
	q, key, timed := &pq.q, pq.key, pq.timed
	if !timed {
		if r, ok := c.results[key]; ok {
			return r.idx
		}
	}
	idx := make([]int, 0, 256)
	for i := range c.offers {
		if m.Match(c.offers[i]) {
			idx = append(idx, i)
		}
	}
	idx = topK(c.offers, idx, q, q.Limit, now)
	if !timed {
		if c.results == nil || len(c.results) >= 256 {
			c.results = map[string]cachedSearch{}
		}
		c.results[key] = cachedSearch{idx: slices.Clip(idx)}
	}
	return idx
}

func (s *Sim) handleGPUNames(_ *http.Request, _ []byte, _ route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return jsonReply(200, map[string]any{"success": true, "gpu_names": s.gpuNames})
}

// topK orders the matched offers idx by q's order and keeps the first limit (all when limit is
// 0). The first order key is read once per offer, and with a limit only a bounded heap is kept,
// so a search costs O(n log limit) comparisons rather than a full sort.
func topK(offers []*vastapi.Offer, idx []int, q *vastapi.Query, limit int, now time.Time) []int {
	less := q.Less()
	type item struct {
		i     int
		key   float64
		known bool
	}
	items := make([]item, len(idx))
	var first *vastapi.OrderBy
	var read func(*vastapi.Offer, time.Time) (float64, bool)
	if len(q.Order) > 0 {
		first = &q.Order[0]
		read = vastapi.NumericColumn(first.Field)
	}
	for n, i := range idx {
		items[n].i = i
		if read != nil {
			items[n].key, items[n].known = read(offers[i], now)
		}
	}
	numeric := read != nil
	for _, it := range items {
		if !it.known {
			numeric = false
			break
		}
	}
	cmpItems := func(a, b item) int {
		if numeric && a.key != b.key {
			if (a.key < b.key) != first.Desc {
				return -1
			}
			return 1
		}
		return less(offers[a.i], offers[b.i])
	}
	if limit <= 0 || limit >= len(items) {
		slices.SortFunc(items, cmpItems)
	} else {
		// Max-heap (by cmpItems) of the best `limit` items seen so far.
		h := items[:0:0]
		h = make([]item, 0, limit)
		up := func(j int) {
			for j > 0 {
				p := (j - 1) / 2
				if cmpItems(h[j], h[p]) <= 0 {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
		}
		down := func(j int) {
			for {
				l, r, m := 2*j+1, 2*j+2, j
				if l < len(h) && cmpItems(h[l], h[m]) > 0 {
					m = l
				}
				if r < len(h) && cmpItems(h[r], h[m]) > 0 {
					m = r
				}
				if m == j {
					return
				}
				h[j], h[m] = h[m], h[j]
				j = m
			}
		}
		for _, it := range items {
			if len(h) < limit {
				h = append(h, it)
				up(len(h) - 1)
			} else if cmpItems(it, h[0]) < 0 {
				h[0] = it
				down(0)
			}
		}
		slices.SortFunc(h, cmpItems)
		items = h
	}
	out := idx[:len(items)]
	for n, it := range items {
		out[n] = it.i
	}
	return out
}
