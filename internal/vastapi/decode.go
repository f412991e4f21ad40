package vastapi

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The reply decoders are a hand-written byte scanner rather than encoding/json reflection: a
// full-market search reply is ~77 MB and must stream through a fixed buffer, each offer decoded
// field by field by a switch on its key (generated into columns_gen.go from the structs' json
// tags), unknown keys skipped without building values. For the inputs encoding/json accepts they
// yield what encoding/json yields for the same struct (a test pins that on every real offer);
// they are looser only where the API is loose: numbers quoted as strings, null where a number is
// expected.

// maxDepth bounds nesting so hostile input cannot exhaust the stack; it is encoding/json's limit.
const maxDepth = 10000

// scanBufSize is the read buffer of a streaming scanner.
const scanBufSize = 64 << 10

// errSyntax is the root of every malformed-input error; the messages never quote the input,
// so a reply echoing the key cannot carry it into an error.
var errSyntax = errors.New("malformed JSON")

// scanner reads JSON from a fixed buffer refilled from r, or from one byte slice when r is nil.
type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	rerr     error // sticky error of r (io.EOF at the end)
	off      int64 // input offset of buf[0], for error positions
	depth    int
	scratch  []byte // a token that spans refills
	keybuf   []byte // a key kept across a refill
	unq      []byte // unescaped string
	intern   map[string]string
}

func newStreamScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, scanBufSize), intern: make(map[string]string, 512)}
}

func newBytesScanner(b []byte) *scanner {
	return &scanner{buf: b, end: len(b), rerr: io.EOF}
}

// readErr returns the error the underlying reader reported, if it was not a clean EOF: it tells
// a broken connection apart from a malformed reply.
func (s *scanner) readErr() error {
	if s.rerr == nil || s.rerr == io.EOF {
		return nil
	}
	return s.rerr
}

func (s *scanner) syntax(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, s.off+int64(s.pos))
}

// fill reads more input, keeping buf[pos:end]. It returns false at the end of input.
func (s *scanner) fill() bool {
	if s.r == nil || s.rerr != nil {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.off += int64(s.pos)
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		// Every caller consumes the buffer before refilling; a full one would be a bug here.
		s.rerr = errors.New("vastapi: scanner buffer full")
		return false
	}
	for tries := 0; tries < 100; tries++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

func (s *scanner) unexpectedEnd() error {
	if err := s.readErr(); err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	return fmt.Errorf("%w: unexpected end of input at offset %d", errSyntax, s.off+int64(s.pos))
}

// peek skips whitespace and returns the next byte without consuming it.
func (s *scanner) peek() (byte, error) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				s.pos++
				continue
			}
			return c, nil
		}
		if !s.fill() {
			return 0, s.unexpectedEnd()
		}
	}
}

// atEOF reports whether only whitespace remains.
func (s *scanner) atEOF() (bool, error) {
	_, err := s.peek()
	if err == nil {
		return false, nil
	}
	if s.readErr() != nil {
		return false, err
	}
	return true, nil
}

func (s *scanner) expect(c byte) error {
	got, err := s.peek()
	if err != nil {
		return err
	}
	if got != c {
		return s.syntax(fmt.Sprintf("want %q, found %q", c, got))
	}
	s.pos++
	return nil
}

// literal consumes the literal lit (true, false, null) whose first byte was peeked.
func (s *scanner) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if s.pos >= s.end && !s.fill() {
			return s.unexpectedEnd()
		}
		if s.buf[s.pos] != lit[i] {
			return s.syntax("invalid literal")
		}
		s.pos++
	}
	return nil
}

// isNull consumes a null if one comes next.
func (s *scanner) isNull() (bool, error) {
	c, err := s.peek()
	if err != nil {
		return false, err
	}
	if c != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

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
		if err := s.readErr(); err != nil {
			return nil, fmt.Errorf("read reply: %w", err)
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

// skip consumes one value of any kind.
func (s *scanner) skip() error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch c {
	case '"':
		return s.skipString()
	case '{':
		return s.object(func(_ []byte) error { return s.skip() })
	case '[':
		return s.array(s.skip)
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			_, err := s.number()
			return err
		}
		return s.syntax(fmt.Sprintf("unexpected %q", c))
	}
}

// skipString consumes a string without keeping it.
func (s *scanner) skipString() error {
	s.pos++ // the opening quote, already peeked
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			switch {
			case c == '"':
				s.pos++
				return nil
			case c == '\\':
				s.pos++
				if s.pos >= s.end && !s.fill() {
					return s.unexpectedEnd()
				}
				switch s.buf[s.pos] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u':
				default:
					return s.syntax("bad escape")
				}
				s.pos++
			case c < 0x20:
				return s.syntax("control character in string")
			default:
				s.pos++
			}
		}
		if !s.fill() {
			return s.unexpectedEnd()
		}
	}
}

// object consumes an object, calling fn for each key with the scanner positioned at its value;
// fn must consume the value. key is valid only until fn reads from the scanner.
func (s *scanner) object(fn func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.depth++; s.depth > maxDepth {
		return s.syntax("nesting too deep")
	}
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == '}' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		if c, err = s.peek(); err != nil {
			return err
		}
		if c != '"' {
			return s.syntax("want an object key")
		}
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if s.pos < s.end && s.buf[s.pos] == ':' {
			s.pos++
		} else {
			// Reading on may refill the buffer under key: keep a copy.
			s.keybuf = append(s.keybuf[:0], key...)
			key = s.keybuf
			if err := s.expect(':'); err != nil {
				return err
			}
		}
		if err := fn(key); err != nil {
			return err
		}
		if c, err = s.peek(); err != nil {
			return err
		}
		s.pos++
		switch c {
		case ',':
		case '}':
			s.depth--
			return nil
		default:
			s.pos--
			return s.syntax("want ',' or '}' in object")
		}
	}
}

// array consumes an array, calling fn with the scanner positioned at each element.
func (s *scanner) array(fn func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.depth++; s.depth > maxDepth {
		return s.syntax("nesting too deep")
	}
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == ']' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		if c, err = s.peek(); err != nil {
			return err
		}
		s.pos++
		switch c {
		case ',':
		case ']':
			s.depth--
			return nil
		default:
			s.pos--
			return s.syntax("want ',' or ']' in array")
		}
	}
}

// rawValue consumes one value and returns its bytes. Only a bytes scanner can do this.
func (s *scanner) rawValue() ([]byte, error) {
	if s.r != nil {
		return nil, errors.New("vastapi: raw value from a streaming scanner")
	}
	if _, err := s.peek(); err != nil {
		return nil, err
	}
	start := s.pos
	if err := s.skip(); err != nil {
		return nil, err
	}
	return s.buf[start:s.pos], nil
}

// internMax bounds the intern table so a hostile reply cannot grow it without limit.
const internMax = 8192

// toString returns b as a string, sharing repeated short values (GPU names, regions, CPU
// models) across offers.
func (s *scanner) toString(b []byte) string {
	if s.intern == nil || len(b) > 48 {
		return string(b)
	}
	if v, ok := s.intern[string(b)]; ok {
		return v
	}
	v := string(b)
	if len(s.intern) < internMax {
		s.intern[v] = v
	}
	return v
}

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

// Scalar readers. Each consumes one value; null leaves the destination as it is (as
// encoding/json does), and a string holding a number is read as that number.

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

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// trailing fails unless only whitespace follows.
func (s *scanner) trailing() error {
	eof, err := s.atEOF()
	if err != nil {
		return err
	}
	if !eof {
		return s.syntax("data after the value")
	}
	return nil
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
