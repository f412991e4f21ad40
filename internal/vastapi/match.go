package vastapi

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Matching and ordering of offers against the wire query object, shared by the simulator (which
// answers searches with it) and the daemon (which re-checks every offer a search returns).
//
// Semantics (docs/vast-api.md §2):
//   - A column the offer leaves null is unknown, not a mismatch: every condition on it passes.
//   - Numeric strings equal the numbers they spell; booleans compare as 1/0.
//   - Virtual columns are evaluated through fields replies carry: verified → verification,
//     datacenter → hosting_type==1, geolocation codes → the ", CC" suffix, duration → end_date−now.
//   - `rented` is accepted and not filtered (the server ignores it).
//   - `allocated_storage` also acts as disk_space >= value; `target_reliability` as
//     expected_reliability >= value.
//   - Unknown columns are ignored, as the server does not reject them and the CLI sends them
//     after a warning; Matcher.Unknown lists them so a caller can warn too.

// operand is a compiled condition value.
type operand struct {
	null  bool
	isNum bool
	num   float64
	str   string
}

type cond struct {
	name  string
	f     field
	op    Op
	one   operand
	list  []operand
	isGeo bool
}

// Matcher is a query compiled for fast repeated matching.
type Matcher struct {
	conds   []cond
	now     float64
	Unknown []string // columns matching does not know; they never filter

	storage  float64
	hasStore bool
	typ      OfferType
}

func compileOperand(f field, v Value) (operand, error) {
	switch v.Kind {
	case KindNull:
		return operand{null: true}, nil
	case KindNumber:
		return operand{isNum: true, num: v.Num, str: strconv.FormatFloat(v.Num, 'f', -1, 64)}, nil
	case KindBool:
		return operand{isNum: true, num: b2f(v.Bool), str: strconv.FormatBool(v.Bool)}, nil
	case KindString:
		s := v.Str
		if f.driver && strings.Contains(s, ".") {
			if d, ok := DriverVersInt(s); ok {
				return operand{isNum: true, num: float64(d), str: s}, nil
			}
		}
		if x, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsNaN(x) {
			return operand{isNum: true, num: x, str: s}, nil
		}
		switch strings.ToLower(s) {
		case "true":
			if f.kind == fkNum {
				return operand{isNum: true, num: 1, str: s}, nil
			}
		case "false":
			if f.kind == fkNum {
				return operand{isNum: true, num: 0, str: s}, nil
			}
		}
		return operand{str: s}, nil
	}
	return operand{}, fmt.Errorf("list value where a scalar is expected")
}

// Compile prepares q for matching at now. It fails on an operator that is not valid or a value
// of the wrong shape (a list for a scalar operator).
func (q *Query) Compile(now time.Time) (*Matcher, error) {
	m := &Matcher{now: epoch(now), typ: q.Type}
	add := func(name string, c Cond) error {
		if !c.Op.Valid() {
			return fmt.Errorf("column %q: unknown operator %q", name, c.Op)
		}
		f := fields[name]
		cc := cond{name: name, f: f, op: c.Op, isGeo: f.kind == fkGeo}
		if c.Op == OpIn || c.Op == OpNotIn {
			items := []Value{c.Value}
			if c.Value.Kind == KindList {
				items = c.Value.List
			}
			for _, it := range items {
				o, err := compileOperand(f, it)
				if err != nil {
					return fmt.Errorf("column %q %s: %w", name, c.Op, err)
				}
				cc.list = append(cc.list, o)
			}
		} else {
			o, err := compileOperand(f, c.Value)
			if err != nil {
				return fmt.Errorf("column %q %s: %w", name, c.Op, err)
			}
			cc.one = o
		}
		m.conds = append(m.conds, cc)
		return nil
	}
	for _, fl := range q.Filters {
		if ignoredColumns[fl.Field] {
			continue
		}
		if _, ok := fields[fl.Field]; !ok {
			m.Unknown = append(m.Unknown, fl.Field)
			continue
		}
		for _, c := range fl.Conds {
			if err := add(fl.Field, c); err != nil {
				return nil, err
			}
		}
	}
	if q.AllocatedStorage.Valid {
		m.storage, m.hasStore = q.AllocatedStorage.V, true
		if err := add("disk_space", Cond{Op: OpGte, Value: NumberValue(q.AllocatedStorage.V)}); err != nil {
			return nil, err
		}
	}
	for _, e := range q.Extra {
		if e.Key != "target_reliability" {
			continue
		}
		var v Value
		if err := v.UnmarshalJSON(e.Value); err != nil {
			return nil, fmt.Errorf("target_reliability: %w", err)
		}
		if v.Kind != KindNull {
			if err := add("expected_reliability", Cond{Op: OpGte, Value: v}); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Match reports whether o satisfies q at now. Use Compile for repeated matching.
func (q *Query) Match(o *Offer, now time.Time) bool {
	m, err := q.Compile(now)
	if err != nil {
		return false
	}
	return m.Match(o)
}

// Match reports whether o satisfies every condition. Conditions on columns the offer leaves null
// pass (unknown is not a mismatch).
func (m *Matcher) Match(o *Offer) bool {
	for i := range m.conds {
		if !m.conds[i].match(o, m.now) {
			return false
		}
	}
	return true
}

func (c *cond) match(o *Offer, now float64) bool {
	if c.f.kind == fkNum {
		x, ok := c.f.num(o, now)
		if !ok {
			return true
		}
		switch c.op {
		case OpIn, OpNotIn:
			in := false
			for i := range c.list {
				if numEq(x, &c.list[i]) {
					in = true
					break
				}
			}
			return in == (c.op == OpIn)
		}
		if !c.one.isNum {
			// eq null against a known value is false; neq null is true.
			return c.op == OpNeq
		}
		y := c.one.num
		switch c.op {
		case OpEq:
			return x == y
		case OpNeq:
			return x != y
		case OpGt:
			return x > y
		case OpGte:
			return x >= y
		case OpLt:
			return x < y
		case OpLte:
			return x <= y
		}
		return false
	}
	s, ok := c.f.str(o)
	if !ok {
		return true
	}
	code := ""
	if c.isGeo {
		code = countryCode(s)
	}
	cmpStr := func(op *operand) (int, bool) {
		if op.null {
			return 0, false
		}
		t := s
		if c.isGeo && len(op.str) == 2 {
			t = code
		}
		if op.isNum {
			if x, err := strconv.ParseFloat(strings.TrimSpace(t), 64); err == nil {
				return cmp.Compare(x, op.num), true
			}
		}
		return strings.Compare(t, op.str), true
	}
	switch c.op {
	case OpIn, OpNotIn:
		in := false
		for i := range c.list {
			if r, ok := cmpStr(&c.list[i]); ok && r == 0 {
				in = true
				break
			}
		}
		return in == (c.op == OpIn)
	}
	return cmpOp(c.op, c.one, cmpStr)
}

func numEq(x float64, o *operand) bool { return o.isNum && x == o.num }

// cmpOp applies a scalar operator. compare returns ok=false when the operand cannot be compared
// with the column (null, or a non-numeric string against a number): only neq then holds.
func cmpOp(op Op, v operand, compare func(*operand) (int, bool)) bool {
	r, ok := compare(&v)
	if !ok {
		// eq null against a known value is false; neq null is true.
		return op == OpNeq
	}
	switch op {
	case OpEq:
		return r == 0
	case OpNeq:
		return r != 0
	case OpGt:
		return r > 0
	case OpGte:
		return r >= 0
	case OpLt:
		return r < 0
	case OpLte:
		return r <= 0
	}
	return false
}

// countryCode returns the "CC" of "Region, CC", or s itself when it has no comma.
func countryCode(s string) string {
	if i := strings.LastIndexByte(s, ','); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return strings.TrimSpace(s)
}
