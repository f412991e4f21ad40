package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Derived are the offer fields a recording leaves out: each follows from fields it keeps (the
// prices from dph_base, min_bid, storage_cost and the query's disk and type; duration from
// end_date and the poll's time), so a search reply priced for any query, and every poll's
// ticking duration, record the same. A reader leaves them zero, except duration, which it
// computes from end_date (docs/backtest.md "What a recording holds").
var Derived = []string{
	"dph_total", "dph_total_adj", "storage_total_cost", "vram_costperhour", "dlperf_per_dphtotal",
	"flops_per_dphtotal", "discounted_dph_total", "score", "search", "instance", "is_bid",
	"duration", "time_remaining", "time_remaining_isbid",
}

// kind is how a field's value is written.
type kind uint8

const (
	kInt kind = iota + 1 // int
	kInt64
	kFloat
	kString
	kBool
	kInts
	kOptInt // every Opt kind after this one
	kOptInt64
	kOptFloat
	kOptString
	kOptBool
)

// field is one recorded offer field: its JSON name, how it is written, and where it is in an
// Offer (an Opt's Valid flag at valid).
type field struct {
	name  string
	kind  kind
	off   uintptr
	valid uintptr
}

// fields is the recorded fields of vastapi.Offer in declaration order, from its json tags: a
// field added to Offer is recorded without an edit here, and one of a type this file cannot
// write stops the program at start (TestEveryOfferFieldIsRecordedOrDerived).
var fields = offerFields()

var fieldByName = func() map[string]int {
	m := make(map[string]int, len(fields))
	for i, f := range fields {
		m[f.name] = i
	}
	return m
}()

func offerFields() []field {
	derived := map[string]bool{}
	for _, d := range Derived {
		derived[d] = true
	}
	t := reflect.TypeFor[vastapi.Offer]()
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		// The id is written on its own, before the fields, and never as a change.
		if name == "" || name == "-" || name == "id" || derived[name] {
			continue
		}
		k, err := kindOf(sf.Type)
		if err != nil {
			panic(fmt.Sprintf("record: offer field %s: %v", name, err))
		}
		f := field{name: name, kind: k, off: sf.Offset}
		if k >= kOptInt {
			f.off += sf.Type.Field(0).Offset
			f.valid = sf.Offset + sf.Type.Field(1).Offset
		}
		out = append(out, f)
	}
	return out
}

func kindOf(t reflect.Type) (kind, error) {
	switch t.Kind() {
	case reflect.Int:
		return kInt, nil
	case reflect.Int64:
		return kInt64, nil
	case reflect.Float64:
		return kFloat, nil
	case reflect.String:
		return kString, nil
	case reflect.Bool:
		return kBool, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Int64 {
			return kInts, nil
		}
	case reflect.Struct:
		if strings.HasPrefix(t.Name(), "Opt[") {
			inner, err := kindOf(t.Field(0).Type)
			if err != nil {
				return 0, err
			}
			switch inner {
			case kInt:
				return kOptInt, nil
			case kInt64:
				return kOptInt64, nil
			case kFloat:
				return kOptFloat, nil
			case kString:
				return kOptString, nil
			case kBool:
				return kOptBool, nil
			}
		}
	}
	return 0, fmt.Errorf("type %s cannot be recorded", t)
}

// errCorrupt is wrapped by every error of a frame whose content cannot be decoded.
var errCorrupt = errors.New("corrupt frame")

// enc appends values to a buffer.
type enc struct{ b []byte }

func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *enc) boolean(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// float writes x as a decimal with the fewest digits (0 to 9) that give it back exactly,
// as a tag and a varint, else as its 8 bytes behind tag 0xff. Prices are mostly short
// decimals: 0.412345 takes 4 bytes rather than 8, and compresses better.
func (e *enc) float(x float64) {
	p := 1.0
	for k := range 10 {
		v := math.Round(x * p)
		if math.Abs(v) < 1<<53 && v/p == x && !(x == 0 && math.Signbit(x)) {
			e.b = append(e.b, byte(k))
			e.varint(int64(v))
			return
		}
		p *= 10
	}
	e.b = append(e.b, 0xff)
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(x))
}

var pow10 = [10]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// dec reads what enc wrote. The first error sticks; every read after it returns zero.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errCorrupt, what)
	}
	d.b = nil
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) byte() byte {
	if len(d.b) == 0 {
		d.fail("short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// count reads a length that must fit in what is left, each element taking at least one byte.
func (d *dec) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length past the end")
		return 0
	}
	return int(n)
}

func (d *dec) str() string {
	n := d.count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) boolean() bool { return d.byte() != 0 }

func (d *dec) float() float64 {
	k := d.byte()
	switch {
	case k < 10:
		return float64(d.varint()) / pow10[k]
	case k == 0xff:
		if len(d.b) < 8 {
			d.fail("short float")
			return 0
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return v
	}
	d.fail("bad float tag")
	return 0
}
