package vastsim

import (
	"bytes"
	"encoding/json"
	"errors"

	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// pricing is how a search prices offers: its type and allocated_storage (-1: absent).
type pricing struct {
	typ     vastapi.OfferType
	storage float64
}

// pricedCat is the catalogue as one pricing sees it, for one catalogue version: not a copy of
// the offers (those are repriced into a scratch value when read, see at), just the cached search
// results and the JSON of the first offers it wrote.
type pricedCat struct {
	version uint64
	reprice *vastapi.Matcher // nil for the base pricing: the stored offers as they are
	results map[string]cachedSearch
	hot     map[int]encOffer // by index into the stored catalogue, at most maxHot
}

// maxHot bounds the offer encodings a priced catalogue keeps (about 2.7 kB each). A polled
// query's first offers (the cheapest, the ones a small limit keeps) are what repeats; any other
// offer is encoded as it is written, which allocates nothing (appendOffer), so a whole-market
// reply leaves no garbage and no cache behind.
const maxHot = 64

// maxPriced bounds the priced catalogues kept besides the base pricing.
const maxPriced = 1

// basePricing is how the stored catalogue is priced (the CLI's default search).
var basePricing = pricing{typ: vastapi.OnDemand, storage: baseStorageGB}

func (s *Sim) pricedFor(p pricing) *pricedCat {
	if p.typ == vastapi.OnDemand && p.storage < 0 {
		p = basePricing // no allocated_storage: the offers as listed
	}
	if c, ok := s.priced[p]; ok && c.version == s.version {
		return c
	}
	// Catalogues of older versions are never served again; beyond maxPriced repriced ones the
	// others go too, so memory stays bounded whatever sizes clients ask for.
	for k, old := range s.priced {
		if old.version != s.version || (k != basePricing && len(s.priced) > maxPriced) {
			delete(s.priced, k)
		}
	}
	c := &pricedCat{version: s.version}
	if p != basePricing {
		q := vastapi.Query{Type: p.typ}
		if p.storage >= 0 {
			q.AllocatedStorage = vastapi.Some(p.storage)
		}
		c.reprice, _ = q.Compile(time.Unix(0, 0))
	}
	s.priced[p] = c
	return c
}

// scratch is where at builds offers; a scan in id order rebuilds only the offer's own fields
// while consecutive offers share their machine's template.
type scratch struct {
	v    vastapi.Offer
	tmpl *vastapi.Offer // whose fields v holds besides the own ones; nil: none
}

// at returns stored offer i as c prices it, built in sc (repricing is cheap arithmetic; a copy
// of the catalogue per pricing is not). Callers hold s.mu and must not modify the result.
func (s *Sim) at(c *pricedCat, i int, sc *scratch) *vastapi.Offer {
	return c.build(s.offers[i], sc)
}

// build builds o, as c prices it, in sc.
func (c *pricedCat) build(o *offer, sc *scratch) *vastapi.Offer {
	if sc.tmpl != o.tmpl {
		sc.v, sc.tmpl = *o.tmpl, o.tmpl
	}
	o.overlay(&sc.v) // every field repricing sets is an own field, so this undoes it too
	if c.reprice != nil {
		c.reprice.Reprice(&sc.v)
	}
	return &sc.v
}

// encode appends o's JSON, with duration computed against now, to buf.
func encode(buf *bytes.Buffer, o *vastapi.Offer, now float64) error {
	b, err := appendOffer(buf.AvailableBuffer(), o, now)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

// encodeAt appends stored offer i's JSON, as c prices it, with duration computed against now.
// Callers hold s.mu.
func (s *Sim) encodeAt(c *pricedCat, buf *bytes.Buffer, i int, now float64, sc *scratch) error {
	if e, ok := c.hot[i]; ok {
		e.write(buf, now)
		return nil
	}
	o := s.at(c, i, sc)
	if len(c.hot) >= maxHot {
		return encode(buf, o, now)
	}
	b, at, err := appendOfferSplit(nil, o)
	if err != nil {
		return err
	}
	e := encOffer{json: b, at: at, endDate: o.EndDate}
	if c.hot == nil {
		c.hot = make(map[int]encOffer, maxHot)
	}
	c.hot[i] = e
	e.write(buf, now)
	return nil
}

// chunkBytes is how much of a search reply is encoded at a time: a reply is encoded chunk by
// chunk under s.mu and written outside it, so memory stays O(chunk) however large the reply,
// and a slow reader never holds the simulator's lock.
const chunkBytes = 64 << 10

// searchStream is the rest of a search reply past its first chunk: the selected offers (indices
// into the stored catalogue, as c prices them) still to encode. While it is registered in
// s.streams the catalogue is the one the search saw; the first change to any offer (see
// mutating) detaches it with a copy of the offers it has yet to write, so every reply is the
// market at one instant, as a real server's is.
type searchStream struct {
	s      *Sim
	c      *pricedCat
	idx    []int // never modified: it may be a cached result
	pos    int
	now    float64 // for duration
	snap   []offer // the offers still to write as they were (templates never change)
	tmp    scratch
	done   bool // the closing bracket is encoded
	closed bool // dropped: by its reader, its context, or a change after it detached
}

// mutating must be called, under s.mu, before any stored offer changes: replies being written
// keep the offers as they were.
func (s *Sim) mutating() {
	for st := range s.streams {
		rest := st.idx[st.pos:]
		st.snap = make([]offer, len(rest))
		for k, i := range rest {
			st.snap[k] = *s.offers[i]
		}
		st.idx, st.pos = nil, 0
		delete(s.streams, st)
	}
}

// fill encodes the next offers into buf until it holds about chunkBytes or the reply is
// complete (then with the closing bracket). Callers hold s.mu.
func (st *searchStream) fill(buf *bytes.Buffer) error {
	for buf.Len() < chunkBytes {
		switch {
		case st.snap != nil && len(st.snap) > 0:
			if err := encode(buf, st.c.build(&st.snap[0], &st.tmp), st.now); err != nil {
				return err
			}
			st.snap = st.snap[1:]
		case st.snap == nil && st.pos < len(st.idx):
			if err := st.s.encodeAt(st.c, buf, st.idx[st.pos], st.now, &st.tmp); err != nil {
				return err
			}
			st.pos++
		default:
			buf.WriteString("]}")
			st.done = true
			return nil
		}
		if st.snap != nil && len(st.snap) == 0 || st.snap == nil && st.pos == len(st.idx) {
			continue // the closing bracket, next round
		}
		buf.WriteString(", ")
	}
	return nil
}

// writeTo writes the rest of the reply to w, a chunk at a time, and always unregisters st.
func (st *searchStream) writeTo(w io.Writer) error {
	defer st.close()
	buf := bytes.NewBuffer(make([]byte, 0, chunkBytes+8<<10))
	for {
		buf.Reset()
		st.s.mu.Lock()
		if st.done || st.closed {
			closed := !st.done
			st.s.mu.Unlock()
			if closed {
				return errStreamClosed
			}
			return nil
		}
		err := st.fill(buf)
		st.s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("%w: %w", errAbort, err)
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
}

// errStreamClosed is writeTo's error when its reply was dropped before it was complete.
var errStreamClosed = errors.New("vastsim: search reply closed before it was written")

// close unregisters st; the rest of its reply is dropped. It may be called more than once and
// from any goroutine: the reader's Close and its context's end call it before the reader can
// see either, so no reply outlives its reader.
func (st *searchStream) close() {
	st.s.mu.Lock()
	delete(st.s.streams, st)
	st.closed = true
	st.s.mu.Unlock()
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
	st := &searchStream{s: s, c: c, idx: s.searchIndex(c, pq, m, now), now: float64(now.UnixNano()) / 1e9}
	// The first chunk now, so a small reply is complete (and an encoding failure is still a 500);
	// the rest is encoded as the client reads it.
	var buf bytes.Buffer
	buf.WriteString(`{"offers": [`)
	if err := st.fill(&buf); err != nil {
		return apiErr(500, "server_error", err.Error())
	}
	rep := reply{status: 200, body: buf.Bytes(), ctype: "application/json"}
	if !st.done {
		if s.streams == nil {
			s.streams = map[*searchStream]struct{}{}
		}
		s.streams[st] = struct{}{}
		rep.stream = st
	}
	return rep
}

// cachedSearch is the ordered, limited result of one query against one catalogue version.
type cachedSearch struct {
	idx []int
}

// searchIndex returns the offers (indices into the stored catalogue) a query selects, in order
// and limited. Results are cached per priced catalogue by the query's canonical key, so a
// repeated query (the daemon's polls, a pinned benchmark) costs only its encoding; any change to
// the market makes a new priced catalogue and so a fresh cache. A query on `duration` depends on
// now and is matched every time. The result must not be modified.
func (s *Sim) searchIndex(c *pricedCat, pq *parsedQuery, m *vastapi.Matcher, now time.Time) []int {
	q, key, timed := &pq.q, pq.key, pq.timed
	if !timed {
		if r, ok := c.results[key]; ok {
			return r.idx
		}
	}
	idx := make([]int, 0, 256)
	var sc scratch
	for i := range s.offers {
		if m.Match(s.at(c, i, &sc)) {
			idx = append(idx, i)
		}
	}
	idx = slices.Clip(s.topK(c, idx, q, q.Limit, now))
	if !timed {
		if c.results == nil || len(c.results) >= 256 {
			c.results = map[string]cachedSearch{}
		}
		c.results[key] = cachedSearch{idx: idx}
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
func (s *Sim) topK(c *pricedCat, idx []int, q *vastapi.Query, limit int, now time.Time) []int {
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
	var sa, sb scratch
	for n, i := range idx {
		items[n].i = i
		if read != nil {
			items[n].key, items[n].known = read(s.at(c, i, &sa), now)
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
		return less(s.at(c, a.i, &sa), s.at(c, b.i, &sb))
	}
	items = firstK(items, limit, cmpItems)
	out := idx[:len(items)]
	for n, it := range items {
		out[n] = it.i
	}
	return out
}

// firstK returns the first k items under cmp, sorted (all of them when k is 0 or beyond len).
// With a k below len it keeps a bounded max-heap of the best k seen so far: O(n log k)
// comparisons. It may reorder items.
func firstK[T any](items []T, k int, cmp func(a, b T) int) []T {
	if k <= 0 || k >= len(items) {
		slices.SortFunc(items, cmp)
		return items
	}
	h := make([]T, 0, k)
	up := func(j int) {
		for j > 0 {
			p := (j - 1) / 2
			if cmp(h[j], h[p]) <= 0 {
				break
			}
			h[j], h[p] = h[p], h[j]
			j = p
		}
	}
	down := func(j int) {
		for {
			l, r, m := 2*j+1, 2*j+2, j
			if l < len(h) && cmp(h[l], h[m]) > 0 {
				m = l
			}
			if r < len(h) && cmp(h[r], h[m]) > 0 {
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
		if len(h) < k {
			h = append(h, it)
			up(len(h) - 1)
		} else if cmp(it, h[0]) < 0 {
			h[0] = it
			down(0)
		}
	}
	slices.SortFunc(h, cmp)
	return h
}
