package deploy

import (
	"fmt"
	"strings"
)

// Refs is what a PromQL expression refers to: the series it selects and the label names its
// grouping and matching clauses use. It is what the contract checks compare against docs/metrics.md.
type Refs struct {
	Selectors []Selector
	// Grouping holds the labels of by, without, on, ignoring, group_left and group_right.
	Grouping []string
}

// Selector is one vector selector: a metric name (empty for a bare {…}) and the label names of
// its matchers.
type Selector struct {
	Metric string
	Labels []string
	// at is where AddMatcher puts a matcher: after the selector's "{" (braces), or right after
	// its metric name, where it adds the braces.
	at     int
	braces bool
}

// Metrics returns the distinct metric names of the selectors, in order of first use.
func (r Refs) Metrics() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range r.Selectors {
		if !seen[s.Metric] {
			seen[s.Metric] = true
			out = append(out, s.Metric)
		}
	}
	return out
}

// promqlFunctions are PromQL's functions and aggregation operators (Prometheus 2.x).
var promqlFunctions = setOf(
	"abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
	"avg", "avg_over_time", "bottomk", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
	"cos", "cosh", "count", "count_over_time", "count_values", "day_of_month", "day_of_week",
	"day_of_year", "days_in_month", "deg", "delta", "deriv", "exp", "floor", "group",
	"histogram_quantile", "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
	"label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max",
	"max_over_time", "min", "min_over_time", "minute", "month", "predict_linear",
	"present_over_time", "quantile", "quantile_over_time", "rad", "rate", "resets", "round",
	"scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev", "stddev_over_time",
	"stdvar", "stdvar_over_time", "sum", "sum_over_time", "tan", "tanh", "time", "timestamp",
	"topk", "vector", "year", "pi",
)

var groupingKeywords = setOf("by", "without", "on", "ignoring", "group_left", "group_right")

var otherKeywords = setOf("and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "start", "end")

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// ParseRefs scans a PromQL expression (Grafana variables allowed) for the metrics and labels it
// uses. It is a lexer, not a full parser: enough to find every selector and grouping label, and
// to reject an unknown function or an unterminated string, brace or bracket.
func ParseRefs(expr string) (Refs, error) {
	l := lexer{s: expr}
	var refs Refs
	for {
		l.skipSpace()
		if l.eof() {
			return refs, nil
		}
		c := l.peek()
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := l.skipString(); err != nil {
				return Refs{}, err
			}
		case c == '$':
			l.skipVariable()
		case c == '[':
			if err := l.skipBracket(); err != nil {
				return Refs{}, err
			}
		case c == '{':
			at := l.pos + 1
			labels, name, err := l.matchers()
			if err != nil {
				return Refs{}, err
			}
			refs.Selectors = append(refs.Selectors, Selector{Metric: name, Labels: labels, at: at, braces: true})
		case isDigit(c) || (c == '.' && l.pos+1 < len(l.s) && isDigit(l.s[l.pos+1])):
			l.skipNumber()
		case isIdentStart(c):
			id := l.ident()
			end := l.pos
			l.skipSpace()
			next := byte(0)
			if !l.eof() {
				next = l.peek()
			}
			switch {
			case groupingKeywords[id]:
				if next == '(' {
					labels, err := l.labelList()
					if err != nil {
						return Refs{}, fmt.Errorf("%s clause: %w", id, err)
					}
					refs.Grouping = append(refs.Grouping, labels...)
				}
			case otherKeywords[id], promqlFunctions[id]:
				// keywords, and functions or aggregations (sum by (x) (…) puts by before the paren)
			case next == '(':
				return Refs{}, fmt.Errorf("unknown function %q in %q", id, expr)
			default:
				sel := Selector{Metric: id, at: end}
				if next == '{' {
					sel.at, sel.braces = l.pos+1, true
					labels, name, err := l.matchers()
					if err != nil {
						return Refs{}, err
					}
					if name != "" {
						return Refs{}, fmt.Errorf("metric %s also named by __name__ in %q", id, expr)
					}
					sel.Labels = labels
				}
				refs.Selectors = append(refs.Selectors, sel)
			}
		default:
			l.pos++
		}
	}
}

// AddMatcher adds matcher (such as `job="a"`) to every vector selector of expr. Tests use it to
// run one query over one set of series among several, e.g. one replica against two.
func AddMatcher(expr, matcher string) (string, error) {
	refs, err := ParseRefs(expr)
	if err != nil {
		return "", err
	}
	out := expr
	for i := len(refs.Selectors) - 1; i >= 0; i-- {
		s := refs.Selectors[i]
		ins := "{" + matcher + "}"
		if s.braces {
			ins = matcher
			if rest := strings.TrimLeft(out[s.at:], " \t\n"); !strings.HasPrefix(rest, "}") {
				ins += ", "
			}
		}
		out = out[:s.at] + ins + out[s.at:]
	}
	return out, nil
}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) eof() bool  { return l.pos >= len(l.s) }
func (l *lexer) peek() byte { return l.s[l.pos] }

func (l *lexer) skipSpace() {
	for !l.eof() {
		switch l.peek() {
		case ' ', '\t', '\n', '\r':
			l.pos++
		case '#': // comment to end of line
			for !l.eof() && l.peek() != '\n' {
				l.pos++
			}
		default:
			return
		}
	}
}

func (l *lexer) skipString() error {
	q := l.peek()
	start := l.pos
	l.pos++
	for !l.eof() {
		c := l.peek()
		l.pos++
		if c == '\\' && q != '`' {
			l.pos++
			continue
		}
		if c == q {
			return nil
		}
	}
	return fmt.Errorf("unterminated string at offset %d in %q", start, l.s)
}

// skipVariable skips $name and ${name…}.
func (l *lexer) skipVariable() {
	l.pos++
	if !l.eof() && l.peek() == '{' {
		for !l.eof() && l.peek() != '}' {
			l.pos++
		}
		l.pos++
		return
	}
	for !l.eof() && isIdentChar(l.peek()) {
		l.pos++
	}
}

// skipBracket skips a range or subquery [..] and Grafana's [[name]].
func (l *lexer) skipBracket() error {
	start := l.pos
	end := "]"
	if strings.HasPrefix(l.s[l.pos:], "[[") {
		end = "]]"
	}
	i := strings.Index(l.s[l.pos:], end)
	if i < 0 {
		return fmt.Errorf("unterminated [ at offset %d in %q", start, l.s)
	}
	l.pos += i + len(end)
	return nil
}

func (l *lexer) skipNumber() {
	for !l.eof() && (isIdentChar(l.peek()) || l.peek() == '.') {
		l.pos++
	}
}

func (l *lexer) ident() string {
	start := l.pos
	for !l.eof() && isIdentChar(l.peek()) {
		l.pos++
	}
	return l.s[start:l.pos]
}

// matchers reads {label op "value", …} and returns the label names and, if present, the value
// of an equality __name__ matcher.
func (l *lexer) matchers() (labels []string, name string, err error) {
	start := l.pos
	l.pos++ // {
	for {
		l.skipSpace()
		if l.eof() {
			return nil, "", fmt.Errorf("unterminated { at offset %d in %q", start, l.s)
		}
		c := l.peek()
		switch {
		case c == '}':
			l.pos++
			return labels, name, nil
		case c == ',':
			l.pos++
		case isIdentStart(c):
			label := l.ident()
			l.skipSpace()
			op := ""
			for !l.eof() && strings.ContainsRune("=!~", rune(l.peek())) {
				op += string(l.peek())
				l.pos++
			}
			if op != "=" && op != "!=" && op != "=~" && op != "!~" {
				return nil, "", fmt.Errorf("label %s: bad matcher operator %q in %q", label, op, l.s)
			}
			l.skipSpace()
			if l.eof() || !strings.ContainsRune("\"'`", rune(l.peek())) {
				return nil, "", fmt.Errorf("label %s: matcher value is not a string in %q", label, l.s)
			}
			vstart := l.pos
			if err := l.skipString(); err != nil {
				return nil, "", err
			}
			if label == "__name__" {
				if op == "=" {
					name = strings.Trim(l.s[vstart:l.pos], "\"'`")
				}
				continue
			}
			labels = append(labels, label)
		default:
			return nil, "", fmt.Errorf("unexpected %q in matchers at offset %d in %q", c, l.pos, l.s)
		}
	}
}

// labelList reads (a, b, …).
func (l *lexer) labelList() ([]string, error) {
	start := l.pos
	l.pos++ // (
	var out []string
	for {
		l.skipSpace()
		if l.eof() {
			return nil, fmt.Errorf("unterminated ( at offset %d in %q", start, l.s)
		}
		c := l.peek()
		switch {
		case c == ')':
			l.pos++
			return out, nil
		case c == ',':
			l.pos++
		case isIdentStart(c):
			out = append(out, l.ident())
		default:
			return nil, fmt.Errorf("unexpected %q in label list at offset %d in %q", c, l.pos, l.s)
		}
	}
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
