package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vastwatch/vastwatch/deploy"
)

// goldenExpositions are the metrics package's golden files: what the exporter really writes
// for a fixed snapshot. Comparing them with the contract table here catches a rename on either
// side before a dashboard or alert silently goes blank.
const goldenExpositions = "../internal/metrics/testdata/*.prom"

func TestContractMatchesTheExporter(t *testing.T) {
	files, err := filepath.Glob(goldenExpositions)
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden expositions match %s (%v)", goldenExpositions, err)
	}
	exported := map[string][]string{} // series name → label names seen
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, fam := range fams {
			series := []string{name}
			if fam.GetType().String() == "HISTOGRAM" {
				series = []string{name + "_bucket", name + "_sum", name + "_count"}
			}
			for _, m := range fam.GetMetric() {
				for _, s := range series {
					for _, lp := range m.GetLabel() {
						if !slices.Contains(exported[s], lp.GetName()) {
							exported[s] = append(exported[s], lp.GetName())
						}
					}
					if strings.HasSuffix(s, "_bucket") && !slices.Contains(exported[s], "le") {
						exported[s] = append(exported[s], "le")
					}
					if _, ok := exported[s]; !ok {
						exported[s] = nil
					}
				}
			}
		}
	}
	for name, c := range contract {
		labels, ok := exported[name]
		if !ok {
			t.Errorf("contract metric %s is not in the exporter's golden output", name)
			continue
		}
		for _, l := range labels {
			if !slices.Contains(c.labels, l) {
				t.Errorf("%s: the exporter writes label %q, which the contract does not list (%v)", name, l, c.labels)
			}
		}
	}
}

// goldenSample is one series of the golden expositions: its name, its labels as matchers
// (`a="b",c="d"`), its value, and whether it is a counter (or a histogram's series).
type goldenSample struct {
	name, labels string
	value        float64
	counter      bool
}

// goldenSamples reads every series of the golden expositions.
func goldenSamples(t *testing.T) []goldenSample {
	t.Helper()
	files, err := filepath.Glob(goldenExpositions)
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden expositions match %s (%v)", goldenExpositions, err)
	}
	var out []goldenSample
	add := func(name string, labels []*dto.LabelPair, extra [2]string, v float64, counter bool) {
		var sel []string
		for _, lp := range labels {
			sel = append(sel, lp.GetName()+"="+strconv.Quote(lp.GetValue()))
		}
		if extra[0] != "" {
			sel = append(sel, extra[0]+"="+strconv.Quote(extra[1]))
		}
		out = append(out, goldenSample{name: name, labels: strings.Join(sel, ","), value: v, counter: counter})
	}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, fam := range fams {
			for _, m := range fam.GetMetric() {
				switch fam.GetType() {
				case dto.MetricType_GAUGE:
					add(name, m.GetLabel(), [2]string{}, m.GetGauge().GetValue(), false)
				case dto.MetricType_COUNTER:
					add(name, m.GetLabel(), [2]string{}, m.GetCounter().GetValue(), true)
				case dto.MetricType_HISTOGRAM:
					h := m.GetHistogram()
					for _, b := range h.GetBucket() {
						add(name+"_bucket", m.GetLabel(), [2]string{"le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)}, float64(b.GetCumulativeCount()), true)
					}
					add(name+"_bucket", m.GetLabel(), [2]string{"le", "+Inf"}, float64(h.GetSampleCount()), true)
					add(name+"_sum", m.GetLabel(), [2]string{}, h.GetSampleSum(), true)
					add(name+"_count", m.GetLabel(), [2]string{}, float64(h.GetSampleCount()), true)
				default:
					t.Fatalf("%s: %s has type %v, which the contract does not use", f, name, fam.GetType())
				}
			}
		}
	}
	return out
}

// inputSeries is a sample as a promtool input series over an hour, with the target labels
// target (`job="x",instance="y"`, or ""): a gauge holds its value, a counter grows by step a
// minute so that rate() sees it.
func (s goldenSample) inputSeries(target string, value, step float64) map[string]string {
	labels := s.labels
	if target != "" && labels != "" {
		labels = target + "," + labels
	} else if target != "" {
		labels = target
	}
	return map[string]string{
		"series": s.name + "{" + labels + "}",
		"values": fmt.Sprintf("%s+%sx60", strconv.FormatFloat(value, 'g', -1, 64), strconv.FormatFloat(step, 'g', -1, 64)),
	}
}

// goldenSeries turns the golden expositions into promtool input series over an hour: gauges
// hold their value, counters (and histogram series) grow by one a minute so rate() sees them.
func goldenSeries(t *testing.T) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, s := range goldenSamples(t) {
		step := 0.0
		if s.counter {
			step = 1
		}
		out = append(out, s.inputSeries("", s.value, step))
	}
	return out
}

// TestDashboardQueriesReturnDataOnExporterOutput evaluates every dashboard query, variables at
// All, over the exporter's golden output with promtool: each query becomes an alert that fires
// when the query is empty, and the test expects none to fire. A query that parses and names
// contract metrics but filters on a label value the exporter never writes fails here.
func TestDashboardQueriesReturnDataOnExporterOutput(t *testing.T) {
	promtool := needTool(t, "promtool", "prometheus")
	qs, err := deploy.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"market": ".*", "gpu": ".*", "fleet": ".+"}
	type alertRule struct {
		Alert  string            `json:"alert"`
		Expr   string            `json:"expr"`
		Labels map[string]string `json:"labels"`
	}
	var rules []alertRule
	var checks []map[string]any
	for i, q := range qs {
		expr, err := deploy.ExpandVariables(q.Expr, vars)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("DashboardQuery%dEmpty", i)
		rules = append(rules, alertRule{Alert: name, Expr: "absent(" + expr + ")",
			Labels: map[string]string{"dashboard": q.Dashboard, "panel": q.Panel, "ref": q.RefID}})
		checks = append(checks, map[string]any{"eval_time": "60m", "alertname": name, "exp_alerts": []any{}})
	}
	dir := t.TempDir()
	write := func(name string, v any) {
		b, err := json.Marshal(v) // JSON is YAML
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dashboards.rules.yml", map[string]any{"groups": []any{map[string]any{"name": "dashboards", "rules": rules}}})
	write("dashboards_test.yml", map[string]any{
		"rule_files":          []string{"dashboards.rules.yml"},
		"evaluation_interval": "1m",
		"tests": []any{map[string]any{
			"interval":        "1m",
			"input_series":    goldenSeries(t),
			"alert_rule_test": checks,
		}},
	})
	out := run(t, dir, nil, promtool, "test", "rules", "dashboards_test.yml")
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}
