package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// secretString is a string given inline, or as {file: PATH} or {env: NAME}; the latter two
// are resolved at load and become secret Values.
type secretString struct {
	Value Value
	set   bool
}

func (s *secretString) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		s.Value, s.set = PlainValue(n.Value), true
		return
	case yaml.MappingNode:
		if len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode && n.Content[1].Kind == yaml.ScalarNode {
			key, arg := n.Content[0].Value, n.Content[1].Value
			switch key {
			case "file":
				p := arg
				if p == "" {
					d.problem(path+".file", n.Content[0].Line, "empty path; allowed: the path of a file holding the value")
					return
				}
				if !filepath.IsAbs(p) && d.baseDir != "" {
					p = filepath.Join(d.baseDir, p)
				}
				b, err := d.readFile(p)
				if err != nil {
					d.problem(path+".file", n.Content[0].Line, fmt.Sprintf("secret file %s cannot be read (%s); allowed: a readable file holding the value", strconv.Quote(arg), errReason(err)))
					return
				}
				v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
				s.Value, s.set = SecretValue(v), true
				return
			case "env":
				if arg == "" {
					d.problem(path+".env", n.Content[0].Line, "empty variable name; allowed: the name of an environment variable holding the value")
					return
				}
				v := d.getenv(arg)
				if v == "" {
					d.problem(path+".env", n.Content[0].Line, fmt.Sprintf("environment variable %s is unset or empty; allowed: a variable holding the value", arg))
					return
				}
				s.Value, s.set = SecretValue(v), true
				return
			}
		}
	}
	d.problem(path, n.Line, fmt.Sprintf("%s is not a string; allowed: a string, {file: PATH} or {env: NAME}", scalarText(n)))
}

// errReason is the last part of an OS error, without the path it repeats.
func errReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// envList is the instance environment, kept in file order.
type envList []envEntry

type envEntry struct {
	Name  string
	Value secretString
	Line  int
}

func (e *envList) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.problem(path, n.Line, "want a mapping of NAME: value; allowed: values as strings, {file: PATH} or {env: NAME}")
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		p := path + "." + k.Value
		if k.Kind != yaml.ScalarNode || k.Value == "" || strings.ContainsAny(k.Value, "=\n\x00") {
			d.problem(p, k.Line, "invalid variable name; allowed: a non-empty name without = or newlines")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.problem(p, k.Line, fmt.Sprintf("duplicate key (first at line %d); allowed: each key once", first))
			continue
		}
		seen[k.Value] = k.Line
		d.record(p, k.Line)
		var s secretString
		if isNull(v) {
			s = secretString{Value: PlainValue(""), set: true}
		} else if v.Kind == yaml.ScalarNode && v.Tag != "!!str" && v.Tag != "!!int" && v.Tag != "!!float" && v.Tag != "!!bool" {
			d.problem(p, v.Line, fmt.Sprintf("%s is not a string; allowed: a string, {file: PATH} or {env: NAME}", scalarText(v)))
			continue
		} else {
			s.decodeNode(d, v, p)
		}
		*e = append(*e, envEntry{Name: k.Value, Value: s, Line: k.Line})
	}
}
