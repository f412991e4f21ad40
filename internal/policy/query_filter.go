package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// operandKind is what a token's value has become on its way to the wire.
type operandKind int

const (
	operandString operandKind = iota
	operandList               // the value of in / notin
	operandNumber             // a dotted driver version, read as the CLI's numeric_version
)

// operand is a token's value on its way to the wire.
type operand struct {
	kind operandKind
	str  string
	list []string
	num  float64
}

// repr is the value as Python prints it, for messages that read like the CLI's.
func (o operand) repr() string {
	switch o.kind {
	case operandList:
		parts := make([]string, len(o.list))
		for i, s := range o.list {
			parts[i] = pyRepr(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case operandNumber:
		return strconv.FormatFloat(o.num, 'f', -1, 64)
	}
	return pyRepr(o.str)
}

// blank is Python's falsiness, which the CLI tests the value with.
func (o operand) blank() bool {
	switch o.kind {
	case operandList:
		return len(o.list) == 0
	case operandNumber:
		return o.num == 0
	}
	return o.str == ""
}

// wildcard reports whether the value is one of the CLI's "any value" spellings.
func (o operand) wildcard() bool {
	return o.kind == operandString && (o.str == "?" || o.str == "*" || o.str == "any")
}

// applyToken applies one `field op value` of a query to q as the CLI's parse_query does. The
// warning, for a field the CLI does not know, comes back even with an error.
func applyToken(t token, q *vastapi.Query) (warning string, err error) {
	field := t.field
	if a, ok := fieldAlias[field]; ok {
		field = a
	}
	op := pyStrip(t.op)
	val, err := tokenOperand(field, t.value)
	if err != nil {
		return "", err
	}
	if !offerFields[field] {
		warning = fmt.Sprintf("Warning: Unrecognized field: %s, see list of recognized fields.", field)
	}
	opName, err := filterOp(field, op)
	if err != nil {
		return warning, err
	}
	if opName == vastapi.OpIn || opName == vastapi.OpNotIn {
		if val.kind != operandString {
			return warning, queryErr("%s %s needs a list like [a,b]; a dotted driver version cannot be listed", field, op)
		}
		val = listOperand(val.str)
	}
	if val.blank() {
		return warning, queryErr("Value cannot be blank. Did you forget to quote your query? (%s, %s, %s)", pyRepr(field), pyRepr(op), val.repr())
	}
	if val.wildcard() {
		if opName != vastapi.OpEq {
			return warning, queryErr("Wildcard only makes sense with equals.")
		}
		q.Delete(field)
		return warning, nil
	}
	wire, err := wireValue(field, op, unquote(val))
	if err != nil {
		return warning, err
	}
	q.Set(field, opName, wire)
	return warning, nil
}

// tokenOperand is the token's value with the brackets and commas the CLI strips; a dotted
// driver_version becomes the CLI's numeric_version.
func tokenOperand(field, value string) (operand, error) {
	val := operand{str: strings.Trim(value, ",[]")}
	if field == "driver_version" && strings.Contains(val.str, ".") {
		n, ok := numericVersion(val.str)
		if !ok {
			return operand{}, queryErr("Invalid version string format. Expected format: X.X.X (driver_version %s)", pyRepr(val.str))
		}
		return operand{kind: operandNumber, num: float64(n)}, nil
	}
	return val, nil
}

// filterOp is the wire operator of op, refusing the search options the body carries at its
// top level (limit, order, type...) written as filters.
func filterOp(field, op string) (vastapi.Op, error) {
	if vastapi.IsTopLevelKey(field) {
		return "", queryErr("%s is a search option, not a filter; set it with its own flag or config key", pyRepr(field))
	}
	opName, ok := opNames[op]
	if !ok {
		return "", queryErr("Unknown operator. Did you forget to quote your query? %s", pyRepr(op))
	}
	return opName, nil
}

// listOperand splits the value of in / notin on commas, dropping empty items.
func listOperand(s string) operand {
	var items []string
	for _, x := range strings.Split(s, ",") {
		if x = pyStrip(x); x != "" {
			items = append(items, x)
		}
	}
	return operand{kind: operandList, list: items}
}

// unquote turns the CLI's underscores into spaces and drops double quotes, in a string or in
// every item of a list.
func unquote(o operand) operand {
	switch o.kind {
	case operandString:
		o.str = strings.Trim(strings.ReplaceAll(o.str, "_", " "), `"`)
	case operandList:
		list := make([]string, len(o.list))
		for i, x := range o.list {
			list[i] = strings.Trim(strings.ReplaceAll(x, "_", " "), `"`)
		}
		o.list = list
	}
	return o
}

// wireValue is the value as the body carries it: converted to the API's unit for the fields
// the CLI multiplies (GB to MB, days to seconds), else a list, a number, or a literal.
func wireValue(field, op string, val operand) (vastapi.Value, error) {
	mult, ok := fieldMultiplier[field]
	if !ok {
		return literalValue(val), nil
	}
	if val.kind == operandList {
		return vastapi.Value{}, queryErr("float() argument must be a string or a real number, not 'list' (%s %s)", field, op)
	}
	f := val.num
	if val.kind == operandString {
		var ok bool
		if f, ok = pyFloat(val.str); !ok {
			return vastapi.Value{}, queryErr("could not convert string to float: %s", pyRepr(val.str))
		}
	}
	f *= mult
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return vastapi.Value{}, queryErr("%s %s %s is not a finite number", field, op, val.repr())
	}
	return vastapi.NumberValue(f), nil
}

// literalValue is a value sent as written: a list of strings, a number, true/false/null in
// Python's or JSON's spelling, or a string.
func literalValue(val operand) vastapi.Value {
	switch val.kind {
	case operandList:
		items := make([]vastapi.Value, len(val.list))
		for i, x := range val.list {
			items[i] = vastapi.StringValue(x)
		}
		return vastapi.ListValue(items...)
	case operandNumber:
		return vastapi.NumberValue(val.num)
	}
	switch val.str {
	case "true", "True":
		return vastapi.BoolValue(true)
	case "false", "False":
		return vastapi.BoolValue(false)
	case "None", "null":
		return vastapi.NullValue()
	}
	return vastapi.StringValue(val.str)
}
