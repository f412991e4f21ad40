package policy

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// SearchOptions are the `vastai search offers` flags that shape the body besides the query text.
type SearchOptions struct {
	Order      string  // -o/--order, e.g. "dph_total,reliability-"; "" = the CLI default "score-"
	Limit      int     // --limit; 0 = key absent (server default)
	Type       string  // --type: on-demand | bid | reserved | interruptible (= bid); "" = on-demand
	StorageGB  float64 // --storage: GB priced into dph_total; 0 = the CLI default 5.0
	NoDefaults bool    // -n: drop the verified/external/rentable defaults
}

// DefaultStorageGB is the CLI's --storage default.
const DefaultStorageGB = 5.0

// DefaultOrder is the CLI's -o default.
const DefaultOrder = "score-"

// QueryError is a query the official CLI would refuse. Msg reads like the CLI's message.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

func queryErr(format string, a ...any) error { return &QueryError{Msg: fmt.Sprintf(format, a...)} }

// offerFields are the columns the CLI knows (vastai/api/query.py offers_fields). Any other
// field is still sent, with a warning, as the CLI does.
var offerFields = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`bw_nvlink compute_cap cpu_arch cpu_cores cpu_cores_effective
		cpu_ghz cpu_ram cuda_max_good datacenter direct_port_count driver_version disk_bw disk_space
		dlperf dlperf_per_dphtotal dph_total duration external flops_per_dphtotal gpu_arch
		gpu_display_active gpu_frac gpu_mem_bw gpu_name gpu_ram gpu_total_ram gpu_max_power
		gpu_max_temp has_avx host_id id inet_down inet_down_cost inet_up inet_up_cost machine_id
		min_bid mobo_name num_gpus pci_gen pcie_bw reliability rentable rented storage_cost
		static_ip total_flops ubuntu_version verification verified vms_enabled geolocation
		cluster_id`) {
		offerFields[f] = true
	}
}

// fieldAlias are the CLI's offers_alias; they apply to filters and to -o fields.
var fieldAlias = map[string]string{
	"cuda_vers":      "cuda_max_good",
	"display_active": "gpu_display_active",
	"dlperf_usd":     "dlperf_per_dphtotal",
	"dph":            "dph_total",
	"flops_usd":      "flops_per_dphtotal",
}

// fieldMultiplier are the CLI's offers_mult: GB -> MB (decimal) and days -> seconds.
var fieldMultiplier = map[string]float64{
	"cpu_ram":       1000,
	"gpu_ram":       1000,
	"gpu_total_ram": 1000,
	"duration":      24.0 * 60.0 * 60.0,
}

// opNames is the CLI's operator table.
var opNames = map[string]vastapi.Op{
	">=": vastapi.OpGte, ">": vastapi.OpGt, "gt": vastapi.OpGt, "gte": vastapi.OpGte,
	"<=": vastapi.OpLte, "<": vastapi.OpLt, "lt": vastapi.OpLt, "lte": vastapi.OpLte,
	"!=": vastapi.OpNeq, "==": vastapi.OpEq, "=": vastapi.OpEq, "eq": vastapi.OpEq,
	"neq": vastapi.OpNeq, "noteq": vastapi.OpNeq, "not eq": vastapi.OpNeq,
	"notin": vastapi.OpNotIn, "not in": vastapi.OpNotIn, "nin": vastapi.OpNotIn, "in": vastapi.OpIn,
}

// ParseQuery translates the official vast CLI's `search offers` syntax into the wire query
// object, with the CLI's defaults, aliases, unit conversions and errors (vast-api.md §2). The
// result is both what is POSTed and what replies are matched against locally.
func ParseQuery(text string, opts SearchOptions) (vastapi.Query, error) {
	q, _, err := ParseQueryWarnings(text, opts)
	return q, err
}

// ParseQueryWarnings is ParseQuery that also returns the CLI's warnings (unrecognized fields,
// which are still sent).
func ParseQueryWarnings(text string, opts SearchOptions) (vastapi.Query, []string, error) {
	if !utf8.ValidString(text) || !utf8.ValidString(opts.Order) {
		return vastapi.Query{}, nil, queryErr("the query is not valid UTF-8 text")
	}
	var q vastapi.Query
	if !opts.NoDefaults {
		q.Set("verified", vastapi.OpEq, vastapi.BoolValue(true))
		q.Set("external", vastapi.OpEq, vastapi.BoolValue(false))
		q.Set("rentable", vastapi.OpEq, vastapi.BoolValue(true))
	}
	warnings, err := parseFilters(text, &q)
	if err != nil {
		return vastapi.Query{}, warnings, err
	}
	order := opts.Order
	if order == "" {
		order = DefaultOrder
	}
	q.Order, err = ParseOrder(order)
	if err != nil {
		return vastapi.Query{}, warnings, err
	}
	switch opts.Type {
	case "", "on-demand", "ondemand":
		q.Type = vastapi.OnDemand
	case "bid", "interruptible":
		q.Type = vastapi.Bid
	case "reserved":
		q.Type = vastapi.Reserved
	default:
		return vastapi.Query{}, warnings, queryErr("invalid type %s; allowed: on-demand, bid, reserved, interruptible", pyRepr(opts.Type))
	}
	if opts.Limit < 0 {
		return vastapi.Query{}, warnings, queryErr("limit %d is negative; allowed: a positive number of offers, or 0 for the server's default", opts.Limit)
	}
	q.Limit = opts.Limit
	storage := opts.StorageGB
	if storage == 0 {
		storage = DefaultStorageGB
	}
	if storage < 0 || math.IsNaN(storage) || math.IsInf(storage, 0) {
		return vastapi.Query{}, warnings, queryErr("storage %v GB is invalid; allowed: a positive number of GB", storage)
	}
	q.AllocatedStorage = vastapi.Some(storage)
	return q, warnings, nil
}

// ParseOrder parses the CLI's -o syntax: comma-separated fields, a trailing "-" for descending,
// "+" or nothing for ascending, aliases applied.
func ParseOrder(s string) ([]vastapi.OrderBy, error) {
	order := []vastapi.OrderBy{}
	for _, name := range strings.Split(s, ",") {
		name = pyStrip(name)
		if name == "" {
			continue
		}
		desc := false
		field := name
		if t := strings.Trim(name, "-"); t != name {
			desc, field = true, t
		}
		if t := strings.Trim(name, "+"); t != name {
			desc, field = false, t
		}
		if a, ok := fieldAlias[field]; ok {
			field = a
		}
		if field == "" {
			return nil, queryErr("order field cannot be blank: %s", pyRepr(name))
		}
		order = append(order, vastapi.OrderBy{Field: field, Desc: desc})
	}
	return order, nil
}

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
	}
	return warnings, nil
}

// operand is a token's value on its way to the wire: a string, a list, or a number.
type operand struct {
	kind int // 0 string, 1 list, 2 number, 3 none (a failed driver version)
	str  string
	list []string
	num  float64
}

func (o operand) repr() string {
	switch o.kind {
	case 1:
		parts := make([]string, len(o.list))
		for i, s := range o.list {
			parts[i] = pyRepr(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case 2:
		return strconv.FormatFloat(o.num, 'f', -1, 64)
	case 3:
		return "None"
	}
	return pyRepr(o.str)
}

func (o operand) blank() bool {
	switch o.kind {
	case 1:
		return len(o.list) == 0
	case 2:
		return o.num == 0
	case 3:
		return true
	}
	return o.str == ""
}

func applyToken(t token, q *vastapi.Query) (warning string, err error) {
	field := t.field
	val := operand{str: strings.Trim(t.value, ",[]")}
	op := pyStrip(t.op)
	opName, opOK := opNames[op]
	if a, ok := fieldAlias[field]; ok {
		field = a
	}
	if field == "driver_version" && strings.Contains(val.str, ".") {
		n, ok := numericVersion(val.str)
		if !ok {
			return "", queryErr("Invalid version string format. Expected format: X.X.X (driver_version %s)", pyRepr(val.str))
		}
		val = operand{kind: 2, num: float64(n)}
	}
	if !offerFields[field] {
		warning = fmt.Sprintf("Warning: Unrecognized field: %s, see list of recognized fields.", field)
	}
	if vastapi.IsTopLevelKey(field) {
		return warning, queryErr("%s is a search option, not a filter; set it with its own flag or config key", pyRepr(field))
	}
	if !opOK {
		return warning, queryErr("Unknown operator. Did you forget to quote your query? %s", pyRepr(op))
	}
	if opName == vastapi.OpIn || opName == vastapi.OpNotIn {
		if val.kind != 0 {
			return warning, queryErr("%s %s needs a list like [a,b]; a dotted driver version cannot be listed", field, op)
		}
		var items []string
		for _, x := range strings.Split(val.str, ",") {
			if x = pyStrip(x); x != "" {
				items = append(items, x)
			}
		}
		val = operand{kind: 1, list: items}
	}
	if val.blank() {
		return warning, queryErr("Value cannot be blank. Did you forget to quote your query? (%s, %s, %s)", pyRepr(field), pyRepr(op), val.repr())
	}
	if val.kind == 0 && (val.str == "?" || val.str == "*" || val.str == "any") {
		if opName != vastapi.OpEq {
			return warning, queryErr("Wildcard only makes sense with equals.")
		}
		q.Delete(field)
		return warning, nil
	}
	switch val.kind {
	case 0:
		val.str = strings.Trim(strings.ReplaceAll(val.str, "_", " "), `"`)
	case 1:
		for i, x := range val.list {
			val.list[i] = strings.Trim(strings.ReplaceAll(x, "_", " "), `"`)
		}
	}
	var wire vastapi.Value
	if mult, ok := fieldMultiplier[field]; ok {
		if val.kind == 1 {
			return warning, queryErr("float() argument must be a string or a real number, not 'list' (%s %s)", field, op)
		}
		f := val.num
		if val.kind == 0 {
			var ok bool
			if f, ok = pyFloat(val.str); !ok {
				return warning, queryErr("could not convert string to float: %s", pyRepr(val.str))
			}
		}
		f *= mult
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return warning, queryErr("%s %s %s is not a finite number", field, op, val.repr())
		}
		wire = vastapi.NumberValue(f)
	} else {
		switch val.kind {
		case 1:
			items := make([]vastapi.Value, len(val.list))
			for i, x := range val.list {
				items[i] = vastapi.StringValue(x)
			}
			wire = vastapi.ListValue(items...)
		case 2:
			wire = vastapi.NumberValue(val.num)
		default:
			switch val.str {
			case "true", "True":
				wire = vastapi.BoolValue(true)
			case "false", "False":
				wire = vastapi.BoolValue(false)
			case "None", "null":
				wire = vastapi.NullValue()
			default:
				wire = vastapi.StringValue(val.str)
			}
		}
	}
	q.Set(field, opName, wire)
	return warning, nil
}

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
