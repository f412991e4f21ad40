package policy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// token is one match of the CLI's regular expression
//
//	([a-zA-Z0-9_]+)( *[=><!]+| +(?:[lg]te?|nin|neq|eq|not ?eq|not ?in|in) )?( *)(\[[^\]]+\]|\"[^\"]+\"|[^ ]+)?( *)
type token struct {
	field, op, value string
	end              int
}

func isFieldByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isOpByte(c byte) bool { return c == '=' || c == '>' || c == '<' || c == '!' }

// wordOps are the spaced operator words in the order the regular expression tries them.
var wordOps = regexp.MustCompile(`^ +(?:[lg]te?|nin|neq|eq|not ?eq|not ?in|in) `)

// matchToken matches the CLI's expression at s[i:]; ok is false when s[i] cannot start a field.
// The expression ends in optional parts only, so its first (greedy) attempt always stands and
// no backtracking past the field is ever needed.
func matchToken(s string, i int) (token, bool) {
	j := i
	for j < len(s) && isFieldByte(s[j]) {
		j++
	}
	if j == i {
		return token{}, false
	}
	t := token{field: s[i:j]}
	// operator: ` *[=><!]+` first, then the spaced words (Go's leftmost-first alternation
	// matches Python's here because each alternative is anchored and tried in order).
	k := j
	for k < len(s) && s[k] == ' ' {
		k++
	}
	if k < len(s) && isOpByte(s[k]) {
		m := k
		for m < len(s) && isOpByte(s[m]) {
			m++
		}
		t.op, j = s[j:m], m
	} else if loc := wordOps.FindStringIndex(s[j:]); loc != nil {
		t.op, j = s[j:j+loc[1]], j+loc[1]
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	// value: `\[[^\]]+\]`, then `"[^"]+"`, then `[^ ]+`.
	if j < len(s) {
		v := -1
		switch s[j] {
		case '[':
			if c := strings.IndexByte(s[j+1:], ']'); c > 0 {
				v = j + 1 + c + 1
			}
		case '"':
			if c := strings.IndexByte(s[j+1:], '"'); c > 0 {
				v = j + 1 + c + 1
			}
		}
		if v < 0 {
			v = j
			for v < len(s) && s[v] != ' ' {
				v++
			}
		}
		t.value, j = s[j:v], v
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	t.end = j
	return t, true
}

// parseFilters applies the CLI's parse_query to q.
func parseFilters(text string, q *vastapi.Query) ([]string, error) {
	text = pyStrip(text)
	var toks []token
	var joined strings.Builder
	for i := 0; i < len(text); {
		t, ok := matchToken(text, i)
		if !ok {
			i++ // re.findall skips a position where no match starts
			continue
		}
		joined.WriteString(text[i:t.end])
		toks = append(toks, t)
		i = t.end
	}
	if joined.String() != text {
		return nil, queryErr("Unconsumed text. Did you forget to quote your query? %s != %s", pyRepr(joined.String()), pyRepr(text))
	}
	var warnings []string
	for _, t := range toks {
		w, err := applyToken(t, q)
		if w != "" {
			warnings = append(warnings, w)
		}
		if err != nil {
			return warnings, err
		}
		if w := operatorInValue(t); w != "" {
			warnings = append(warnings, w)
		}
	}
	return warnings, nil
}

// operatorInValue warns when a value holds an operator: `gpu_name= num_gpus>>2` is read, as the
// vast CLI reads it, as gpu_name == "num gpus>>2", which matches nothing, not as two filters.
// It is sent all the same, as the CLI sends it.
func operatorInValue(t token) string {
	i := strings.IndexAny(t.value, "<>=!")
	if i < 0 {
		return ""
	}
	return fmt.Sprintf("Warning: the value of %s, %s, holds an operator (%s): it is read as one value, not as another filter; write each filter as field op value, separated by spaces",
		t.field, pyRepr(strings.TrimSpace(t.value)), string(t.value[i]))
}
