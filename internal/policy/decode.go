package policy

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
	"gopkg.in/yaml.v3"
)

// The file structs mirror the YAML on disk; the runtime model in model.go is built from them
// after validation. Fields keep their defaults when a key is absent or null.

type fileConfig struct {
	PollInterval duration     `yaml:"poll_interval"`
	DryRun       bool         `yaml:"dry_run"`
	Owner        string       `yaml:"owner"`
	Account      fileAccount  `yaml:"account"`
	Markets      []fileMarket `yaml:"markets"`
	Fleets       []fileFleet  `yaml:"fleets"`
	Orphans      string       `yaml:"orphans"`
}

type fileAccount struct {
	CreditFloor      float64 `yaml:"credit_floor_dollars"`
	MaxSpendPerHour  float64 `yaml:"max_spend_dollars_per_hour"`
	MaxSpendPerMonth float64 `yaml:"max_spend_dollars_per_month"`
}

type fileMarket struct {
	Name       string   `yaml:"name"`
	Query      string   `yaml:"query"`
	Type       string   `yaml:"type"`
	Order      string   `yaml:"order"`
	Limit      int      `yaml:"limit"`
	StorageGB  float64  `yaml:"storage_gb"`
	NoDefaults bool     `yaml:"no_defaults"`
	GroupBy    []string `yaml:"group_by"`
}

func (m *fileMarket) setDefaults() {
	m.Type = string(vastapi.OnDemand)
	m.Order = DefaultOrder
	m.StorageGB = DefaultStorageGB
}

type fileFleet struct {
	Name               string              `yaml:"name"`
	Market             string              `yaml:"market"`
	Size               fileSize            `yaml:"size"`
	Schedule           []fileScheduleEntry `yaml:"schedule"`
	MaxPrice           float64             `yaml:"max_price_dollars_per_hour"`
	Budget             float64             `yaml:"budget_dollars_per_hour"`
	MonthlyBudget      float64             `yaml:"budget_dollars_per_month"`
	Instance           fileInstance        `yaml:"instance"`
	BootTimeout        duration            `yaml:"boot_timeout"`
	Cooldown           fileCooldown        `yaml:"cooldown"`
	MaxActionsPerCycle int                 `yaml:"max_actions_per_cycle"`
	ScaleDown          string              `yaml:"scale_down"`
	StoppedTTL         duration            `yaml:"stopped_ttl"`
	MinDuration        duration            `yaml:"min_duration"`
	Rebalance          *fileRebalance      `yaml:"rebalance"`
	Bid                *fileBid            `yaml:"bid"`
	Discovery          *fileDiscovery      `yaml:"discovery"`
	Spread             *fileSpread         `yaml:"spread"`
	Readiness          *fileReadiness      `yaml:"readiness"`
	Drain              *fileDrain          `yaml:"drain"`
}

// fileReadiness is the probe an instance must pass before it counts as ready.
type fileReadiness struct {
	Port    int      `yaml:"port"`
	Path    string   `yaml:"path"`
	Timeout duration `yaml:"timeout"`
}

// fileDrain is what happens before an instance of the fleet is scaled down or replaced.
type fileDrain struct {
	Webhook secretString `yaml:"webhook"`
	Timeout duration     `yaml:"timeout"`
	Delay   duration     `yaml:"delay"`
}

// fileSpread caps the fleet's instances per machine, host and country (0 = no cap).
type fileSpread struct {
	MaxPerMachine int `yaml:"max_per_machine"`
	MaxPerHost    int `yaml:"max_per_host"`
	MaxPerCountry int `yaml:"max_per_country"`
}

// fileDiscovery lists the container ports /sd offers to Prometheus for each running instance.
type fileDiscovery struct {
	Ports []int `yaml:"ports"`
}

// Fleet defaults: what an operator would pick for a small production fleet.
const (
	defaultBootTimeout   = 15 * time.Minute
	defaultCooldownUp    = time.Minute
	defaultCooldownDown  = 10 * time.Minute
	defaultMaxActions    = 2
	defaultStoppedTTL    = 24 * time.Hour
	defaultDiskGB        = 10
	defaultRebalanceAge  = 2 * time.Hour
	defaultPollInterval  = 60 * time.Second
	defaultBidMultiplier = 1.1
)

func (f *fileFleet) setDefaults() {
	f.BootTimeout = duration(defaultBootTimeout)
	f.Cooldown = fileCooldown{ScaleUp: duration(defaultCooldownUp), ScaleDown: duration(defaultCooldownDown)}
	f.MaxActionsPerCycle = defaultMaxActions
	f.ScaleDown = string(ScaleDownDestroy)
	f.StoppedTTL = duration(defaultStoppedTTL)
	f.Instance.DiskGB = defaultDiskGB
	f.Instance.Runtype = "ssh"
}

type fileSize struct {
	Min    int `yaml:"min"`
	Target int `yaml:"target"`
	Max    int `yaml:"max"`
}

type fileScheduleEntry struct {
	Cron   string `yaml:"cron"`
	Target int    `yaml:"target"`
}

type fileInstance struct {
	Image          string       `yaml:"image"`
	DiskGB         float64      `yaml:"disk_gb"`
	Runtype        string       `yaml:"runtype"`
	Onstart        string       `yaml:"onstart"`
	Args           []string     `yaml:"args"`
	Env            envList      `yaml:"env"`
	ImageLogin     secretString `yaml:"image_login"`
	TemplateHashID string       `yaml:"template_hash_id"`
}

type fileCooldown struct {
	ScaleUp   duration `yaml:"scale_up"`
	ScaleDown duration `yaml:"scale_down"`
}

type fileRebalance struct {
	MinSavings float64  `yaml:"min_savings"`
	MinAge     duration `yaml:"min_age"`
}

func (r *fileRebalance) setDefaults() { r.MinAge = duration(defaultRebalanceAge) }

type fileBid struct {
	Multiplier float64 `yaml:"multiplier"`
	MaxPerHour float64 `yaml:"max_dollars_per_hour"`
}

func (b *fileBid) setDefaults() { b.Multiplier = defaultBidMultiplier }

// defaulter is a file struct that has defaults to set before its node is decoded.
type defaulter interface{ setDefaults() }

// nodeDecoder is a file type with its own YAML reading.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// duration is a time.Duration written as "90s", "15m", "2h" or "1d12h".
type duration time.Duration

func (v *duration) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		d.problem(path, n.Line, "want a duration; allowed: a number with a unit, such as 90s, 15m, 2h or 1d")
		return
	}
	x, err := parseDuration(n.Value)
	if err != nil {
		d.problem(path, n.Line, fmt.Sprintf("%s is not a duration; allowed: a number with a unit, such as 90s, 15m, 2h or 1d", strconv.Quote(n.Value)))
		return
	}
	*v = duration(x)
}

// parseDuration is time.ParseDuration plus a leading whole number of days ("1d", "7d12h").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("bad days in %q", s)
		}
		rest := time.Duration(0)
		if s[i+1:] != "" {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil || rest < 0 {
				return 0, fmt.Errorf("bad duration %q", s)
			}
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" || s[len(s)-1] >= '0' && s[len(s)-1] <= '9' {
		return 0, fmt.Errorf("duration %q has no unit", s)
	}
	return time.ParseDuration(s)
}

func (v duration) String() string { return time.Duration(v).String() }

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
		e := reflect.New(v.Type().Elem())
		if df, ok := e.Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(n, path, e.Elem())
		v.Set(e)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.problem(path, n.Line, "want a mapping of keys; allowed keys: "+strings.Join(yamlFields(v.Type()), ", "))
			return
		}
		t := v.Type()
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
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.problem(path, n.Line, fmt.Sprintf("%s is not a list; allowed: a YAML list such as [a, b]", scalarText(n)))
			return
		}
		s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.record(p, item.Line)
			e := reflect.New(v.Type().Elem())
			if df, ok := e.Interface().(defaulter); ok {
				df.setDefaults()
			}
			if isNull(resolveAlias(item)) {
				d.problem(p, item.Line, "empty list item; allowed: a value")
				continue
			}
			d.decode(item, p, e.Elem())
			s = reflect.Append(s, e.Elem())
		}
		v.Set(s)
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
