package vastsim

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// v1Filterable are the stored instance columns the v1 list filters on; computed ones
// (dph_total, num_gpus, …) are rejected with 400 invalid_request, as docs/vast-api.md §4 says.
var v1Filterable = map[string]bool{
	"id": true, "actual_status": true, "intended_status": true, "cur_state": true, "next_state": true,
	"gpu_name": true, "verification": true, "label": true, "machine_id": true, "host_id": true,
	"image_uuid": true, "is_bid": true, "start_date": true, "template_hash_id": true,
	"geolocation": true, "status_msg": true, "bundle_id": true,
}

// PageSize is the v1 list's maximum page size.
const PageSize = 25

type orderCol struct {
	Col string `json:"col"`
	Dir string `json:"dir"`
}

// handleListV1 serves GET /api/v1/instances/: filters on stored columns, order_by with id
// breaking ties, pages of at most 25 chained by an opaque next_token.
func (s *Sim) handleListV1(r *http.Request, _ []byte, _ route) reply {
	q, refused := parseV1Query(r.URL.Query())
	if refused != nil {
		return *refused
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, labels := s.v1Rows(q, s.now())
	offset := 0
	if q.after != "" {
		var ok bool
		if offset, ok = s.parseToken(q.after, q.shape); !ok || offset > len(rows) {
			return apiErr(400, "invalid_token", "Invalid or expired after_token.")
		}
	}
	end := min(len(rows), offset+q.limit)
	page := make([]any, 0, end-offset)
	for _, rw := range rows[offset:end] {
		if q.cols == nil {
			page = append(page, rw.m)
			continue
		}
		p := map[string]any{}
		for _, c := range q.cols {
			p[c] = rw.m[c] // unknown columns read null
		}
		page = append(page, p)
	}
	var next any
	if end < len(rows) {
		next = s.token(end, q.shape)
	}
	return jsonReply(200, map[string]any{
		"success": true, "instances_found": len(page), "total_instances": len(rows),
		"label_counts": labels, "next_token": next, "instances": page,
	})
}

// v1Query is a v1 list request that passed its checks.
type v1Query struct {
	conds []v1Cond
	order []orderCol
	limit int
	cols  []string // nil: every column
	shape string   // what a next_token is bound to: the filters and the order
	after string   // after_token
}

// v1Cond is one condition on a stored column.
type v1Cond struct {
	col string
	c   vastapi.Cond
}

// parseV1Query reads and checks the list's parameters; a refused request gets its reply.
func parseV1Query(qv url.Values) (*v1Query, *reply) {
	refuse := func(msg string) (*v1Query, *reply) {
		r := apiErr(400, "invalid_request", msg)
		return nil, &r
	}
	q := &v1Query{
		order: []orderCol{{Col: "id", Dir: "asc"}},
		limit: PageSize,
		shape: qv.Get("select_filters") + "|" + qv.Get("order_by"),
		after: qv.Get("after_token"),
	}
	var filters map[string]json.RawMessage
	if raw := qv.Get("select_filters"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &filters); err != nil {
			return refuse("select_filters must be a JSON object")
		}
	}
	for col, raw := range filters {
		if !v1Filterable[col] {
			return refuse(fmt.Sprintf("cannot filter on column %q", col))
		}
		var f vastapi.Query
		if err := json.Unmarshal([]byte(`{"c":`+string(raw)+`}`), &f); err != nil || len(f.Filters) != 1 {
			return refuse(fmt.Sprintf("bad filter on %q", col))
		}
		for _, c := range f.Filters[0].Conds {
			q.conds = append(q.conds, v1Cond{col, c})
		}
	}
	if raw := qv.Get("order_by"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &q.order); err != nil {
			return refuse("order_by must be a list of {col, dir}")
		}
	}
	if l := qv.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return refuse("limit must be an integer")
		}
		switch {
		case n <= 0:
			q.limit = 5
		case n < PageSize:
			q.limit = n
		}
	}
	if raw := qv.Get("select_cols"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &q.cols); err != nil {
			return refuse("select_cols must be a list of column names")
		}
		if slices.Contains(q.cols, "*") {
			q.cols = nil
		}
	}
	return q, nil
}

// v1Row is a live instance as the list shows it.
type v1Row struct {
	id int64
	m  map[string]any
}

// v1Rows are the live instances q selects, in q's order, and how many of them carry each label.
// Callers hold s.mu.
func (s *Sim) v1Rows(q *v1Query, now time.Time) ([]v1Row, map[string]int) {
	var rows []v1Row
	labels := map[string]int{}
	for _, in := range s.instList {
		if in.destroyed {
			continue
		}
		b, _ := json.Marshal(s.view(in, now))
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		ok := true
		for _, c := range q.conds {
			if !condHolds(m[c.col], c.c) {
				ok = false
				break
			}
		}
		if ok {
			rows = append(rows, v1Row{id: in.id, m: m})
			labels[in.label.V]++
		}
	}
	slices.SortStableFunc(rows, func(a, b v1Row) int {
		for _, o := range q.order {
			r := compareAny(a.m[o.Col], b.m[o.Col])
			if o.Dir == "desc" {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return cmp.Compare(a.id, b.id)
	})
	return rows, labels
}

// token encodes a page offset bound to the query shape and the seed, so a token from another
// query or a hand-made one is rejected.
func (s *Sim) token(offset int, shape string) string {
	raw := fmt.Sprintf("%d.%08x", offset, hash32(fmt.Sprint(s.opts.Seed, offset, shape)))
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func (s *Sim) parseToken(tok, shape string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	off, _, ok := strings.Cut(string(b), ".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(off)
	if err != nil || n < 0 || s.token(n, shape) != tok {
		return 0, false
	}
	return n, true
}

// condHolds evaluates one filter condition on a decoded JSON value.
func condHolds(v any, c vastapi.Cond) bool {
	eq := func(w vastapi.Value) bool { return compareValue(v, w) == 0 }
	switch c.Op {
	case vastapi.OpIn, vastapi.OpNotIn:
		in := false
		for _, w := range c.Value.List {
			if eq(w) {
				in = true
				break
			}
		}
		return in == (c.Op == vastapi.OpIn)
	}
	r := compareValue(v, c.Value)
	switch c.Op {
	case vastapi.OpEq:
		return r == 0
	case vastapi.OpNeq:
		return r != 0
	case vastapi.OpGt:
		return r > 0 && r != incomparable
	case vastapi.OpGte:
		return r >= 0 && r != incomparable
	case vastapi.OpLt:
		return r < 0
	case vastapi.OpLte:
		return r <= 0
	}
	return false
}

const incomparable = 2

func compareValue(v any, w vastapi.Value) int {
	switch x := v.(type) {
	case nil:
		if w.Kind == vastapi.KindNull {
			return 0
		}
		return incomparable
	case float64:
		if f, ok := w.Float(); ok {
			return cmp.Compare(x, f)
		}
	case bool:
		if f, ok := w.Float(); ok {
			b := 0.0
			if x {
				b = 1
			}
			return cmp.Compare(b, f)
		}
	case string:
		if w.Kind == vastapi.KindString {
			return strings.Compare(x, w.Str)
		}
	}
	return incomparable
}

func compareAny(a, b any) int {
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	}
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Compare(ab, bb)
}
