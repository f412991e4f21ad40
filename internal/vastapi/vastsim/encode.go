package vastsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// A search reply is the bulk of what the simulator writes: a daemon polling a 5,000-offer market
// has every offer encoded on every poll. encoding/json allocates the whole offer's JSON and every
// Opt field's on the way, megabytes of garbage per reply; appendOffer writes the same bytes
// (encoding/json's key order, number and string forms) straight into the reply's buffer.

// fieldKind is how one field of an offer is written.
type fieldKind uint8

const (
	kInt fieldKind = iota
	kFloat
	kString
	kBool
	kInts   // []int64: null when nil
	kStruct // a nested object (PriceBreakdown)
	kOpt    // vastapi.Opt[T]: null, or T as above
)

// fieldEnc writes one field: its `"name":` prefix and its value.
type fieldEnc struct {
	key   string // `"name":`, with the comma before all but the first field
	index int
	kind  fieldKind
	elem  fieldKind    // of an Opt
	sub   []fieldEnc   // of a struct
	dur   bool         // the offer's `duration`, computed from end_date at write time
	typ   reflect.Type // for errors
}

// offerFields is the write plan of vastapi.Offer, or the reason it cannot be made (a field of a
// kind appendOffer does not know), in which case offers are encoded with encoding/json. It is
// read from Offer's json tags, the same column list vastapi's decoder is generated from, so a new
// field needs nothing here.
var offerFields, offerFieldsErr = planFields(reflect.TypeFor[vastapi.Offer](), true)

func planFields(t reflect.Type, top bool) ([]fieldEnc, error) {
	var out []fieldEnc
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || opts != "" || name == "" {
			return nil, fmt.Errorf("field %s: tag %q not supported", f.Name, f.Tag.Get("json"))
		}
		fe := fieldEnc{key: `"` + name + `":`, index: i, typ: f.Type, dur: top && name == "duration"}
		if len(out) > 0 {
			fe.key = "," + fe.key
		}
		var err error
		if fe.kind, err = kindOf(f.Type); err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		switch fe.kind {
		case kOpt:
			if fe.elem, err = kindOf(f.Type.Field(0).Type); err != nil || fe.elem > kBool {
				return nil, fmt.Errorf("field %s: Opt of %s not supported", f.Name, f.Type.Field(0).Type)
			}
		case kStruct:
			if fe.sub, err = planFields(f.Type, false); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		out = append(out, fe)
	}
	return out, nil
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

func kindOf(t reflect.Type) (fieldKind, error) {
	switch {
	case t.Kind() == reflect.Struct && strings.HasPrefix(t.Name(), "Opt[") && t.NumField() == 2 &&
		t.Field(0).Name == "V" && t.Field(1).Name == "Valid":
		return kOpt, nil
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		return 0, fmt.Errorf("%s has its own MarshalJSON", t)
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kInt, nil
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
		return kStruct, nil
	}
	return 0, fmt.Errorf("%s not supported", t)
}

// appendOffer appends o's JSON as encoding/json writes it, except `duration`, which is end_date
// - now ('f' form) or null. It fails, as encoding/json does, on a NaN or infinite number.
func appendOffer(b []byte, o *vastapi.Offer, now float64) ([]byte, error) {
	if offerFieldsErr != nil {
		return appendOfferJSON(b, o, now)
	}
	return appendFields(b, offerFields, reflect.ValueOf(o).Elem(), o, now, nil)
}

// appendOfferSplit appends o's JSON without the value of `duration`, and where it goes: the form
// a cached offer is kept in (see encOffer).
func appendOfferSplit(b []byte, o *vastapi.Offer) ([]byte, int, error) {
	if offerFieldsErr != nil {
		return appendOfferJSONSplit(b, o)
	}
	at := -1
	b, err := appendFields(b, offerFields, reflect.ValueOf(o).Elem(), o, 0, &at)
	return b, at, err
}

// appendFields writes the object v by fields; durAt, when not nil, receives the offset of the
// duration value instead of the value.
func appendFields(b []byte, fields []fieldEnc, v reflect.Value, o *vastapi.Offer, now float64, durAt *int) ([]byte, error) {
	b = append(b, '{')
	for i := range fields {
		f := &fields[i]
		b = append(b, f.key...)
		if f.dur {
			if durAt != nil {
				*durAt = len(b)
			} else {
				b = appendDuration(b, o.EndDate, now)
			}
			continue
		}
		fv := v.Field(f.index)
		var err error
		switch f.kind {
		case kStruct:
			b, err = appendFields(b, f.sub, fv, o, now, durAt)
		case kOpt:
			if !fv.Field(1).Bool() {
				b = append(b, "null"...)
				continue
			}
			b, err = appendValue(b, f.elem, fv.Field(0))
		default:
			b, err = appendValue(b, f.kind, fv)
		}
		if err != nil {
			return b, fmt.Errorf("encode offer %d: %s: %w", o.ID, strings.Trim(f.key, `,":`), err)
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, k fieldKind, v reflect.Value) ([]byte, error) {
	switch k {
	case kInt:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case kFloat:
		return appendFloat(b, v.Float())
	case kString:
		return appendString(b, v.String()), nil
	case kBool:
		return strconv.AppendBool(b, v.Bool()), nil
	case kInts:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for j := range v.Len() {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v.Index(j).Int(), 10)
		}
		return append(b, ']'), nil
	}
	return b, fmt.Errorf("kind %d not supported", k)
}

// appendFloat writes f as encoding/json does: 'f' form, 'e' form outside [1e-6, 1e21).
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("unsupported value %v", f)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendString writes s quoted with encoding/json's escapes: \" \\ \b \f \n \r \t, \u00XX for
// other control bytes and the HTML-unsafe < > &, \u2028 and \u2029, and \ufffd for each byte of
// invalid UTF-8.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendDuration writes an offer's duration: end_date - now in 'f' form, or null.
func appendDuration(b []byte, endDate vastapi.Opt[float64], now float64) []byte {
	if !endDate.Valid {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, endDate.V-now, 'f', -1, 64)
}

// durationMark is a sentinel whose encoding locates `duration` in encoding/json's output.
const durationMark = -987654321.125

// appendOfferJSON is appendOffer through encoding/json, for an Offer type appendOffer cannot plan.
func appendOfferJSON(b []byte, o *vastapi.Offer, now float64) ([]byte, error) {
	b, at, err := appendOfferJSONSplit(b, o)
	if err != nil {
		return b, err
	}
	tail := bytes.Clone(b[at:])
	return append(appendDuration(b[:at], o.EndDate, now), tail...), nil
}

// appendOfferJSONSplit is appendOfferSplit through encoding/json.
func appendOfferJSONSplit(b []byte, o *vastapi.Offer) ([]byte, int, error) {
	v := *o
	v.Duration = vastapi.Some(durationMark)
	j, err := json.Marshal(v)
	if err != nil {
		return b, 0, fmt.Errorf("encode offer %d: %w", v.ID, err)
	}
	mark := strconv.AppendFloat([]byte(`"duration":`), durationMark, 'f', -1, 64)
	i := bytes.Index(j, mark)
	if i < 0 {
		return b, 0, fmt.Errorf("encode offer %d: duration not found", v.ID)
	}
	i += len(`"duration":`)
	at := len(b) + i
	b = append(b, j[:i]...)
	return append(b, j[i+len(mark)-len(`"duration":`):]...), at, nil
}

// encOffer is an offer's JSON kept without its duration, which is written when the offer is.
type encOffer struct {
	json    []byte
	at      int // where the duration value goes
	endDate vastapi.Opt[float64]
}

func (e *encOffer) write(buf *bytes.Buffer, now float64) {
	buf.Write(e.json[:e.at])
	buf.Write(appendDuration(buf.AvailableBuffer(), e.endDate, now))
	buf.Write(e.json[e.at:])
}
