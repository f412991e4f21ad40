package vastapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// MarshalJSON writes the filters in order, then order, type, limit, allocated_storage, extras.
func (q Query) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	n := 0
	key := func(k string) {
		if n > 0 {
			buf.WriteString(", ")
		}
		n++
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteString(": ")
	}
	for _, f := range q.Filters {
		key(f.Field)
		buf.WriteByte('{')
		for i, c := range f.Conds {
			if i > 0 {
				buf.WriteString(", ")
			}
			ob, _ := json.Marshal(string(c.Op))
			buf.Write(ob)
			buf.WriteString(": ")
			vb, err := c.Value.MarshalJSON()
			if err != nil {
				return nil, fmt.Errorf("filter %s: %w", f.Field, err)
			}
			buf.Write(vb)
		}
		buf.WriteByte('}')
	}
	if q.Order != nil {
		key("order")
		buf.WriteByte('[')
		for i, o := range q.Order {
			if i > 0 {
				buf.WriteString(", ")
			}
			dir := "asc"
			if o.Desc {
				dir = "desc"
			}
			fb, _ := json.Marshal(o.Field)
			fmt.Fprintf(&buf, "[%s, %q]", fb, dir)
		}
		buf.WriteByte(']')
	}
	if q.Type != "" {
		key("type")
		tb, _ := json.Marshal(string(q.Type))
		buf.Write(tb)
	}
	if q.Limit != 0 {
		key("limit")
		buf.WriteString(strconv.Itoa(q.Limit))
	}
	if q.AllocatedStorage.Valid {
		key("allocated_storage")
		sb, _ := json.Marshal(q.AllocatedStorage.V)
		buf.Write(sb)
	}
	for _, e := range q.Extra {
		key(e.Key)
		buf.Write(e.Value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads a query object as the API would receive it, keeping key order. Column
// values may be an object of operators or, as some clients send, a bare value meaning eq.
func (q *Query) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("query: want a JSON object")
	}
	var out Query
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		k := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("query key %q: %w", k, err)
		}
		if err := out.setRaw(k, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("query: trailing data")
	}
	*q = out
	return nil
}

// setRaw sets key k of the query from its JSON value.
func (q *Query) setRaw(k string, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	switch k {
	case "order":
		return q.setOrder(raw)
	case "type":
		return q.setType(raw)
	case "limit":
		return q.setLimit(raw)
	case "allocated_storage":
		return q.setAllocatedStorage(raw)
	}
	if IsTopLevelKey(k) {
		q.Extra = append(q.Extra, RawKey{Key: k, Value: append(json.RawMessage(nil), raw...)})
		return nil
	}
	f, err := parseFilter(k, raw)
	if err != nil {
		return err
	}
	if q.Filter(k) != nil {
		q.Delete(k)
	}
	q.Filters = append(q.Filters, f)
	return nil
}

func (q *Query) setOrder(raw json.RawMessage) error {
	if string(raw) == "null" {
		return nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return fmt.Errorf("query key \"order\": want [[column, \"asc\"|\"desc\"], ...]: %w", err)
	}
	q.Order = []OrderBy{}
	for _, p := range pairs {
		if len(p) == 0 || len(p) > 2 || p[0] == "" {
			return fmt.Errorf("query key \"order\": want [column, direction], got %q", p)
		}
		o := OrderBy{Field: p[0]}
		if len(p) == 2 {
			switch p[1] {
			case "asc", "":
			case "desc":
				o.Desc = true
			default:
				return fmt.Errorf("query key \"order\": direction %q is not asc or desc", p[1])
			}
		}
		q.Order = append(q.Order, o)
	}
	return nil
}

func (q *Query) setType(raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("query key \"type\": want a string: %w", err)
	}
	switch OfferType(s) {
	case OnDemand, "ondemand":
		q.Type = OnDemand
	case Bid, "interruptible":
		q.Type = Bid
	case Reserved:
		q.Type = Reserved
	default:
		return fmt.Errorf("query key \"type\": %q is not on-demand, bid or reserved", s)
	}
	return nil
}

func (q *Query) setLimit(raw json.RawMessage) error {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return fmt.Errorf("query key \"limit\": want a number")
		}
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("query key \"limit\": want a number, got %q", s)
		}
	}
	if f < 0 || f > 1e9 {
		return fmt.Errorf("query key \"limit\": %v out of range", f)
	}
	q.Limit = int(f)
	return nil
}

func (q *Query) setAllocatedStorage(raw json.RawMessage) error {
	var v Value
	if err := v.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("query key \"allocated_storage\": %w", err)
	}
	if v.Kind == KindNull {
		return nil
	}
	f, ok := v.Float()
	if !ok || f < 0 {
		return fmt.Errorf("query key \"allocated_storage\": want a non-negative number of GB")
	}
	q.AllocatedStorage = Some(f)
	return nil
}

// parseFilter reads the conditions on column k: an object of operators, or a bare value
// meaning eq.
func parseFilter(k string, raw json.RawMessage) (Filter, error) {
	f := Filter{Field: k}
	if len(raw) == 0 || raw[0] != '{' {
		var v Value
		if err := v.UnmarshalJSON(raw); err != nil {
			return f, fmt.Errorf("query column %q: %w", k, err)
		}
		f.Conds = []Cond{{Op: OpEq, Value: v}}
		return f, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return f, fmt.Errorf("query column %q: %w", k, err)
	}
	for dec.More() {
		ot, err := dec.Token()
		if err != nil {
			return f, fmt.Errorf("query column %q: %w", k, err)
		}
		op := Op(ot.(string))
		if !op.Valid() {
			return f, fmt.Errorf("query column %q: unknown operator %q", k, op)
		}
		var v Value
		if err := dec.Decode(&v); err != nil {
			return f, fmt.Errorf("query column %q op %s: %w", k, op, err)
		}
		f.Conds = append(f.Conds, Cond{Op: op, Value: v})
	}
	return f, nil
}
