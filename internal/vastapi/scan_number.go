package vastapi

import (
	"math"
	"strconv"
)

// number consumes a JSON number and returns its text, valid until the next call.
func (s *scanner) number() ([]byte, error) {
	start := s.pos
	i := start
	for i < s.end && isNumByte(s.buf[i]) {
		i++
	}
	var num []byte
	if i < s.end {
		num = s.buf[start:i]
		s.pos = i
	} else {
		s.scratch = append(s.scratch[:0], s.buf[start:i]...)
		s.pos = i
		for {
			if s.pos >= s.end && !s.fill() {
				break
			}
			c := s.buf[s.pos]
			if !isNumByte(c) {
				break
			}
			s.scratch = append(s.scratch, c)
			s.pos++
			if len(s.scratch) > 1<<16 {
				return nil, s.syntax("number too long")
			}
		}
		if s.readErr() != nil {
			return nil, s.readFailure()
		}
		num = s.scratch
	}
	if !validNumber(num) {
		return nil, s.syntax("invalid number")
	}
	return num, nil
}

func isNumByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// validNumber checks the JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return false
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(b)
}

// parseQuotedFloat reads the content of a quoted number; it must be a JSON number, so "NaN",
// "Inf" and hex floats, which strconv would accept, are refused.
func parseQuotedFloat(b []byte) (float64, error) {
	if !validNumber(b) {
		return 0, errType{"a number"}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, errType{"a number in range"}
	}
	return f, nil
}

// parseInt parses b as an integer; an integral float ("2.0", "1e3") is accepted.
func parseInt(b []byte, bits int) (int64, error) {
	if n, err := strconv.ParseInt(string(b), 10, bits); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	lim := math.Ldexp(1, bits-1)
	if err != nil || f != math.Trunc(f) || f >= lim || f < -lim {
		return 0, errType{"an integer"}
	}
	return int64(f), nil
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat converts a valid JSON number without an exponent when its significant digits fit
// a float64 mantissa exactly and its power of ten is exact: one IEEE multiply or divide of two
// exact values is then the correctly rounded result, the same value strconv.ParseFloat returns
// (Clinger's fast path, which strconv also tries first). ok is false otherwise.
func fastFloat(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	var mant uint64
	digits, exp := 0, 0
	for ; i < len(b) && b[i] != '.'; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if mant == 0 && c == '0' {
			continue
		}
		if digits == 19 {
			return 0, false
		}
		mant = mant*10 + uint64(c-'0')
		digits++
	}
	if i < len(b) { // the fraction after '.'
		for i++; i < len(b); i++ {
			c := b[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			exp--
			if mant == 0 && c == '0' {
				continue
			}
			if digits == 19 {
				return 0, false
			}
			mant = mant*10 + uint64(c-'0')
			digits++
		}
	}
	if mant>>53 != 0 || -exp >= len(pow10) {
		return 0, false
	}
	f := float64(mant)
	if exp < 0 {
		f /= pow10[-exp]
	}
	if neg {
		f = -f
	}
	return f, true
}

// fastInt converts up to 18 decimal digits with an optional minus sign.
func fastInt(b []byte) (int64, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	if i == len(b) || len(b)-i > 18 {
		return 0, false
	}
	var n int64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
