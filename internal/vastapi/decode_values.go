package vastapi

import (
	"fmt"
	"strconv"
	"strings"
)

// Scalar readers. Each consumes one value; null leaves the destination as it is (as
// encoding/json does), and a string holding a number is read as that number. The generated field
// switches (columns_gen.go) call them by the Go type of the field.

// errType is a value of the wrong JSON type for its field.
type errType struct{ want string }

func (e errType) Error() string { return "want " + e.want }

// fieldErr names the field an error occurred in; name is a constant, never input.
func fieldErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("field %s: %w", name, err)
}

func (s *scanner) float(dst *float64) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch {
	case c == 'n':
		return s.literal("null")
	case c == '"':
		b, err := s.rawString()
		if err != nil {
			return err
		}
		b = trimSpace(b)
		if len(b) == 0 {
			return nil
		}
		f, err := parseQuotedFloat(b)
		if err != nil {
			return err
		}
		*dst = f
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		b, err := s.number()
		if err != nil {
			return err
		}
		if f, ok := fastFloat(b); ok {
			*dst = f
			return nil
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return errType{"a number in range"}
		}
		*dst = f
		return nil
	}
	if err := s.skip(); err != nil {
		return err
	}
	return errType{"a number"}
}

func (s *scanner) intBits(bits int) (int64, bool, error) {
	c, err := s.peek()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c == 'n':
		return 0, false, s.literal("null")
	case c == '"':
		b, err := s.rawString()
		if err != nil {
			return 0, false, err
		}
		b = trimSpace(b)
		if len(b) == 0 {
			return 0, false, nil
		}
		if !validNumber(b) {
			return 0, false, errType{"an integer"}
		}
		n, err := parseInt(b, bits)
		return n, err == nil, err
	case c == '-' || (c >= '0' && c <= '9'):
		b, err := s.number()
		if err != nil {
			return 0, false, err
		}
		n, err := parseInt(b, bits)
		return n, err == nil, err
	}
	if err := s.skip(); err != nil {
		return 0, false, err
	}
	return 0, false, errType{"an integer"}
}

func (s *scanner) int64(dst *int64) error {
	n, ok, err := s.intBits(64)
	if ok {
		*dst = n
	}
	return err
}

func (s *scanner) int(dst *int) error {
	n, ok, err := s.intBits(strconv.IntSize)
	if ok {
		*dst = int(n)
	}
	return err
}

func (s *scanner) bool(dst *bool) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch c {
	case 't':
		*dst = true
		return s.literal("true")
	case 'f':
		*dst = false
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		// Flags such as billing_creditonly and has_avx arrive as 0/1 numbers.
		var f float64
		if err := s.float(&f); err != nil {
			return err
		}
		*dst = f != 0
		return nil
	}
	if err := s.skip(); err != nil {
		return err
	}
	return errType{"a boolean"}
}

// stringOrNumber reads a string, or the text of a number (the API is loose about ids in
// string fields). ok is false for null.
func (s *scanner) stringOrNumber() (string, bool, error) {
	c, err := s.peek()
	if err != nil {
		return "", false, err
	}
	switch {
	case c == '"':
		b, err := s.rawString()
		if err != nil {
			return "", false, err
		}
		return s.toString(b), true, nil
	case c == 'n':
		return "", false, s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		b, err := s.number()
		if err != nil {
			return "", false, err
		}
		return string(b), true, nil
	}
	if err := s.skip(); err != nil {
		return "", false, err
	}
	return "", false, errType{"a string"}
}

func (s *scanner) str(dst *string) error {
	v, ok, err := s.stringOrNumber()
	if ok {
		*dst = v
	}
	return err
}

// trimmedStr reads a string field whose surrounding spaces the API sends by accident
// (public_ipaddr).
func (s *scanner) trimmedStr(dst *string) error {
	err := s.str(dst)
	*dst = strings.TrimSpace(*dst)
	return err
}

func (s *scanner) optStr(dst *Opt[string]) error {
	v, ok, err := s.stringOrNumber()
	if err != nil {
		return err
	}
	*dst = Opt[string]{V: v, Valid: ok}
	return nil
}

func (s *scanner) optFloat(dst *Opt[float64]) error {
	null, err := s.isNull()
	if err != nil {
		return err
	}
	if null {
		*dst = Opt[float64]{}
		return nil
	}
	var f float64
	c, _ := s.peek()
	if c == '"' {
		// An empty string is absent, like Opt.UnmarshalJSON.
		b, err := s.rawString()
		if err != nil {
			return err
		}
		b = trimSpace(b)
		if len(b) == 0 {
			*dst = Opt[float64]{}
			return nil
		}
		if f, err = parseQuotedFloat(b); err != nil {
			return err
		}
		*dst = Some(f)
		return nil
	}
	if err := s.float(&f); err != nil {
		return err
	}
	*dst = Some(f)
	return nil
}

func (s *scanner) optInt64(dst *Opt[int64]) error {
	n, ok, err := s.intBits(64)
	if err != nil {
		return err
	}
	*dst = Opt[int64]{V: n, Valid: ok}
	return nil
}

func (s *scanner) optInt(dst *Opt[int]) error {
	n, ok, err := s.intBits(strconv.IntSize)
	if err != nil {
		return err
	}
	*dst = Opt[int]{V: int(n), Valid: ok}
	return nil
}

func (s *scanner) optBool(dst *Opt[bool]) error {
	null, err := s.isNull()
	if err != nil {
		return err
	}
	if null {
		*dst = Opt[bool]{}
		return nil
	}
	var b bool
	if err := s.bool(&b); err != nil {
		return err
	}
	*dst = Some(b)
	return nil
}

func (s *scanner) secret(dst *Secret) error {
	v, ok, err := s.stringOrNumber()
	if err != nil {
		return err
	}
	if !ok {
		*dst = Secret{}
		return nil
	}
	*dst = NewSecret(v)
	return nil
}

// int64s reads a list of integers; null gives nil and [] an empty list, as encoding/json does.
func (s *scanner) int64s(dst *[]int64) error {
	return readList(s, dst, "a list of integers", s.int64)
}

// strs reads a list of strings, like int64s.
func (s *scanner) strs(dst *[]string) error {
	return readList(s, dst, "a list of strings", s.str)
}

// readList reads a JSON list whose items read decodes; null gives nil and [] an empty list.
func readList[T any](s *scanner, dst *[]T, what string, read func(*T) error) error {
	null, err := s.isNull()
	if err != nil || null {
		if null {
			*dst = nil
		}
		return err
	}
	c, _ := s.peek()
	if c != '[' {
		if err := s.skip(); err != nil {
			return err
		}
		return errType{what}
	}
	// Always a fresh slice: a decoded value may be copied out and must not share memory.
	out := []T{}
	err = s.array(func() error {
		var v T
		if err := read(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	*dst = out
	return err
}

func (s *scanner) priceBreakdown(p *PriceBreakdown) error {
	null, err := s.isNull()
	if err != nil || null {
		return err
	}
	c, _ := s.peek()
	if c != '{' {
		if err := s.skip(); err != nil {
			return err
		}
		return errType{"an object"}
	}
	return s.object(func(key []byte) error { return decodePriceBreakdownField(s, p, key) })
}

// foldTable maps the ASCII lower case of each key to the key, for encoding/json's
// case-insensitive field matching.
func foldTable(keys ...string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[string(asciiLower(nil, []byte(k)))] = k
	}
	return m
}

// foldKey finds the field key matches case-insensitively, when it is not an exact match.
func foldKey(table map[string]string, key []byte) (string, bool) {
	if len(key) > 64 {
		return "", false
	}
	var tmp [64]byte
	low := asciiLower(tmp[:0], key)
	canon, ok := table[string(low)]
	if !ok || canon == string(key) {
		return "", false
	}
	return canon, true
}

func asciiLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
