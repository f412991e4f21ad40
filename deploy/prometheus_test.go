package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
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
		EvalTime  string `json:"eval_time"`
		Alertname string `json:"alertname"`
		ExpAlerts []struct {
			ExpLabels      map[string]string `json:"exp_labels"`
			ExpAnnotations map[string]string `json:"exp_annotations"`
		} `json:"exp_alerts"`
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

	firing, quiet := map[string]int{}, map[string]int{}
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
			for _, at := range tc.AlertRuleTests {
				// A test of a misspelled alert name expects nothing and passes vacuously.
				if _, ok := alerts[at.Alertname]; !ok {
					t.Errorf("%s: test %q checks unknown alert %q", f, tc.Name, at.Alertname)
				}
				if len(at.ExpAlerts) > 0 {
					firing[at.Alertname]++
				} else {
					quiet[at.Alertname]++
				}
			}
		}
	}

	names := make([]string, 0, len(alerts))
	for n := range alerts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		r := alerts[name]
		t.Run(name, func(t *testing.T) {
			for _, a := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("no %s annotation", a)
				}
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("severity %q, want warning or critical", s)
			}
			if r.For == "" {
				t.Errorf("no for: a single bad scrape would page")
			}
			checkRefs(t, name, r.Expr, true)
			if firing[name] == 0 {
				t.Errorf("no promtool test expects it to fire")
			}
			if quiet[name] == 0 {
				t.Errorf("no promtool test expects it to stay quiet")
			}
		})
	}
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
