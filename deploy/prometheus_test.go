package deploy_test

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

const (
	ruleFile        = "prometheus/vastwatch.rules.yml"
	ruleTestGlob    = "prometheus/tests/*.yml"
	prometheusRule  = "kubernetes/prometheusrule.yaml"
	composePromConf = "prometheus/prometheus.yml"
)

// ruleFileSpec is a Prometheus rule file, strictly: a misspelled key fails the decode instead
// of silently dropping an annotation.
type ruleFileSpec struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Limit    int    `json:"limit,omitempty"`
	Rules    []rule `json:"rules"`
}

type rule struct {
	Alert         string            `json:"alert,omitempty"`
	Record        string            `json:"record,omitempty"`
	Expr          string            `json:"expr"`
	For           string            `json:"for,omitempty"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// promtoolTestFile is the `promtool test rules` format.
type promtoolTestFile struct {
	RuleFiles          []string       `json:"rule_files"`
	EvaluationInterval string         `json:"evaluation_interval"`
	GroupEvalOrder     []string       `json:"group_eval_order,omitempty"`
	Tests              []promtoolTest `json:"tests"`
}

type promtoolTest struct {
	Name           string            `json:"name"`
	Interval       string            `json:"interval"`
	ExternalLabels map[string]string `json:"external_labels,omitempty"`
	InputSeries    []struct {
		Series string `json:"series"`
		Values string `json:"values"`
	} `json:"input_series"`
	AlertRuleTests []struct {
		EvalTime  string     `json:"eval_time"`
		Alertname string     `json:"alertname"`
		ExpAlerts []expAlert `json:"exp_alerts"`
	} `json:"alert_rule_test"`
	PromQLExprTests []struct {
		Expr       string `json:"expr"`
		EvalTime   string `json:"eval_time"`
		ExpSamples []struct {
			Labels string  `json:"labels"`
			Value  float64 `json:"value"`
		} `json:"exp_samples"`
	} `json:"promql_expr_test,omitempty"`
}

type expAlert struct {
	ExpLabels      map[string]string `json:"exp_labels"`
	ExpAnnotations map[string]string `json:"exp_annotations"`
}

// requiredAlerts maps each alert issue 9 asks for to its rule.
var requiredAlerts = map[string]string{
	"credit runway below a threshold":  "VastCreditRunwayLow",
	"credit below the floor":           "VastCreditBelowFloor",
	"fleet below target for a while":   "VastwatchFleetBelowTarget",
	"fleet blocked":                    "VastwatchFleetBlocked",
	"spend above budget":               "VastwatchFleetSpendOverBudget",
	"orphaned instances":               "VastwatchOrphanedInstances",
	"no successful poll recently":      "VastwatchPollStale",
	"API errors elevated":              "VastwatchAPIErrorsHigh",
	"instances stuck loading":          "VastInstanceStuckLoading",
	"scrape target down":               "VastwatchDown",
	"API key rejected":                 "VastwatchAPIUnauthorized",
	"reload rejected, old config kept": "VastwatchConfigReloadFailed",
	// Issue 18: month spend against the budgets, Vast's charges, readiness, draining, leadership.
	"account month forecast over budget": "VastwatchMonthForecastOverBudget",
	"fleet month forecast over budget":   "VastwatchFleetMonthForecastOverBudget",
	"Vast's charges over the budget":     "VastChargesOverMonthlyBudget",
	"running instance not ready":         "VastwatchInstanceNotReady",
	"instance draining too long":         "VastwatchInstanceDrainStuck",
	"not exactly one leader":             "VastwatchNotExactlyOneLeader",
}

// perReplicaAlerts are about one process, so they fire per replica with its instance label
// (docs/runbook.md, "High availability"); every other alert collapses the replicas and must
// fire once for two of them.
var perReplicaAlerts = map[string]bool{
	"VastwatchDown": true, "VastwatchPollStale": true, "VastwatchAPIErrorsHigh": true,
	"VastwatchAPIUnauthorized": true, "VastwatchConfigReloadFailed": true,
}

func loadRules(t *testing.T) ruleFileSpec {
	t.Helper()
	var rf ruleFileSpec
	if err := decodeStrict(ruleFile, &rf); err != nil {
		t.Fatalf("%s: %v", ruleFile, err)
	}
	return rf
}

func TestAlertRulesPassPromtool(t *testing.T) {
	promtool := needTool(t, "promtool", "prometheus")
	tests, err := filepath.Glob(ruleTestGlob)
	if err != nil || len(tests) == 0 {
		t.Fatalf("no promtool test files match %s (%v)", ruleTestGlob, err)
	}
	t.Run("promtool check rules", func(t *testing.T) {
		out := run(t, ".", nil, promtool, "check", "rules", ruleFile)
		if !bytes.Contains(out, []byte("SUCCESS")) {
			t.Fatalf("promtool check rules: %s", out)
		}
	})
	t.Run("promtool test rules", func(t *testing.T) {
		// Run from the tests directory: rule_files are relative to the test file.
		args := []string{"test", "rules"}
		for _, f := range tests {
			args = append(args, filepath.Base(f))
		}
		out := run(t, filepath.Dir(tests[0]), nil, promtool, args...)
		if n := bytes.Count(out, []byte("SUCCESS")); n != len(tests) {
			t.Fatalf("%d of %d test files succeeded:\n%s", n, len(tests), out)
		}
	})
	t.Run("promtool check config of the compose Prometheus", func(t *testing.T) {
		out := run(t, ".", nil, promtool, "check", "config", composePromConf)
		n := 0
		for _, g := range loadRules(t).Groups {
			n += len(g.Rules)
		}
		if want := fmt.Sprintf("SUCCESS: %d rules found", n); !bytes.Contains(out, []byte(want)) {
			t.Fatalf("promtool check config did not load the %d rules:\n%s", n, out)
		}
	})
}

func TestEveryAlertIsDocumentedAndTested(t *testing.T) {
	rf := loadRules(t)
	alerts := map[string]rule{}
	for _, g := range rf.Groups {
		if len(g.Rules) == 0 {
			t.Errorf("group %s has no rules", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: recording rule %q; this file holds alerts only", g.Name, r.Record)
				continue
			}
			if _, dup := alerts[r.Alert]; dup {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			alerts[r.Alert] = r
		}
	}
	for what, name := range requiredAlerts {
		if _, ok := alerts[name]; !ok {
			t.Errorf("no alert %s for %q", name, what)
		}
	}

	tests := loadRuleTests(t)
	names := slices.Sorted(maps.Keys(alerts))
	runbook := readRunbook(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) { checkAlert(t, name, alerts[name], tests.byAlert[name], runbook) })
	}
	for anchor := range runbook {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.ToLower(n) == anchor }) && !runbookSections[anchor] {
			t.Errorf("docs/runbook.md has a section #%s for no alert", anchor)
		}
	}
}

// checkAlert checks one alert: its annotations and runbook section, its severity and hold,
// the metrics it uses, and how the promtool tests exercise it (c).
func checkAlert(t *testing.T, name string, r rule, c ruleTestCounts, runbook map[string]string) {
	t.Helper()
	for _, a := range []string{"summary", "description", "runbook_url"} {
		if strings.TrimSpace(r.Annotations[a]) == "" {
			t.Errorf("no %s annotation", a)
		}
	}
	for a := range r.Annotations {
		if !slices.Contains([]string{"summary", "description", "runbook_url"}, a) {
			t.Errorf("annotation %q: the text of a runbook goes in docs/runbook.md", a)
		}
	}
	if want := runbookURL + strings.ToLower(name); r.Annotations["runbook_url"] != want {
		t.Errorf("runbook_url %q, want %q", r.Annotations["runbook_url"], want)
	}
	if sec, ok := runbook[strings.ToLower(name)]; !ok {
		t.Errorf("docs/runbook.md has no section %q", "## "+name)
	} else {
		for _, part := range []string{"**Means.**", "**Check.**", "**Do.**"} {
			if !strings.Contains(sec, part) {
				t.Errorf("docs/runbook.md, section %s: no %s paragraph", name, part)
			}
		}
	}
	if s := r.Labels["severity"]; s != "warning" && s != "critical" {
		t.Errorf("severity %q, want warning or critical", s)
	}
	if r.For == "" {
		t.Errorf("no for: a single bad scrape would page")
	}
	checkRefs(t, name, r.Expr, true)
	if c.firing == 0 {
		t.Errorf("no promtool test expects it to fire")
	}
	if c.quiet == 0 {
		t.Errorf("no promtool test expects it to stay quiet")
	}
	switch {
	case perReplicaAlerts[name] && c.firingWithoutInstance > 0:
		t.Errorf("fires without the replica's instance label in a promtool test; it is about one replica")
	case !perReplicaAlerts[name] && c.firingOnceForReplicas == 0:
		t.Errorf("no promtool test fires it once, without an instance label, from two replicas (docs/runbook.md, High availability)")
	}
}

// runbookURL is where every alert's runbook_url points, followed by the alert's section anchor.
const runbookURL = "https://github.com/vastwatch/vastwatch/blob/main/docs/runbook.md#"

// runbookSections are the sections of docs/runbook.md that are not an alert's.
var runbookSections = map[string]bool{"high-availability": true}

// readRunbook returns the sections of docs/runbook.md by their GitHub anchor ("## Foo Bar" is
// #foo-bar), each with its text.
func readRunbook(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var anchor string
	for line := range strings.Lines(string(b)) {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			anchor = githubAnchor(h)
			if _, dup := out[anchor]; dup {
				t.Errorf("docs/runbook.md: two sections #%s", anchor)
			}
			out[anchor] = ""
			continue
		}
		if anchor != "" {
			out[anchor] += line
		}
	}
	return out
}

// githubAnchor is the anchor GitHub gives a heading: lower case, punctuation dropped, spaces
// as hyphens.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ruleTestCounts says how the promtool tests exercise one alert.
type ruleTestCounts struct {
	firing, quiet int
	// firingOnceForReplicas counts checks where series of two or more instances fire the alert
	// and no expected alert has an instance label; firingWithoutInstance, any firing check
	// whose expected alert lacks one.
	firingOnceForReplicas, firingWithoutInstance int
}

type ruleTests struct{ byAlert map[string]ruleTestCounts }

var instanceLabelRE = regexp.MustCompile(`[{,]\s*instance\s*=\s*"([^"]*)"`)

// loadRuleTests decodes every promtool test file strictly and counts, per alert, the checks
// that expect it to fire and to stay quiet. A file must load the rule file, and a check must
// name a known alert (a misspelled one expects nothing and passes vacuously).
func loadRuleTests(t *testing.T) ruleTests {
	t.Helper()
	known := map[string]bool{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			known[r.Alert] = true
		}
	}
	out := ruleTests{byAlert: map[string]ruleTestCounts{}}
	files, _ := filepath.Glob(ruleTestGlob)
	for _, f := range files {
		var tf promtoolTestFile
		if err := decodeStrict(f, &tf); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		loadsRules := slices.ContainsFunc(tf.RuleFiles, func(p string) bool {
			return filepath.Clean(filepath.Join(filepath.Dir(f), p)) == filepath.Clean(ruleFile)
		})
		if !loadsRules {
			t.Errorf("%s: rule_files %q does not load %s", f, tf.RuleFiles, ruleFile)
		}
		for _, tc := range tf.Tests {
			instances := map[string]bool{}
			for _, s := range tc.InputSeries {
				if m := instanceLabelRE.FindStringSubmatch(s.Series); m != nil {
					instances[m[1]] = true
				}
			}
			for _, at := range tc.AlertRuleTests {
				if !known[at.Alertname] {
					t.Errorf("%s: test %q checks unknown alert %q", f, tc.Name, at.Alertname)
				}
				c := out.byAlert[at.Alertname]
				if len(at.ExpAlerts) == 0 {
					c.quiet++
				} else {
					c.firing++
					withInstance := slices.ContainsFunc(at.ExpAlerts, func(a expAlert) bool {
						_, ok := a.ExpLabels["instance"]
						return ok
					})
					if !withInstance {
						c.firingWithoutInstance++
						if len(instances) >= 2 {
							c.firingOnceForReplicas++
						}
					}
				}
				out.byAlert[at.Alertname] = c
			}
		}
	}
	return out
}

// renderPrometheusRule is the PrometheusRule manifest for the rule file: the file's text,
// comments included, under spec:, so the two cannot differ.
func renderPrometheusRule(rules []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`# Generated from deploy/prometheus/vastwatch.rules.yml by
# "go test ./deploy -run TestPrometheusRuleMatchesRuleFile -update"; do not edit by hand.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: vastwatch
  labels:
    app.kubernetes.io/name: vastwatch
    app.kubernetes.io/component: alerting
spec:
`)
	for _, line := range strings.SplitAfter(string(rules), "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.Bytes()
}

func TestPrometheusRuleMatchesRuleFile(t *testing.T) {
	src, err := os.ReadFile(ruleFile)
	if err != nil {
		t.Fatal(err)
	}
	want := renderPrometheusRule(src)
	if *update {
		if err := os.WriteFile(prometheusRule, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(prometheusRule)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the rendering of %s; run go test ./deploy -run %s -update", prometheusRule, ruleFile, t.Name())
	}

	var pr prometheusRuleCR
	if err := decodeStrictBytes(got, &pr); err != nil {
		t.Fatalf("%s: %v", prometheusRule, err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		t.Errorf("apiVersion/kind = %s/%s", pr.APIVersion, pr.Kind)
	}
	rf := loadRules(t)
	if !reflect.DeepEqual(pr.Spec.Groups, rf.Groups) {
		t.Errorf("the PrometheusRule's groups differ from %s", ruleFile)
	}
	if len(rf.Groups) == 0 {
		t.Errorf("no rule groups")
	}
}
