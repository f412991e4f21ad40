package policy

import (
	"errors"
	"fmt"
	"net/url"
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

// SecretValues are the values the config holds that must never be printed: every fleet's image
// login (and the password in it), its secret environment values, and its drain webhook URL
// (with its query, which may carry a token). The daemon gives them to the API client, which
// scrubs them from the text of the API's replies as it does the key.
func (c *Config) SecretValues() []string {
	var out []string
	for _, f := range c.Fleets {
		if login := f.Instance.ImageLogin.Reveal(); login != "" {
			out = append(out, login)
			out = append(out, loginPasswords(login)...)
		}
		for _, e := range f.Instance.Env {
			if e.Value.IsSecret() && e.Value.Reveal() != "" {
				out = append(out, e.Value.Reveal())
			}
		}
		if f.Drain != nil {
			out = append(out, urlSecrets(f.Drain.Webhook.Reveal())...)
		}
	}
	if c.OrphanDrain != nil {
		out = append(out, urlSecrets(c.OrphanDrain.Webhook.Reveal())...)
	}
	return out
}

// loginPasswords are the passwords of a docker login line (-p PASS, --password PASS or
// --password=PASS), which a reply may echo without the rest of the line.
func loginPasswords(login string) []string {
	var out []string
	fields := strings.Fields(login)
	for i, f := range fields {
		switch {
		case (f == "-p" || f == "--password") && i+1 < len(fields):
			out = append(out, fields[i+1])
		case strings.HasPrefix(f, "--password="):
			out = append(out, strings.TrimPrefix(f, "--password="))
		}
	}
	return out
}

// urlSecrets are a webhook URL and the parts of it that may carry a token: its query and path.
func urlSecrets(raw string) []string {
	if raw == "" {
		return nil
	}
	out := []string{raw}
	if u, err := url.Parse(raw); err == nil {
		if u.RawQuery != "" {
			out = append(out, u.RawQuery)
		}
		if len(u.Path) > 1 {
			out = append(out, u.Path)
		}
	}
	return out
}
