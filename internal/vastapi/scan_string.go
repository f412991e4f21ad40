package vastapi

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Strings are the bulk of a reply: keys, GPU and CPU names, regions. The scanner returns a string
// in place when it is plain ASCII inside the buffer and unescapes only when it must.

// strClass marks bytes that end the fast path of a string: '"', '\\', control bytes, non-ASCII.
var strClass = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	for i := 0x80; i < 0x100; i++ {
		t[i] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// rawString consumes a string and returns its content, unescaped. The slice is valid until the
// next call on the scanner.
func (s *scanner) rawString() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	// Fast path: the whole string is plain ASCII inside the buffer.
	start := s.pos
	i := start
	for i < s.end && !strClass[s.buf[i]] {
		i++
	}
	if i < s.end && s.buf[i] == '"' {
		s.pos = i + 1
		return s.buf[start:i], nil
	}
	// Slow path: collect the raw content into scratch across refills, then unescape.
	s.scratch = s.scratch[:0]
	escaped, high := false, false
	for {
		if len(s.scratch) > MaxValueBytes {
			return nil, errValueTooLarge{at: s.off + int64(s.pos) - int64(len(s.scratch))}
		}
		if s.pos >= s.end {
			if !s.fill() {
				return nil, s.unexpectedEnd()
			}
		}
		c := s.buf[s.pos]
		switch {
		case c == '"':
			s.pos++
			if !escaped && !high {
				return s.scratch, nil
			}
			return s.unquote(s.scratch)
		case c == '\\':
			escaped = true
			s.scratch = append(s.scratch, c)
			s.pos++
			if s.pos >= s.end && !s.fill() {
				return nil, s.unexpectedEnd()
			}
			s.scratch = append(s.scratch, s.buf[s.pos])
			s.pos++
		case c < 0x20:
			return nil, s.syntax("control character in string")
		default:
			if c >= 0x80 {
				high = true
			}
			// Copy the run up to the next special byte at once.
			j := s.pos + 1
			for j < s.end && !strClass[s.buf[j]] {
				j++
			}
			s.scratch = append(s.scratch, s.buf[s.pos:j]...)
			s.pos = j
		}
	}
}

// unquote unescapes raw string content as encoding/json does: invalid UTF-8 and lone
// surrogates become U+FFFD.
func (s *scanner) unquote(raw []byte) ([]byte, error) {
	out := s.unq[:0]
	for r := 0; r < len(raw); {
		c := raw[r]
		switch {
		case c == '\\':
			r++
			if r >= len(raw) {
				return nil, s.syntax("bad escape")
			}
			switch raw[r] {
			case '"', '\\', '/':
				out = append(out, raw[r])
				r++
			case 'b':
				out = append(out, '\b')
				r++
			case 'f':
				out = append(out, '\f')
				r++
			case 'n':
				out = append(out, '\n')
				r++
			case 'r':
				out = append(out, '\r')
				r++
			case 't':
				out = append(out, '\t')
				r++
			case 'u':
				r--
				rr, ok := hex4(raw[r:])
				if !ok {
					return nil, s.syntax("bad \\u escape")
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					rr1, ok1 := hex4(raw[r:])
					if dec := utf16.DecodeRune(rr, rr1); ok1 && dec != utf8.RuneError {
						r += 6
						out = utf8.AppendRune(out, dec)
						break
					}
					rr = utf8.RuneError
				}
				out = utf8.AppendRune(out, rr)
			default:
				return nil, s.syntax("bad escape")
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			r++
		default:
			rr, size := utf8.DecodeRune(raw[r:])
			r += size
			out = utf8.AppendRune(out, rr)
		}
	}
	s.unq = out
	return out, nil
}

// hex4 decodes `\uXXXX` at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1, false
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
