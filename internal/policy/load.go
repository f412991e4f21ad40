package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
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
			return nil, &ValidationError{Problems: []Problem{{Msg: "the file is empty; allowed: a YAML mapping with markets and fleets (see config.example.yaml)"}}}
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
			return nil, &ValidationError{Problems: []Problem{{Msg: "the file is empty; allowed: a YAML mapping with markets and fleets (see config.example.yaml)"}}}
		}
		doc = doc.Content[0]
	}
	if isNull(doc) {
		return nil, &ValidationError{Problems: []Problem{{Line: doc.Line, Msg: "the file is empty; allowed: a YAML mapping with markets and fleets (see config.example.yaml)"}}}
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

// validator checks the decoded file and builds the runtime model, adding problems to d.
type validator struct {
	d        *decoder
	fc       *fileConfig
	warnings []string
}

// line is the line of path, or of its nearest ancestor that has one.
func (v *validator) line(path string) int {
	for path != "" {
		if l, ok := v.d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// bad records a validation problem, unless the value at path already failed to decode (that
// problem says it better).
func (v *validator) bad(path, format string, a ...any) {
	if v.d.failed[path] {
		return
	}
	v.d.problems = append(v.d.problems, Problem{Path: path, Line: v.line(path), Msg: fmt.Sprintf(format, a...)})
}

func (v *validator) warn(path, format string, a ...any) {
	v.warnings = append(v.warnings, Problem{Path: path, Line: v.line(path), Msg: fmt.Sprintf(format, a...)}.String())
}

func (v *validator) isSet(path string) bool { return v.d.set[path] }

func money(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (v *validator) nonNegative(path string, f float64, unit string) {
	if f < 0 {
		v.bad(path, "%s is negative; allowed: 0 or more %s", money(f), unit)
	}
}

func (v *validator) validate() *Config {
	fc := v.fc
	cfg := &Config{
		PollInterval: time.Duration(fc.PollInterval),
		DryRun:       fc.DryRun,
		Owner:        fc.Owner,
		Orphans:      OrphanPolicy(fc.Orphans),
		Account: Account{
			CreditFloor:     fc.Account.CreditFloor,
			MaxSpendPerHour: fc.Account.MaxSpendPerHour,
			MonthlyBudget:   fc.Account.MaxSpendPerMonth,
		},
	}
	if cfg.PollInterval < MinPollInterval {
		v.bad("poll_interval", "%s is too short; allowed: %s or more", cfg.PollInterval, MinPollInterval)
	}
	switch {
	case fc.Owner == "" && len(fc.Fleets) > 0:
		v.bad("owner", "required when fleets are configured; allowed: %s (it goes into instance labels vastwatch:<owner>:<fleet>:<nonce>)", nameRule)
	case fc.Owner == "" && fc.Orphans == string(OrphansDestroy):
		v.bad("owner", "required with orphans: destroy (only instances carrying the owner tag are ever destroyed); allowed: %s", nameRule)
	case fc.Owner != "" && !nameRe.MatchString(fc.Owner):
		v.bad("owner", "%s is not a valid owner tag; allowed: %s", strconv.Quote(fc.Owner), nameRule)
	}
	switch cfg.Orphans {
	case OrphansKeep, OrphansDestroy:
	default:
		v.bad("orphans", "%s is not an orphan policy; allowed: keep or destroy", strconv.Quote(fc.Orphans))
	}
	v.nonNegative("account.credit_floor_dollars", fc.Account.CreditFloor, "dollars")
	v.nonNegative("account.max_spend_dollars_per_hour", fc.Account.MaxSpendPerHour, "dollars per hour (0 = no cap)")
	v.nonNegative("account.max_spend_dollars_per_month", fc.Account.MaxSpendPerMonth, "dollars per month (0 = no cap)")

	byName := map[string]*Market{}
	firstLine := map[string]int{}
	for i := range fc.Markets {
		if m := v.market(i, &fc.Markets[i], firstLine); m != nil {
			cfg.Markets = append(cfg.Markets, m)
			if _, dup := byName[m.Name]; !dup {
				byName[m.Name] = m
			}
		}
	}
	fleetLine := map[string]int{}
	for i := range fc.Fleets {
		if f := v.fleet(i, &fc.Fleets[i], byName, fleetLine); f != nil {
			cfg.Fleets = append(cfg.Fleets, f)
		}
	}
	v.pacing(cfg)
	cfg.Warnings = v.warnings
	return cfg
}

func (v *validator) market(i int, fm *fileMarket, firstLine map[string]int) *Market {
	p := fmt.Sprintf("markets[%d]", i)
	ok := true
	switch {
	case fm.Name == "":
		v.bad(p+".name", "required; allowed: %s", marketNameRule)
		ok = false
	case !marketNameRe.MatchString(fm.Name):
		v.bad(p+".name", "%s is not a valid market name; allowed: %s", strconv.Quote(fm.Name), marketNameRule)
		ok = false
	default:
		if l, dup := firstLine[fm.Name]; dup {
			v.bad(p+".name", "duplicate market name %s (first at line %d); allowed: unique names", strconv.Quote(fm.Name), l)
			ok = false
		} else {
			firstLine[fm.Name] = v.line(p + ".name")
		}
	}
	var typ vastapi.OfferType
	switch fm.Type {
	case "on-demand", "ondemand":
		typ = vastapi.OnDemand
	case "bid", "interruptible":
		typ = vastapi.Bid
	case "reserved":
		typ = vastapi.Reserved
	default:
		v.bad(p+".type", "%s is not a market type; allowed: on-demand, bid or reserved", strconv.Quote(fm.Type))
		ok = false
	}
	if fm.Limit < 0 {
		v.bad(p+".limit", "%d is negative; allowed: 0 (the server's default) or a positive number of offers", fm.Limit)
		ok = false
	}
	if fm.StorageGB <= 0 {
		v.bad(p+".storage_gb", "%s is not positive; allowed: the disk size in GB that prices include, e.g. 20", money(fm.StorageGB))
		ok = false
	}
	if _, err := ParseOrder(fm.Order); err != nil {
		v.bad(p+".order", "%v; allowed: the vast CLI -o syntax, e.g. \"dph_total\" or \"dlperf_per_dphtotal-\"", err)
		ok = false
	}
	seen := map[string]bool{}
	for j, g := range fm.GroupBy {
		gp := fmt.Sprintf("%s.group_by[%d]", p, j)
		switch {
		case !isGroupByLabel(g):
			v.bad(gp, "%s is not a group_by label; allowed: %s", strconv.Quote(g), strings.Join(GroupByLabels, ", "))
			ok = false
		case seen[g]:
			v.bad(gp, "%s is listed twice; allowed: each label once", strconv.Quote(g))
			ok = false
		}
		seen[g] = true
	}
	if !v.isSet(p + ".query") {
		v.bad(p+".query", "required; allowed: a search in the vast CLI syntax, e.g. \"gpu_name=RTX_4090 num_gpus=1\" (\"\" for every offer)")
		return nil
	}
	if !ok {
		return nil
	}
	q, warns, err := ParseQueryWarnings(fm.Query, SearchOptions{
		Order: fm.Order, Limit: fm.Limit, Type: string(typ), StorageGB: fm.StorageGB, NoDefaults: fm.NoDefaults,
	})
	for _, w := range warns {
		w = strings.TrimSuffix(strings.TrimPrefix(w, "Warning: "), ", see list of recognized fields.")
		v.warn(p+".query", "%s; it is still sent, as the vast CLI does", w)
	}
	if err != nil {
		v.bad(p+".query", "%s; allowed: the vast CLI search offers syntax, e.g. \"gpu_name=RTX_4090 num_gpus>=1\"", strings.TrimSuffix(err.Error(), "."))
		return nil
	}
	// The daemon re-checks every reply against this same value; make sure it can.
	matcher, err := q.Compile(time.Unix(0, 0))
	if err != nil {
		v.bad(p+".query", "%v; allowed: values the offer fields can be compared with", err)
		return nil
	}
	for _, f := range matcher.Unknown {
		if offerFields[f] {
			v.warn(p+".query", "field %s is sent to the API but vastwatch cannot re-check it in replies", f)
		}
	}
	return &Market{
		Name:      fm.Name,
		QueryText: fm.Query,
		Query:     q,
		Type:      typ,
		StorageGB: fm.StorageGB,
		GroupBy:   append([]string(nil), fm.GroupBy...),
	}
}

func (fc *fileConfig) hasMarket(name string) bool {
	for _, m := range fc.Markets {
		if m.Name == name {
			return true
		}
	}
	return false
}

func isGroupByLabel(s string) bool {
	for _, g := range GroupByLabels {
		if g == s {
			return true
		}
	}
	return false
}

func marketNames(byName map[string]*Market) string {
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (v *validator) fleet(i int, ff *fileFleet, markets map[string]*Market, firstLine map[string]int) *Fleet {
	p := fmt.Sprintf("fleets[%d]", i)
	ok := true
	fail := func(path, format string, a ...any) {
		v.bad(path, format, a...)
		ok = false
	}
	switch {
	case ff.Name == "":
		fail(p+".name", "required; allowed: %s", nameRule)
	case !nameRe.MatchString(ff.Name):
		fail(p+".name", "%s is not a valid fleet name; allowed: %s", strconv.Quote(ff.Name), nameRule)
	default:
		if l, dup := firstLine[ff.Name]; dup {
			fail(p+".name", "duplicate fleet name %s (first at line %d); allowed: unique names", strconv.Quote(ff.Name), l)
		} else {
			firstLine[ff.Name] = v.line(p + ".name")
		}
	}

	var m *Market
	switch {
	case ff.Market == "":
		fail(p+".market", "required; allowed: the name of a market under markets")
	case markets[ff.Market] == nil && v.fc.hasMarket(ff.Market):
		fail(p+".market", "market %s has problems of its own (listed with it); allowed: a valid market", strconv.Quote(ff.Market))
	case markets[ff.Market] == nil:
		if len(markets) == 0 {
			fail(p+".market", "no market named %s; allowed: the name of a market under markets", strconv.Quote(ff.Market))
		} else {
			fail(p+".market", "no market named %s; allowed: one of %s", strconv.Quote(ff.Market), marketNames(markets))
		}
	default:
		m = markets[ff.Market]
		if m.Type == vastapi.Reserved {
			fail(p+".market", "market %s is of type reserved, which is watched, not rented; allowed: a market of type on-demand or bid", strconv.Quote(m.Name))
			m = nil
		}
	}

	// size
	sz := ff.Size
	if !v.isSet(p+".size.target") && !v.d.failed[p+".size"] {
		fail(p+".size.target", "required; allowed: a whole number of instances from min to max")
	}
	if !v.isSet(p + ".size.max") {
		sz.Max = max(sz.Target, sz.Min)
	}
	sizeOK := !v.d.failed[p+".size"] && !v.d.failed[p+".size.min"] && !v.d.failed[p+".size.target"] && !v.d.failed[p+".size.max"]
	if !sizeOK {
		ok = false
	}
	for _, c := range []struct {
		k string
		n int
	}{{"min", sz.Min}, {"target", sz.Target}, {"max", sz.Max}} {
		switch {
		case c.n < 0:
			fail(p+".size."+c.k, "%d is negative; allowed: 0 or more instances", c.n)
			sizeOK = false
		case c.n > MaxFleetSize:
			fail(p+".size."+c.k, "%d is more than %d; allowed: at most %d instances per fleet", c.n, MaxFleetSize, MaxFleetSize)
			sizeOK = false
		}
	}
	if sizeOK && v.isSet(p+".size.target") {
		if sz.Min > sz.Target {
			fail(p+".size", "min %d is above target %d; allowed: min ≤ target ≤ max", sz.Min, sz.Target)
			sizeOK = false
		}
		if sz.Target > sz.Max {
			fail(p+".size", "target %d is above max %d; allowed: min ≤ target ≤ max", sz.Target, sz.Max)
			sizeOK = false
		}
	}

	// schedule
	var sched Schedule
	for j, e := range ff.Schedule {
		sp := fmt.Sprintf("%s.schedule[%d]", p, j)
		if !v.isSet(sp + ".cron") {
			fail(sp+".cron", "required; allowed: %s", scheduleSyntaxRule)
		} else if entry, err := ParseScheduleEntry(e.Cron, e.Target); err != nil {
			fail(sp+".cron", "%v; allowed: %s", err, scheduleSyntaxRule)
		} else {
			sched.Entries = append(sched.Entries, entry)
		}
		switch {
		case !v.isSet(sp + ".target"):
			fail(sp+".target", "required; allowed: a target from size.min to size.max")
		case sizeOK && (e.Target < sz.Min || e.Target > sz.Max):
			fail(sp+".target", "%d is outside size %d..%d; allowed: a target from %d to %d", e.Target, sz.Min, sz.Max, sz.Min, sz.Max)
		}
	}

	// money
	priceOK := !v.d.failed[p+".max_price_dollars_per_hour"]
	switch {
	case !priceOK:
		ok = false
	case !v.isSet(p + ".max_price_dollars_per_hour"):
		fail(p+".max_price_dollars_per_hour", "required; allowed: the most one instance may cost in whole-instance $/h (dph_total), e.g. 0.60")
		priceOK = false
	case ff.MaxPrice <= 0:
		fail(p+".max_price_dollars_per_hour", "%s is not positive; allowed: the most one instance may cost in whole-instance $/h (dph_total), e.g. 0.60", money(ff.MaxPrice))
		priceOK = false
	}
	switch {
	case v.d.failed[p+".budget_dollars_per_hour"]:
		ok = false
	case !v.isSet(p + ".budget_dollars_per_hour"):
		fail(p+".budget_dollars_per_hour", "required; allowed: the most the whole fleet may commit in $/h, at least max_price_dollars_per_hour")
	case ff.Budget <= 0:
		fail(p+".budget_dollars_per_hour", "%s is not positive; allowed: the most the whole fleet may commit in $/h, at least max_price_dollars_per_hour", money(ff.Budget))
	case priceOK && ff.Budget < ff.MaxPrice:
		fail(p+".budget_dollars_per_hour", "%s is less than one instance at max_price_dollars_per_hour %s; allowed: at least %s", money(ff.Budget), money(ff.MaxPrice), money(ff.MaxPrice))
	}
	v.nonNegative(p+".budget_dollars_per_month", ff.MonthlyBudget, "dollars per month (0 = no cap)")
	if ff.MonthlyBudget < 0 {
		ok = false
	}
	if acctCap := v.fc.Account.MaxSpendPerHour; priceOK && acctCap > 0 && acctCap < ff.MaxPrice {
		v.warn(p+".max_price_dollars_per_hour", "%s is above account.max_spend_dollars_per_hour %s; offers above the account cap can never be rented", money(ff.MaxPrice), money(acctCap))
	}
	if priceOK && ff.Budget >= ff.MaxPrice && sz.Max > 0 && ff.Budget < ff.MaxPrice*float64(sz.Max) && sizeOK {
		// Not an error: cheaper offers may fit more instances. Worth knowing, though.
		v.warn(p+".budget_dollars_per_hour", "%s covers %d instances at max_price_dollars_per_hour %s, fewer than size.max %d; the fleet reaches max only with cheaper offers", money(ff.Budget), int(ff.Budget/ff.MaxPrice), money(ff.MaxPrice), sz.Max)
	}

	// instance
	in := ff.Instance
	ip := p + ".instance"
	switch {
	case in.Image == "" && in.TemplateHashID == "":
		fail(ip+".image", "required unless instance.template_hash_id is set; allowed: a container image such as pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime")
	case len(in.Image) > MaxImageLen:
		fail(ip+".image", "is %d characters long; allowed: at most %d", len(in.Image), MaxImageLen)
	}
	if in.DiskGB < MinDiskGB {
		fail(ip+".disk_gb", "%s GB is below the API's minimum; allowed: %d GB or more", money(in.DiskGB), MinDiskGB)
	}
	runtype := in.Runtype
	if in.TemplateHashID != "" && !v.isSet(ip+".runtype") {
		runtype = "" // a template brings its own launch mode
	}
	if runtype != "" && !contains(Runtypes, runtype) {
		fail(ip+".runtype", "%s is not a runtype; allowed: %s", strconv.Quote(runtype), strings.Join(Runtypes, ", "))
	}
	if n := len(in.Onstart) + len(strings.Join(in.Args, " ")); n > MaxOnstartArgsLen {
		fail(ip+".onstart", "onstart and args together are %d characters; allowed: at most %d", n, MaxOnstartArgsLen)
	}
	env := make([]EnvVar, 0, len(in.Env))
	for _, e := range in.Env {
		env = append(env, EnvVar{Name: e.Name, Value: e.Value.Value})
	}

	// timings and modes
	if d := time.Duration(ff.BootTimeout); d < MinBootTimeout {
		fail(p+".boot_timeout", "%s is too short; allowed: %s or more (images take minutes to pull)", d, MinBootTimeout)
	}
	for _, c := range []struct {
		k string
		d duration
	}{{"scale_up", ff.Cooldown.ScaleUp}, {"scale_down", ff.Cooldown.ScaleDown}} {
		if c.d < 0 {
			fail(p+".cooldown."+c.k, "%s is negative; allowed: 0 or a positive duration", c.d)
		}
	}
	if ff.MaxActionsPerCycle < 1 {
		fail(p+".max_actions_per_cycle", "%d is below 1; allowed: 1 or more actions per cycle", ff.MaxActionsPerCycle)
	}
	switch ScaleDownMode(ff.ScaleDown) {
	case ScaleDownDestroy, ScaleDownStop:
	default:
		fail(p+".scale_down", "%s is not a scale-down mode; allowed: destroy or stop", strconv.Quote(ff.ScaleDown))
	}
	if ff.StoppedTTL <= 0 {
		fail(p+".stopped_ttl", "%s is not positive; allowed: a duration such as 24h", ff.StoppedTTL)
	}
	if ff.MinDuration < 0 {
		fail(p+".min_duration", "%s is negative; allowed: 0 or a positive duration such as 7d", ff.MinDuration)
	}
	var discovery []int
	if ff.Discovery != nil {
		seenPort := map[int]bool{}
		for j, port := range ff.Discovery.Ports {
			pp := fmt.Sprintf("%s.discovery.ports[%d]", p, j)
			switch {
			case port < 1 || port > 65535:
				fail(pp, "%d is not a port; allowed: a container port from 1 to 65535, e.g. 9100", port)
			case seenPort[port]:
				fail(pp, "%d is listed twice; allowed: each port once", port)
			}
			seenPort[port] = true
			discovery = append(discovery, port)
		}
	}

	var spread Spread
	if ff.Spread != nil {
		for _, c := range []struct {
			k string
			n int
		}{{"max_per_machine", ff.Spread.MaxPerMachine}, {"max_per_host", ff.Spread.MaxPerHost}, {"max_per_country", ff.Spread.MaxPerCountry}} {
			if c.n < 0 {
				fail(p+".spread."+c.k, "%d is negative; allowed: 0 (no limit) or a positive number of the fleet's instances", c.n)
			}
		}
		spread = Spread{MaxPerMachine: ff.Spread.MaxPerMachine, MaxPerHost: ff.Spread.MaxPerHost, MaxPerCountry: ff.Spread.MaxPerCountry}
	}

	readiness := v.readiness(p, ff.Readiness)
	drain := v.drain(p, ff.Drain)

	var reb *Rebalance
	if ff.Rebalance != nil {
		rp := p + ".rebalance"
		switch {
		case !v.isSet(rp + ".min_savings"):
			fail(rp+".min_savings", "required; allowed: a fraction more than 0 and less than 1, e.g. 0.25 for at least 25 %% cheaper")
		case ff.Rebalance.MinSavings <= 0 || ff.Rebalance.MinSavings >= 1:
			fail(rp+".min_savings", "%s is not a fraction in (0, 1); allowed: more than 0 and less than 1, e.g. 0.25 for at least 25 %% cheaper", money(ff.Rebalance.MinSavings))
		}
		if ff.Rebalance.MinAge < 0 {
			fail(rp+".min_age", "%s is negative; allowed: 0 or a positive duration such as 2h", ff.Rebalance.MinAge)
		}
		reb = &Rebalance{MinSavings: ff.Rebalance.MinSavings, MinAge: time.Duration(ff.Rebalance.MinAge)}
	}

	var bid *BidPolicy
	if m != nil {
		switch {
		case m.Type == vastapi.Bid && ff.Bid == nil:
			fail(p+".bid", "required because market %s is of type bid; allowed: {multiplier: 1.1, max_dollars_per_hour: 0.40}", strconv.Quote(m.Name))
		case m.Type != vastapi.Bid && ff.Bid != nil:
			fail(p+".bid", "set, but market %s is of type %s; allowed: bid settings only on fleets of bid markets", strconv.Quote(m.Name), m.Type)
		}
	}
	if ff.Bid != nil {
		bp := p + ".bid"
		if ff.Bid.Multiplier < 1 || ff.Bid.Multiplier > MaxBidMultiplier {
			fail(bp+".multiplier", "%s is outside 1..%d; allowed: from 1 to %d (the bid is min_bid × multiplier)", money(ff.Bid.Multiplier), MaxBidMultiplier, MaxBidMultiplier)
		}
		switch {
		case !v.isSet(bp + ".max_dollars_per_hour"):
			fail(bp+".max_dollars_per_hour", "required; allowed: the highest bid for one whole instance in $/h, e.g. 0.40")
		case ff.Bid.MaxPerHour <= 0:
			fail(bp+".max_dollars_per_hour", "%s is not positive; allowed: the highest bid for one whole instance in $/h, e.g. 0.40", money(ff.Bid.MaxPerHour))
		}
		bid = &BidPolicy{Multiplier: ff.Bid.Multiplier, MaxPerHour: ff.Bid.MaxPerHour}
	}

	if !ok || m == nil {
		return nil
	}
	return &Fleet{
		Name:     ff.Name,
		Market:   m,
		Min:      sz.Min,
		Target:   sz.Target,
		Max:      sz.Max,
		Schedule: sched,
		MaxPrice: ff.MaxPrice,
		Budget:   ff.Budget,
		Monthly:  ff.MonthlyBudget,
		Instance: InstanceTemplate{
			Image:          in.Image,
			DiskGB:         in.DiskGB,
			Runtype:        runtype,
			Onstart:        in.Onstart,
			Args:           append([]string(nil), in.Args...),
			Env:            env,
			ImageLogin:     in.ImageLogin.Value,
			TemplateHashID: in.TemplateHashID,
		},
		BootTimeout:        time.Duration(ff.BootTimeout),
		CooldownUp:         time.Duration(ff.Cooldown.ScaleUp),
		CooldownDown:       time.Duration(ff.Cooldown.ScaleDown),
		MaxActionsPerCycle: ff.MaxActionsPerCycle,
		ScaleDown:          ScaleDownMode(ff.ScaleDown),
		StoppedTTL:         time.Duration(ff.StoppedTTL),
		MinDuration:        time.Duration(ff.MinDuration),
		Rebalance:          reb,
		Bid:                bid,
		DiscoveryPorts:     discovery,
		Spread:             spread,
		Readiness:          readiness,
		Drain:              drain,
	}
}

// readiness checks a fleet's readiness probe; nil when none is configured or it is invalid
// (the problem is then recorded).
func (v *validator) readiness(p string, fr *fileReadiness) *Readiness {
	if fr == nil {
		return nil
	}
	rp := p + ".readiness"
	ok := true
	switch {
	case !v.isSet(rp + ".port"):
		v.bad(rp+".port", "required; allowed: the container port to probe, from 1 to 65535, e.g. 8080")
		ok = false
	case fr.Port < 1 || fr.Port > 65535:
		v.bad(rp+".port", "%d is not a port; allowed: a container port from 1 to 65535, e.g. 8080", fr.Port)
		ok = false
	}
	if fr.Path != "" && (!strings.HasPrefix(fr.Path, "/") || strings.ContainsAny(fr.Path, " \t\r\n#")) {
		v.bad(rp+".path", "%s is not an absolute URL path; allowed: a path such as /healthz (omit it for a TCP connect)", strconv.Quote(fr.Path))
		ok = false
	}
	timeout := time.Duration(fr.Timeout)
	switch {
	case !v.isSet(rp + ".timeout"):
		timeout = DefaultProbeTimeout
	case timeout <= 0 || timeout > time.Minute:
		v.bad(rp+".timeout", "%s is outside (0, 1m]; allowed: how long one probe may take, e.g. 5s", timeout)
		ok = false
	}
	if !ok {
		return nil
	}
	return &Readiness{Port: fr.Port, Path: fr.Path, Timeout: timeout}
}

// drain checks a fleet's drain settings; nil when none are configured or they are invalid.
func (v *validator) drain(p string, fd *fileDrain) *Drain {
	if fd == nil {
		return nil
	}
	dp := p + ".drain"
	ok := true
	hook := fd.Webhook.Value
	if fd.Webhook.set {
		u, err := url.Parse(hook.Reveal())
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			// The URL is not quoted: it may carry a token.
			v.bad(dp+".webhook", "is not an absolute http or https URL; allowed: a URL such as https://lb.example/drain, or {env: NAME} / {file: PATH} holding one")
			ok = false
		case u.User != nil:
			v.bad(dp+".webhook", "carries user:password; allowed: a URL without credentials (put a token in the path or query, and the URL in {env: NAME} or {file: PATH})")
			ok = false
		}
	}
	timeout := time.Duration(fd.Timeout)
	switch {
	case !v.isSet(dp + ".timeout"):
		timeout = DefaultDrainTimeout
	case timeout <= 0:
		v.bad(dp+".timeout", "%s is not positive; allowed: how long to wait for the webhook's 2xx before removing the instance anyway, e.g. 5m", timeout)
		ok = false
	}
	delay := time.Duration(fd.Delay)
	if delay < 0 {
		v.bad(dp+".delay", "%s is negative; allowed: 0 or the least time between the drain and the removal, e.g. 2m", delay)
		ok = false
	}
	if !fd.Webhook.set && delay <= 0 && ok {
		v.bad(dp, "has neither webhook nor delay; allowed: a webhook to call, a delay to wait, or both")
		ok = false
	}
	if !ok {
		return nil
	}
	return &Drain{Webhook: hook, Timeout: timeout, Delay: delay}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pacing warns when the distinct searches of one poll cannot fit the poll interval at the
// published search pacing (identical queries are searched once).
func (v *validator) pacing(cfg *Config) {
	n := cfg.DistinctSearches()
	need := time.Duration(n) * vastapi.SearchMinInterval
	if n > 0 && need > cfg.PollInterval {
		v.warn("poll_interval", "%d distinct searches need %s per poll at the published pacing of one search every %s, more than the poll interval %s; polls will run late (raise poll_interval to %s or more, or share identical queries between markets)",
			n, need, vastapi.SearchMinInterval, cfg.PollInterval, need)
	}
}

// DistinctSearches is the number of searches one poll makes: one per distinct query body.
func (c *Config) DistinctSearches() int {
	keys := map[string]bool{}
	for _, m := range c.Markets {
		keys[m.Query.Key()] = true
	}
	return len(keys)
}

// Market returns the market named name, or nil.
func (c *Config) Market(name string) *Market {
	for _, m := range c.Markets {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Fleet returns the fleet named name, or nil.
func (c *Config) Fleet(name string) *Fleet {
	for _, f := range c.Fleets {
		if f.Name == name {
			return f
		}
	}
	return nil
}
