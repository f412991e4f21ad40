package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a config file.
type Problem struct {
	Path string // dotted YAML path, e.g. fleets[0].size.min; "" for the whole document
	Line int    // 1-based; 0 when the key is absent and has no parent with a line
	Msg  string // what is wrong; what is allowed
}

func (p Problem) String() string {
	switch {
	case p.Path == "" && p.Line == 0:
		return p.Msg
	case p.Path == "":
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	case p.Line == 0:
		return p.Path + ": " + p.Msg
	}
	return fmt.Sprintf("%s (line %d): %s", p.Path, p.Line, p.Msg)
}

// ValidationError carries every problem of a config file, in file order.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Limits that keep a config sane.
const (
	MaxFleetSize       = 1000
	MinPollInterval    = time.Second
	MinBootTimeout     = time.Minute
	MinDiskGB          = 8 // the API's minimum disk
	MaxImageLen        = 1024
	MaxOnstartArgsLen  = 4096
	MaxBidMultiplier   = 10
	nameRule           = "1-32 characters of a-z, 0-9 and -, starting and ending with a letter or digit"
	marketNameRule     = "1-63 characters of a-z, A-Z, 0-9, _, . and -, starting with a letter or digit"
	scheduleSyntaxRule = "5 fields (minute hour day-of-month month day-of-week) with an optional CRON_TZ=Area/City prefix, or @hourly, @daily, @weekly, @monthly, @yearly"
)

var (
	nameRe       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)
	marketNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	// Runtypes accepts the OpenAPI enum; the executor translates to the CLI's spellings.
	Runtypes = []string{"ssh", "ssh_proxy", "ssh_direct", "jupyter", "jupyter_proxy", "jupyter_direct", "args"}
)

// Load reads and validates the config file at path. Secrets given as {file: PATH} are read
// relative to the file's directory; {env: NAME} through getenv.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path, getenv)
}

// Parse decodes and validates a config file's bytes. source names the file in messages and
// anchors relative secret paths ("" = the working directory). On any problem it returns a
// *ValidationError with every problem found.
func Parse(data []byte, source string, getenv func(string) string) (*Config, error) {
	return parse(data, source, getenv, os.ReadFile)
}

// emptyFile is the problem of a file with no mapping in it, however it came to be empty.
const emptyFile = "the file is empty; allowed: a YAML mapping with markets and fleets (see config.example.yaml)"

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func parse(data []byte, source string, getenv func(string) string, readFile func(string) ([]byte, error)) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	d := &decoder{lines: map[string]int{}, set: map[string]bool{}, failed: map[string]bool{}, getenv: getenv, readFile: readFile}
	if source != "" {
		d.baseDir = filepath.Dir(source)
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ValidationError{Problems: []Problem{{Msg: emptyFile}}}
		}
		return nil, &ValidationError{Problems: []Problem{yamlProblem(err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ValidationError{Problems: []Problem{{Line: extra.Line, Msg: "a second YAML document; allowed: exactly one document per file"}}}
	} else if !errors.Is(err, io.EOF) {
		return nil, &ValidationError{Problems: []Problem{yamlProblem(err)}}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, &ValidationError{Problems: []Problem{{Msg: emptyFile}}}
		}
		doc = doc.Content[0]
	}
	if isNull(doc) {
		return nil, &ValidationError{Problems: []Problem{{Line: doc.Line, Msg: emptyFile}}}
	}
	fc := fileConfig{PollInterval: duration(defaultPollInterval), Orphans: string(OrphansKeep)}
	d.decode(doc, "", reflect.ValueOf(&fc).Elem())
	v := &validator{d: d, fc: &fc}
	cfg := v.validate()
	cfg.Source = source
	if len(d.problems) > 0 {
		sort.SliceStable(d.problems, func(i, j int) bool { return d.problems[i].Line < d.problems[j].Line })
		return nil, &ValidationError{Problems: d.problems}
	}
	return cfg, nil
}

func yamlProblem(err error) Problem {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{Line: line, Msg: m[2] + "; allowed: valid YAML"}
	}
	return Problem{Msg: strings.TrimPrefix(msg, "yaml: ") + "; allowed: valid YAML"}
}
