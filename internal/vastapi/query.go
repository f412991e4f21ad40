package vastapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Op is a filter operator of the query object.
type Op string

// The operators of docs/vast-api.md §2.
const (
	OpEq    Op = "eq"
	OpNeq   Op = "neq"
	OpGt    Op = "gt"
	OpGte   Op = "gte"
	OpLt    Op = "lt"
	OpLte   Op = "lte"
	OpIn    Op = "in"
	OpNotIn Op = "notin"
)

// Valid reports whether op is one the API knows.
func (op Op) Valid() bool {
	switch op {
	case OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte, OpIn, OpNotIn:
		return true
	}
	return false
}

// OfferType is the query's `type`.
type OfferType string

// The offer types. The OpenAPI enum spells on-demand "ondemand"; both are accepted on input.
const (
	OnDemand OfferType = "on-demand"
	Bid      OfferType = "bid"
	Reserved OfferType = "reserved"
)

// ValueKind says which JSON type a Value holds.
type ValueKind uint8

// Value kinds.
const (
	KindNull ValueKind = iota
	KindString
	KindNumber
	KindBool
	KindList
)

// Value is a filter operand as it travels on the wire: the CLI sends numbers the user typed as
// strings ("2") and converted ones as numbers (24000.0), so the kind is kept exactly. Matching
// treats a numeric string as the number it spells.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
	List []Value
}

// StringValue, NumberValue, BoolValue, NullValue and ListValue build Values.
func StringValue(s string) Value  { return Value{Kind: KindString, Str: s} }
func NumberValue(f float64) Value { return Value{Kind: KindNumber, Num: f} }
func BoolValue(b bool) Value      { return Value{Kind: KindBool, Bool: b} }
func NullValue() Value            { return Value{} }
func ListValue(vs ...Value) Value { return Value{Kind: KindList, List: vs} }

// Float returns the numeric value of a number or numeric string.
func (v Value) Float() (float64, bool) {
	switch v.Kind {
	case KindNumber:
		return v.Num, true
	case KindString:
		f, err := strconv.ParseFloat(v.Str, 64)
		return f, err == nil
	case KindBool:
		if v.Bool {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// MarshalJSON writes the value as its kind.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case KindNull:
		return []byte("null"), nil
	case KindString:
		return json.Marshal(v.Str)
	case KindNumber:
		return json.Marshal(v.Num)
	case KindBool:
		return json.Marshal(v.Bool)
	case KindList:
		if v.List == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(v.List)
	}
	return nil, fmt.Errorf("vastapi: unknown value kind %d", v.Kind)
}

// UnmarshalJSON reads any JSON scalar or array of scalars.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("empty value")
	}
	switch b[0] {
	case 'n':
		*v = NullValue()
		return nil
	case 't', 'f':
		var x bool
		if err := json.Unmarshal(b, &x); err != nil {
			return err
		}
		*v = BoolValue(x)
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = StringValue(s)
	case '[':
		var l []Value
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		for _, e := range l {
			if e.Kind == KindList {
				return fmt.Errorf("nested list in query value")
			}
		}
		if l == nil {
			l = []Value{}
		}
		*v = ListValue(l...)
	case '{':
		return fmt.Errorf("object is not a query value")
	default:
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		*v = NumberValue(f)
	}
	return nil
}

// Cond is one `op: value` of a filter.
type Cond struct {
	Op    Op
	Value Value
}

// Filter is one column of the query object with its conditions, kept in the order written.
type Filter struct {
	Field string
	Conds []Cond
}

// OrderBy is one `[col, "asc"|"desc"]` of `order`.
type OrderBy struct {
	Field string
	Desc  bool
}

// Query is the wire query object POSTed to /api/v0/bundles/. Filters keep their order so the
// body is deterministic; the top-level keys are written after them as the CLI does.
// Extra holds other top-level keys the API accepts (disable_bundling, extra_ids, …) verbatim.
type Query struct {
	Filters          []Filter
	Order            []OrderBy // nil: key absent
	Type             OfferType // "": key absent
	Limit            int       // 0: key absent
	AllocatedStorage Opt[float64]
	Extra            []RawKey
}

// RawKey is an unmodelled top-level key of the query object.
type RawKey struct {
	Key   string
	Value json.RawMessage
}

// topLevel are the keys that are not column filters.
var topLevel = map[string]bool{
	"order": true, "type": true, "limit": true, "allocated_storage": true,
	"disable_bundling": true, "extra_ids": true, "gpu_option": true, "show_incompatible": true,
	"sort_option": true, "template_id": true, "target_reliability": true,
}

// IsTopLevelKey reports whether key is a top-level key rather than a column filter.
func IsTopLevelKey(key string) bool { return topLevel[key] }

// Filter returns the filter on field, or nil.
func (q *Query) Filter(field string) *Filter {
	for i := range q.Filters {
		if q.Filters[i].Field == field {
			return &q.Filters[i]
		}
	}
	return nil
}

// Set sets field's condition for op, replacing an earlier one with the same op and keeping the
// field's position when it already exists.
func (q *Query) Set(field string, op Op, v Value) {
	if f := q.Filter(field); f != nil {
		for i := range f.Conds {
			if f.Conds[i].Op == op {
				f.Conds[i].Value = v
				return
			}
		}
		f.Conds = append(f.Conds, Cond{Op: op, Value: v})
		return
	}
	q.Filters = append(q.Filters, Filter{Field: field, Conds: []Cond{{Op: op, Value: v}}})
}

// Delete removes field's filter entirely.
func (q *Query) Delete(field string) {
	for i := range q.Filters {
		if q.Filters[i].Field == field {
			q.Filters = append(q.Filters[:i:i], q.Filters[i+1:]...)
			return
		}
	}
}

// Clone returns a deep copy.
func (q Query) Clone() Query {
	c := q
	c.Filters = make([]Filter, len(q.Filters))
	for i, f := range q.Filters {
		c.Filters[i] = Filter{Field: f.Field, Conds: append([]Cond(nil), f.Conds...)}
	}
	if q.Order != nil {
		c.Order = append([]OrderBy{}, q.Order...)
	}
	c.Extra = append([]RawKey(nil), q.Extra...)
	return c
}

// Key is a canonical identity: two queries with equal keys return the same offers, so a poll
// searches each distinct key once.
func (q Query) Key() string {
	b, err := q.MarshalJSON()
	if err != nil {
		return fmt.Sprintf("invalid:%v", err)
	}
	return string(b)
}
