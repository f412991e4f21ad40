package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/deploy"
)

const dsUID = "${datasource}"

// wantDashboards is what issue 9 asks each dashboard to show: its variables and the metrics
// its panels must chart.
var wantDashboards = map[string]struct {
	vars    []string
	metrics []string
	// selects are selectors some query must hold, for what a metric name alone does not say.
	selects []string
}{
	"vastwatch-market.json": {
		vars: []string{"datasource", "market"},
		metrics: []string{"vast_offers", "vast_offer_price_dollars_per_hour",
			"vast_offer_gpu_price_dollars_per_hour", "vast_offer_dlperf_per_dollar"},
	},
	"vastwatch-fleet.json": {
		vars: []string{"datasource", "fleet"},
		metrics: []string{"vast_instances", "vastwatch_fleet_target_instances",
			"vastwatch_scaler_actions_total", "vastwatch_scaler_decisions_total", "vastwatch_fleet_blocked",
			"vastwatch_instance_ready", "vastwatch_leader"},
		selects: []string{`vast_instances{fleet=~"$fleet", state="draining"}`},
	},
	"vastwatch-budget.json": {
		vars: []string{"datasource", "fleet"},
		metrics: []string{"vastwatch_fleet_spend_dollars_per_hour", "vastwatch_fleet_budget_dollars_per_hour",
			"vastwatch_fleet_cost_dollars_total", "vast_account_credit_dollars", "vast_account_runway_seconds",
			"vast_account_spend_dollars_per_hour", "vastwatch_account_credit_floor_dollars",
			"vastwatch_account_month_spend_dollars", "vastwatch_account_month_forecast_dollars",
			"vastwatch_account_budget_dollars_per_month", "vastwatch_fleet_month_spend_dollars",
			"vastwatch_fleet_month_forecast_dollars", "vastwatch_fleet_budget_dollars_per_month",
			"vast_account_month_charges_dollars"},
	},
}

var (
	moneyUnits = []string{"currencyUSD"}
	timeUnits  = []string{"s", "dtdurations"}
)

func TestDashboards(t *testing.T) {
	ds, err := deploy.Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) < 3 {
		t.Fatalf("%d dashboards, want at least 3", len(ds))
	}
	uids := map[string]string{}
	for _, d := range ds {
		t.Run(d.File, func(t *testing.T) {
			if d.UID == "" || d.Title == "" || !slices.Contains(d.Tags, "vastwatch") {
				t.Errorf("uid %q, title %q, tags %q: want a uid, a title and the tag vastwatch", d.UID, d.Title, d.Tags)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %q also used by %s", d.UID, other)
			}
			uids[d.UID] = d.File

			vars := checkVariables(t, d)
			if want, ok := wantDashboards[d.File]; ok {
				for _, v := range want.vars {
					if !slices.Contains(vars, v) {
						t.Errorf("no template variable %q (have %q)", v, vars)
					}
				}
			}

			used := map[string]bool{}
			ids := map[int]bool{}
			panels := 0
			for _, p := range d.AllPanels() {
				if ids[p.ID] {
					t.Errorf("panel id %d used twice", p.ID)
				}
				ids[p.ID] = true
				if p.Type == "row" {
					continue
				}
				panels++
				for _, m := range checkPanel(t, d.File, p, vars) {
					used[m] = true
				}
			}
			if panels < 5 {
				t.Errorf("%d panels, want at least 5", panels)
			}
			if want, ok := wantDashboards[d.File]; ok {
				for _, m := range want.metrics {
					if !used[m] {
						t.Errorf("no panel charts %s", m)
					}
				}
				for _, sel := range want.selects {
					if !slices.ContainsFunc(d.AllPanels(), func(p deploy.Panel) bool {
						return slices.ContainsFunc(p.Targets, func(tg deploy.Target) bool { return strings.Contains(tg.Expr, sel) })
					}) {
						t.Errorf("no panel selects %s", sel)
					}
				}
			}
		})
	}
	for file := range wantDashboards {
		if !slices.ContainsFunc(ds, func(d deploy.Dashboard) bool { return d.File == file }) {
			t.Errorf("dashboard %s is missing", file)
		}
	}
}

// checkVariables checks the template variables: a Prometheus datasource variable, and query
// variables that query through it with label_values over contract metrics. It returns the names.
func checkVariables(t *testing.T, d deploy.Dashboard) []string {
	t.Helper()
	var names []string
	hasDS := false
	for _, v := range d.Templating.List {
		names = append(names, v.Name)
		switch v.Type {
		case "datasource":
			if v.Name == "datasource" && v.Query == "prometheus" {
				hasDS = true
			} else {
				t.Errorf("datasource variable %q queries %v, want name datasource and query prometheus", v.Name, v.Query)
			}
		case "query":
			if v.Datasource == nil || v.Datasource.UID != dsUID {
				t.Errorf("variable %s: datasource %+v, want uid %s", v.Name, v.Datasource, dsUID)
			}
			// Grafana's default All value is a list of the current values, which drops
			// series with the label missing (a market without gpu_name in group_by): All is
			// .* there. For fleets it is .+, leaving out unmanaged instances (fleet="") so
			// that running and target count the same instances.
			want := ".*"
			if v.Name == "fleet" {
				want = ".+"
			}
			if v.IncludeAll && v.AllValue != want {
				t.Errorf("variable %s: allValue %q, want %s", v.Name, v.AllValue, want)
			}
		default:
			t.Errorf("variable %s has type %q; only datasource and query variables are expected", v.Name, v.Type)
		}
	}
	if !hasDS {
		t.Errorf("no datasource variable: every panel must query ${datasource}")
	}
	queries, err := deploy.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		if q.Dashboard == d.File && q.RefID == "" {
			checkRefs(t, d.File+" variable "+q.Panel, q.Expr, false)
		}
	}
	return names
}

var varUseRE = regexp.MustCompile(`\$\{?([A-Za-z0-9_]+)`)

// checkPanel checks one panel: it and each target query ${datasource}; every query uses
// contract metrics and labels and only defined variables; the unit fits what is charted.
// It returns the metrics used.
func checkPanel(t *testing.T, file string, p deploy.Panel, vars []string) []string {
	t.Helper()
	where := file + " panel " + p.Title
	if p.Title == "" {
		t.Errorf("%s: panel %d has no title", file, p.ID)
	}
	if p.Datasource == nil || p.Datasource.UID != dsUID || p.Datasource.Type != "prometheus" {
		t.Errorf("%s: datasource %+v, want prometheus %s", where, p.Datasource, dsUID)
	}
	if len(p.Targets) == 0 {
		t.Errorf("%s: no query", where)
	}
	var metrics []string
	var kinds []kind
	for _, tg := range p.Targets {
		if strings.TrimSpace(tg.Expr) == "" {
			t.Errorf("%s: target %s has an empty query", where, tg.RefID)
			continue
		}
		if tg.Datasource == nil || tg.Datasource.UID != dsUID {
			t.Errorf("%s: target %s datasource %+v, want %s", where, tg.RefID, tg.Datasource, dsUID)
		}
		for _, m := range varUseRE.FindAllStringSubmatch(tg.Expr, -1) {
			if !strings.HasPrefix(m[1], "__") && !slices.Contains(vars, m[1]) {
				t.Errorf("%s: query uses undefined variable $%s", where, m[1])
			}
		}
		kinds = append(kinds, checkRefs(t, where, tg.Expr, false)...)
		refs, _ := deploy.ParseRefs(tg.Expr)
		metrics = append(metrics, refs.Metrics()...)
	}
	unit := p.FieldConfig.Defaults.Unit
	if unit == "" {
		t.Errorf("%s: no unit", where)
	}
	if len(kinds) == 0 {
		return metrics
	}
	if slices.ContainsFunc(kinds, func(k kind) bool { return k != kinds[0] }) {
		t.Errorf("%s: mixes money, time and count metrics under one unit %q: %q", where, unit, metrics)
		return metrics
	}
	switch kinds[0] {
	case kindMoney:
		if !slices.Contains(moneyUnits, unit) {
			t.Errorf("%s: charts money (%q) with unit %q, want one of %q", where, metrics, unit, moneyUnits)
		}
	case kindTime:
		if !slices.Contains(timeUnits, unit) {
			t.Errorf("%s: charts time (%q) with unit %q, want one of %q", where, metrics, unit, timeUnits)
		}
	default:
		if slices.Contains(moneyUnits, unit) || slices.Contains(timeUnits, unit) {
			t.Errorf("%s: charts counts (%q) with the money or time unit %q", where, metrics, unit)
		}
	}
	return metrics
}

func TestDashboardQueriesExpandForPrometheus(t *testing.T) {
	ds, err := deploy.Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, d := range ds {
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				want++
			}
		}
		for _, p := range d.AllPanels() {
			want += len(p.Targets)
		}
	}
	qs, err := deploy.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != want || want == 0 {
		t.Fatalf("DashboardQueries returned %d queries, the dashboards hold %d", len(qs), want)
	}
	vars := map[string]string{"market": ".*", "gpu": ".*", "fleet": ".+"}
	for _, q := range qs {
		got, err := deploy.ExpandVariables(q.Expr, vars)
		if err != nil {
			t.Errorf("%s %s: %v", q.Dashboard, q.Panel, err)
			continue
		}
		if strings.ContainsAny(got, "$") || strings.Contains(got, "[[") {
			t.Errorf("%s %s: %q still holds a variable", q.Dashboard, q.Panel, got)
		}
		if _, err := deploy.ParseRefs(got); err != nil {
			t.Errorf("%s %s: expanded query does not scan: %v", q.Dashboard, q.Panel, err)
		}
	}
}

func TestExpandVariables(t *testing.T) {
	vars := map[string]string{"fleet": "(a|b)", "market": ".*"}
	tests := []struct {
		name, expr, want, wantErr string
	}{
		{name: "dollar name", expr: `x{fleet=~"$fleet"}`, want: `x{fleet=~"(a|b)"}`},
		{name: "braced name with a format", expr: `x{fleet=~"${fleet:regex}", market=~"${market}"}`, want: `x{fleet=~"(a|b)", market=~".*"}`},
		{name: "old bracket syntax", expr: `x{fleet=~"[[fleet]]"}`, want: `x{fleet=~"(a|b)"}`},
		{name: "built-in intervals default", expr: `rate(x[$__rate_interval]) + increase(x[$__range])`, want: `rate(x[5m]) + increase(x[1h])`},
		{name: "a caller's value wins over a default", expr: `rate(x[$__rate_interval])`, want: `rate(x[5m])`},
		{name: "an unknown variable is an error, not left in", expr: `x{gpu=~"$gpu"}`, wantErr: "no value for gpu"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deploy.ExpandVariables(tc.expr, vars)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ExpandVariables(%q) = %q, %v; want %q", tc.expr, got, err, tc.want)
			}
		})
	}
	t.Run("a caller's interval overrides the default", func(t *testing.T) {
		got, err := deploy.ExpandVariables(`rate(x[$__rate_interval])`, map[string]string{"__rate_interval": "30s"})
		if err != nil || got != `rate(x[30s])` {
			t.Fatalf("got %q, %v", got, err)
		}
	})
}

// TestDashboardFilesAreEmbedded guards against a dashboard added on disk but not embedded
// (or the other way round), and against JSON that Grafana would reject as a whole.
func TestDashboardFilesAreEmbedded(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deploy.DashboardDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := deploy.Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	var embedded []string
	for _, d := range ds {
		embedded = append(embedded, d.File)
	}
	var onDisk []string
	for _, f := range files {
		onDisk = append(onDisk, filepath.Base(f))
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, ok := raw["id"]; ok {
			t.Errorf("%s: has a numeric id; provisioning and import want it absent (the uid identifies it)", f)
		}
	}
	if !slices.Equal(onDisk, embedded) {
		t.Errorf("on disk %q, embedded %q", onDisk, embedded)
	}
}

// TestDashboardQueriesParseWithPromtool hands every dashboard query, variables expanded, to
// Prometheus's own parser: each becomes a recording rule that `promtool check rules` loads.
func TestDashboardQueriesParseWithPromtool(t *testing.T) {
	promtool := needTool(t, "promtool", "prometheus")
	qs, err := deploy.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"market": ".*", "gpu": ".*", "fleet": ".+"}
	var rules ruleFileSpec
	g := ruleGroup{Name: "dashboards"}
	for i, q := range qs {
		expr, err := deploy.ExpandVariables(q.Expr, vars)
		if err != nil {
			t.Fatal(err)
		}
		g.Rules = append(g.Rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: expr})
	}
	rules.Groups = []ruleGroup{g}
	b, err := json.Marshal(rules) // JSON is YAML
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "dashboards.rules.yml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, "", nil, promtool, "check", "rules", "--lint=none", f)
	if want := fmt.Sprintf("SUCCESS: %d rules found", len(qs)); !strings.Contains(string(out), want) {
		t.Fatalf("promtool check rules: want %q\n%s", want, out)
	}
}
