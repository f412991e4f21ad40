package vastapi

import (
	"errors"
	"fmt"
	"io"
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

// MaxValueBytes bounds one offer, one instance and one string of a reply. A real offer is about
// 2 kB; a larger value is a broken or hostile reply, and decoding it would hold as much memory
// as the whole reply cap (1 GiB for a search). Exceeding it is a decode error.
const MaxValueBytes = 1 << 20

// errValueTooLarge is a value over MaxValueBytes; it is not a broken connection.
type errValueTooLarge struct{ at int64 }

func (e errValueTooLarge) Error() string {
	return fmt.Sprintf("one JSON value larger than %d bytes at offset %d", MaxValueBytes, e.at)
}

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
	// valueFrom is the input offset where the offer or instance being decoded began; -1 when
	// none is (beginValue, endValue).
	valueFrom int64
	scratch   []byte // a token that spans refills
	keybuf    []byte // a key kept across a refill
	unq       []byte // unescaped string
	intern    map[string]string
}

func newStreamScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, scanBufSize), intern: make(map[string]string, 512), valueFrom: -1}
}

func newBytesScanner(b []byte) *scanner {
	return &scanner{buf: b, end: len(b), rerr: io.EOF, valueFrom: -1}
}

// readErr returns the error the underlying reader reported, if it was not a clean EOF: it tells
// a broken connection apart from a malformed reply.
func (s *scanner) readErr() error {
	if s.rerr == nil || s.rerr == io.EOF {
		return nil
	}
	return s.rerr
}

// readFailure is the error of a read that stopped early: the value bound, or the reader's error.
func (s *scanner) readFailure() error {
	if tl, ok := s.rerr.(errValueTooLarge); ok {
		return tl
	}
	return fmt.Errorf("read reply: %w", s.readErr())
}

// beginValue starts bounding the value about to be decoded (an offer, an instance) to
// MaxValueBytes; endValue checks it and stops. A streaming scanner also checks at each refill,
// so a value never holds more than the bound and a buffer.
func (s *scanner) beginValue() { s.valueFrom = s.off + int64(s.pos) }

func (s *scanner) endValue() error {
	from := s.valueFrom
	s.valueFrom = -1
	if from >= 0 && s.off+int64(s.pos)-from > MaxValueBytes {
		return errValueTooLarge{at: from}
	}
	return nil
}

func (s *scanner) syntax(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, s.off+int64(s.pos))
}

// fill reads more input, keeping buf[pos:end]. It returns false at the end of input.
func (s *scanner) fill() bool {
	if s.r == nil || s.rerr != nil {
		return false
	}
	if s.valueFrom >= 0 && s.off+int64(s.pos)-s.valueFrom > MaxValueBytes {
		s.rerr = errValueTooLarge{at: s.valueFrom}
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
	if s.readErr() != nil {
		return s.readFailure()
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
