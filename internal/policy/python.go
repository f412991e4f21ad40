package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The CLI is Python; these give its parsing and messages the same edges in Go.

// numericVersion is the CLI's numeric_version: exactly three dot-separated parts, each
// zero-padded to three digits, read as one integer ("535.129.3" -> 535129003).
func numericVersion(s string) (int64, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return 0, false
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(pyZfill(p, 3))
	}
	n, ok := pyInt(b.String())
	if !ok || n > 1<<53 || n < -(1<<53) {
		return 0, false
	}
	return n, true
}

// pyZfill is Python's str.zfill: pad with zeros after a leading sign.
func pyZfill(s string, width int) string {
	if len(s) >= width {
		return s
	}
	pad := strings.Repeat("0", width-len(s))
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return s[:1] + pad + s[1:]
	}
	return pad + s
}

var pyIntRe = regexp.MustCompile(`^[+-]?[0-9](?:_?[0-9])*$`)

// pyInt is Python's int(str) for base 10.
func pyInt(s string) (int64, bool) {
	s = pyStrip(s)
	if !pyIntRe.MatchString(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	return n, err == nil
}

var pyFloatRe = regexp.MustCompile(strings.ReplaceAll(
	`^[+-]?(?:(?:D(?:\.(?:D)?)?|\.D)(?:[eE][+-]?D)?|(?i:inf|infinity|nan))$`, "D", `[0-9](?:_?[0-9])*`))

// pyFloat is Python's float(str): decimal digits with optional single underscores, an
// optional exponent, inf/infinity/nan; no hexadecimal.
func pyFloat(s string) (float64, bool) {
	s = pyStrip(s)
	if !pyFloatRe.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return f, true // Python overflows to inf too
		}
		return 0, false
	}
	return f, true
}

// pyIsSpace is Python's str.isspace for one rune.
func pyIsSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// pyStrip is Python's str.strip() with no arguments.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyRepr renders s as Python's repr does, so messages read like the CLI's.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r >= 0x7f && r <= 0xa0:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == 0xfffd:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}
