package vastsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
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
	offers  []vastapi.Offer
	enc     []encOffer
}

type encOffer struct {
	pre, post []byte // JSON before and after the duration value; nil until first used
	endDate   vastapi.Opt[float64]
}

// durationMark is a sentinel whose encoding locates `duration` in an offer's JSON.
const durationMark = -987654321.125

func (s *Sim) pricedFor(p pricing) *pricedCat {
	if c, ok := s.priced[p]; ok && c.version == s.version {
		return c
	}
	if len(s.priced) > 16 {
		clear(s.priced)
	}
	q := vastapi.Query{Type: p.typ}
	if p.storage >= 0 {
		q.AllocatedStorage = vastapi.Some(p.storage)
	}
	m, _ := q.Compile(time.Unix(0, 0))
	c := &pricedCat{version: s.version, offers: make([]vastapi.Offer, len(s.offers)), enc: make([]encOffer, len(s.offers))}
	for i, o := range s.offers {
		c.offers[i] = o.o
		m.Reprice(&c.offers[i])
	}
	s.priced[p] = c
	return c
}

// encode appends offer i's JSON with duration computed against now.
func (c *pricedCat) encode(buf *bytes.Buffer, i int, now float64) error {
	e := &c.enc[i]
	if e.pre == nil {
		o := c.offers[i]
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

func (s *Sim) handleSearch(r *http.Request, body []byte, _ route) reply {
	q, err := parseSearch(r, body)
	if err != nil {
		return apiErr(400, "invalid_args", "Invalid query: "+err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	m, err := q.Compile(now)
	if err != nil {
		return apiErr(400, "invalid_args", "Invalid query: "+err.Error())
	}
	p := pricing{typ: q.Type, storage: -1}
	if p.typ == "" {
		p.typ = vastapi.OnDemand
	}
	if q.AllocatedStorage.Valid {
		p.storage = q.AllocatedStorage.V
	}
	c := s.pricedFor(p)
	idx := make([]int, 0, 256)
	for i := range c.offers {
		if m.Match(&c.offers[i]) {
			idx = append(idx, i)
		}
	}
	less := q.Less()
	slices.SortFunc(idx, func(a, b int) int { return less(&c.offers[a], &c.offers[b]) })
	if q.Limit > 0 && len(idx) > q.Limit {
		idx = idx[:q.Limit]
	}
	var buf bytes.Buffer
	buf.Grow(len(idx)*2800 + 16)
	buf.WriteString(`{"offers": [`)
	nowSec := float64(now.UnixNano()) / 1e9
	for k, i := range idx {
		if k > 0 {
			buf.WriteString(", ")
		}
		if err := c.encode(&buf, i, nowSec); err != nil {
			return apiErr(500, "server_error", err.Error())
		}
	}
	buf.WriteString("]}")
	return reply{status: 200, body: buf.Bytes(), ctype: "application/json"}
}

func (s *Sim) handleGPUNames(_ *http.Request, _ []byte, _ route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return jsonReply(200, map[string]any{"success": true, "gpu_names": s.gpuNames})
}
