package policy

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// nodeDecoder is a file type with its own YAML reading.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// decoder walks a YAML node tree into the file structs, collecting every problem with its
// path and line instead of stopping at the first.
type decoder struct {
	problems []Problem
	failed   map[string]bool // paths whose value could not be decoded
	lines    map[string]int  // path -> line of its key (or item)
	set      map[string]bool
	nodes    int
	baseDir  string
	getenv   func(string) string
	readFile func(string) ([]byte, error)
}

// maxNodes caps the nodes visited, aliases included, so an alias bomb cannot stall a load.
const maxNodes = 200000

func (d *decoder) problem(path string, line int, msg string) {
	d.problems = append(d.problems, Problem{Path: path, Line: line, Msg: msg})
	if d.failed != nil {
		d.failed[path] = true
	}
}

func (d *decoder) record(path string, line int) {
	d.lines[path] = line
	d.set[path] = true
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func yamlFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("yaml"); tag != "" {
			names = append(names, tag)
		}
	}
	return names
}

func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.problem(path, n.Line, fmt.Sprintf("the document expands to more than %d nodes (aliases included); allowed: a smaller file", maxNodes))
		}
		return
	}
	n = resolveAlias(n)
	if n.Kind == yaml.AliasNode {
		d.problem(path, n.Line, "unresolvable alias; allowed: an alias to an anchor defined earlier")
		return
	}
	if isNull(n) {
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, path)
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := newDefaulted(v.Type().Elem())
		d.decode(n, path, e.Elem())
		v.Set(e)
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		d.decodeSlice(n, path, v)
	default:
		d.decodeScalar(n, path, v)
	}
}

// newDefaulted is a new value of type t, its defaults set when it has any.
func newDefaulted(t reflect.Type) reflect.Value {
	e := reflect.New(t)
	if df, ok := e.Interface().(defaulter); ok {
		df.setDefaults()
	}
	return e
}

// decodeStruct decodes a mapping into a file struct by its yaml tags: unknown keys (with the
// nearest known one as a hint), merge keys and duplicate keys are problems; every key's line
// is recorded, and whether it was given a non-null value.
func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	t := v.Type()
	if n.Kind != yaml.MappingNode {
		d.problem(path, n.Line, "want a mapping of keys; allowed keys: "+strings.Join(yamlFields(t), ", "))
		return
	}
	byName := map[string]int{}
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("yaml"); tag != "" {
			byName[tag] = i
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.problem(path, k.Line, "a key must be a plain word; allowed keys: "+strings.Join(yamlFields(t), ", "))
			continue
		}
		p := joinPath(path, k.Value)
		if k.Value == "<<" {
			d.problem(p, k.Line, "merge keys are not supported; allowed: write the keys out")
			continue
		}
		fi, ok := byName[k.Value]
		if !ok {
			hint := ""
			if near := nearest(k.Value, yamlFields(t)); near != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", strconv.Quote(near))
			}
			d.problem(p, k.Line, fmt.Sprintf("unknown field %s%s; allowed: %s", strconv.Quote(k.Value), hint, strings.Join(yamlFields(t), ", ")))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.problem(p, k.Line, fmt.Sprintf("duplicate key (first at line %d); allowed: each key once", first))
			continue
		}
		seen[k.Value] = k.Line
		d.lines[p] = k.Line
		if !isNull(resolveAlias(val)) {
			d.set[p] = true
		}
		d.decode(val, p, v.Field(fi))
	}
}

// decodeSlice decodes a sequence item by item; a null item is a problem, not a zero value.
func (d *decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.problem(path, n.Line, fmt.Sprintf("%s is not a list; allowed: a YAML list such as [a, b]", scalarText(n)))
		return
	}
	s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.record(p, item.Line)
		e := newDefaulted(v.Type().Elem())
		if isNull(resolveAlias(item)) {
			d.problem(p, item.Line, "empty list item; allowed: a value")
			continue
		}
		d.decode(item, p, e.Elem())
		s = reflect.Append(s, e.Elem())
	}
	v.Set(s)
}

// decodeScalar decodes a string, boolean, whole number or finite number, strictly by YAML
// tag: "yes" is not a boolean and "3" in quotes is not a number.
func (d *decoder) decodeScalar(n *yaml.Node, path string, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.problem(path, n.Line, fmt.Sprintf("%s is not a string; allowed: a plain string", scalarText(n)))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.problem(path, n.Line, fmt.Sprintf("%s is not a boolean; allowed: true or false", scalarText(n)))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			d.problem(path, n.Line, fmt.Sprintf("%s is not a whole number; allowed: an integer such as 3", scalarText(n)))
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			d.problem(path, n.Line, fmt.Sprintf("%s is not a number; allowed: a number such as 0.5", scalarText(n)))
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.problem(path, n.Line, fmt.Sprintf("%s is not a finite number; allowed: a number such as 0.5", scalarText(n)))
			return
		}
		v.SetFloat(f)
	default:
		d.problem(path, n.Line, fmt.Sprintf("cannot decode into %s", v.Type()))
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// scalarText quotes a scalar for a message, or names the node kind.
func scalarText(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return strconv.Quote(v)
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "this value"
}

// nearest is the candidate closest to s by edit distance, if it is close enough to be a typo:
// at most 2 edits, or 3 for names of 10 characters or more.
func nearest(s string, candidates []string) string {
	if len(s) > 64 {
		return ""
	}
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= 2 || bestD <= 3 && len(s) >= 10 {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
