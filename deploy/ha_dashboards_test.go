package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/deploy"
)

// perReplicaPanels show each replica on purpose (docs/runbook.md, "High availability"): with
// two replicas they have two series, or twice the requests, where one replica has one.
var perReplicaPanels = map[string]string{
	"Time since last successful poll":   "each replica polls on its own",
	"API requests by endpoint and code": "each replica makes its own requests",
	"Replicas":                          "which replica leads",
}

// leaderOnly are the series only the leader counts or keeps current (docs/metrics.md): a
// follower's counters stay flat and its spend book lags behind.
var leaderOnly = map[string]bool{
	"vastwatch_scaler_actions_total": true, "vastwatch_scaler_decisions_total": true,
	"vastwatch_fleet_cost_dollars_total": true,
}

var followerBook = regexp.MustCompile(`^vastwatch_(account|fleet)_month_(spend|forecast)_dollars$`)

// TestDashboardQueriesCountEachInstanceOnceInHA runs every dashboard query, with promtool, over
// the exporter's golden output scraped from one replica (job "single") and from two (job "ha":
// a leader and a follower that see the same account, as in the HA overlay). Each query, given
// only one job's series, must return the same series with the same values for both: a panel
// that sums over replicas counts every instance, fleet and dollar twice. The panels that show
// each replica on purpose are listed in perReplicaPanels.
func TestDashboardQueriesCountEachInstanceOnceInHA(t *testing.T) {
	promtool := needTool(t, "promtool", "prometheus")
	qs, err := deploy.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"market": ".*", "gpu": ".*", "fleet": ".+"}
	type alertRule struct {
		Alert string `json:"alert"`
		Expr  string `json:"expr"`
	}
	var rules []alertRule
	var checks []map[string]any
	names := map[string]string{}
	exempted := map[string]bool{}
	for i, q := range qs {
		if q.RefID == "" { // a variable's label values: duplicates do not matter
			continue
		}
		if _, ok := perReplicaPanels[q.Panel]; ok {
			exempted[q.Panel] = true
			continue
		}
		expr, err := deploy.ExpandVariables(q.Expr, vars)
		if err != nil {
			t.Fatal(err)
		}
		single, err := deploy.AddMatcher(expr, `job="single"`)
		if err != nil {
			t.Fatal(err)
		}
		ha, err := deploy.AddMatcher(expr, `job="ha"`)
		if err != nil {
			t.Fatal(err)
		}
		// Fires when either is empty, when they differ in their number of series, or when a
		// series of one has another value in the other (the job label aside).
		diff := fmt.Sprintf("absent(%[1]s) or absent(%[2]s) or (count(%[1]s) != count(%[2]s)) or ((%[1]s) != ignoring (job) (%[2]s))", ha, single)
		name := fmt.Sprintf("HAQuery%d", i)
		names[name] = q.Dashboard + " / " + q.Panel + " / " + q.RefID
		rules = append(rules, alertRule{Alert: name, Expr: diff})
		checks = append(checks, map[string]any{"eval_time": "60m", "alertname": name, "exp_alerts": []any{}})
	}
	for panel := range perReplicaPanels {
		if !exempted[panel] {
			t.Errorf("perReplicaPanels names %q, which no dashboard has", panel)
		}
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
	write("ha.rules.yml", map[string]any{"groups": []any{map[string]any{"name": "ha", "rules": rules}}})
	write("ha_test.yml", map[string]any{
		"rule_files":          []string{"ha.rules.yml"},
		"evaluation_interval": "1m",
		"tests": []any{map[string]any{
			"interval":        "1m",
			"input_series":    replicaSeries(t),
			"alert_rule_test": checks,
		}},
	})
	cmd := exec.Command(promtool, "test", "rules", "ha_test.yml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		// Name the panels behind the failing checks.
		text := regexp.MustCompile(`HAQuery[0-9]+`).ReplaceAllStringFunc(string(out), func(n string) string { return n + " (" + names[n] + ")" })
		t.Fatalf("promtool test rules: %v\n%s", err, text)
	}
}

// replicaSeries is the golden output as scraped from one replica (job "single", the leader) and
// from two (job "ha": the leader, and a follower whose leader-only counters stay flat, whose
// month-to-date spend is half the leader's and whose vastwatch_leader is 0).
func replicaSeries(t *testing.T) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, s := range goldenSamples(t) {
		step := 0.0
		if s.counter {
			step = 1
		}
		out = append(out, s.inputSeries(`job="single",instance="a:9861"`, s.value, step))
		out = append(out, s.inputSeries(`job="ha",instance="a:9861",pod="vastwatch-a"`, s.value, step))
		v, followerStep := s.value, step
		switch {
		case s.name == "vastwatch_leader":
			v = 0
		case leaderOnly[s.name]:
			followerStep = 0
		case followerBook.MatchString(s.name):
			v /= 2
		}
		out = append(out, s.inputSeries(`job="ha",instance="b:9861",pod="vastwatch-b"`, v, followerStep))
	}
	if !slices.ContainsFunc(out, func(m map[string]string) bool { return strings.HasPrefix(m["series"], "vastwatch_leader{") }) {
		t.Fatal("the golden output has no vastwatch_leader")
	}
	return out
}
