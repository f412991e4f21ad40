package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/deploy"
)

// kind says what a metric's value measures, and so which Grafana unit shows it.
type kind int

const (
	kindCount kind = iota // counts, flags, ratios: any unit
	kindMoney             // dollars or dollars per hour: currencyUSD
	kindTime              // seconds or a Unix timestamp (shown as an age): s or dtdurations
)

// groupByLabels is the fixed set of offer fields a market may group its price metrics by
// (policy.GroupByLabels, docs/design.md §3). Spelled out here so this test does not track a
// package that is being written concurrently; TestGroupByLabelsMatchPolicy would be the place to
// tie them.
var groupByLabels = []string{"gpu_name", "num_gpus", "gpu_arch", "country", "verification", "datacenter"}

// contract is the part of docs/metrics.md that dashboards and alerts may use: every name, with
// its labels and kind. Histograms are listed by their series names.
var contract = func() map[string]contractMetric {
	market := append([]string{"market"}, groupByLabels...)
	marketPct := append(slices.Clone(market), "percentile")
	m := map[string]contractMetric{
		"vast_offers":                                   {market, kindCount},
		"vast_offer_price_dollars_per_hour":             {marketPct, kindMoney},
		"vast_offer_gpu_price_dollars_per_hour":         {marketPct, kindMoney},
		"vast_offer_dlperf_per_dollar":                  {marketPct, kindCount},
		"vast_account_credit_dollars":                   {nil, kindMoney},
		"vast_account_spend_dollars_per_hour":           {nil, kindMoney},
		"vast_account_runway_seconds":                   {nil, kindTime},
		"vast_instances":                                {[]string{"fleet", "state"}, kindCount},
		"vast_instance_info":                            {[]string{"id", "fleet", "machine_id", "gpu_name", "num_gpus", "state", "ssh_host", "ssh_port"}, kindCount},
		"vast_instance_price_dollars_per_hour":          {[]string{"id", "fleet"}, kindMoney},
		"vast_instance_start_timestamp_seconds":         {[]string{"id", "fleet"}, kindTime},
		"vastwatch_fleet_target_instances":              {[]string{"fleet"}, kindCount},
		"vastwatch_fleet_min_instances":                 {[]string{"fleet"}, kindCount},
		"vastwatch_fleet_max_instances":                 {[]string{"fleet"}, kindCount},
		"vastwatch_fleet_spend_dollars_per_hour":        {[]string{"fleet"}, kindMoney},
		"vastwatch_fleet_budget_dollars_per_hour":       {[]string{"fleet"}, kindMoney},
		"vastwatch_fleet_blocked":                       {[]string{"fleet", "reason"}, kindCount},
		"vastwatch_scaler_actions_total":                {[]string{"fleet", "action", "result"}, kindCount},
		"vastwatch_scaler_decisions_total":              {[]string{"fleet", "decision", "reason"}, kindCount},
		"vastwatch_api_requests_total":                  {[]string{"endpoint", "code"}, kindCount},
		"vastwatch_api_request_duration_seconds_bucket": {[]string{"endpoint", "le"}, kindTime},
		"vastwatch_api_request_duration_seconds_sum":    {[]string{"endpoint"}, kindTime},
		"vastwatch_api_request_duration_seconds_count":  {[]string{"endpoint"}, kindCount},
		"vastwatch_poll_success":                        {nil, kindCount},
		"vastwatch_last_poll_success_timestamp_seconds": {nil, kindTime},
		"vastwatch_config_last_reload_successful":       {nil, kindCount},
		// The reload timestamp, under its full name as docs/metrics.md lists it.
		"vastwatch_config_last_reload_successful_timestamp_seconds": {nil, kindTime},
		"vastwatch_avoided_machines":                                {[]string{"fleet"}, kindCount},
		"vastwatch_orphaned_instances":                              {[]string{"fleet"}, kindCount},
		"vastwatch_fleet_cost_dollars_total":                        {[]string{"fleet"}, kindMoney},
		"vastwatch_leader":                                          {nil, kindCount},
		"vastwatch_build_info":                                      {[]string{"version", "revision", "branch", "goversion", "goos", "goarch", "tags"}, kindCount},
		// Money by the month, readiness (issue 18's panels and alerts).
		"vast_account_month_charges_dollars":         {[]string{"item"}, kindMoney},
		"vastwatch_account_month_spend_dollars":      {nil, kindMoney},
		"vastwatch_account_month_forecast_dollars":   {nil, kindMoney},
		"vastwatch_account_budget_dollars_per_month": {nil, kindMoney},
		"vastwatch_account_credit_floor_dollars":     {nil, kindMoney},
		"vastwatch_fleet_month_spend_dollars":        {[]string{"fleet"}, kindMoney},
		"vastwatch_fleet_month_forecast_dollars":     {[]string{"fleet"}, kindMoney},
		"vastwatch_fleet_budget_dollars_per_month":   {[]string{"fleet"}, kindMoney},
		"vastwatch_instance_ready":                   {[]string{"id", "fleet"}, kindCount},
	}
	return m
}()

type contractMetric struct {
	labels []string
	kind   kind
}

// targetLabels are attached by Prometheus to every scraped series; the Prometheus Operator adds
// pod (and namespace, service, endpoint, container), which tells replicas apart in HA.
var targetLabels = []string{"job", "instance", "pod"}

// synthetic are series Prometheus makes itself; alert rules may use them, dashboards need not.
var synthetic = map[string]contractMetric{"up": {nil, kindCount}}

// checkRefs checks that every selector of expr names a contract metric (or, when allowUp, a
// synthetic one) and matches only labels that metric has, and that every grouping label exists
// on some contract metric. It returns the kinds of the metrics used.
func checkRefs(t *testing.T, where, expr string, allowSynthetic bool) []kind {
	t.Helper()
	refs, err := deploy.ParseRefs(expr)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return nil
	}
	if len(refs.Selectors) == 0 {
		t.Errorf("%s: %q selects no metric", where, expr)
	}
	allLabels := slices.Clone(targetLabels)
	for _, c := range contract {
		allLabels = append(allLabels, c.labels...)
	}
	var kinds []kind
	for _, s := range refs.Selectors {
		c, ok := contract[s.Metric]
		if !ok && allowSynthetic {
			c, ok = synthetic[s.Metric]
		}
		if !ok {
			t.Errorf("%s: metric %q is not in the docs/metrics.md contract (expr %q)", where, s.Metric, expr)
			continue
		}
		kinds = append(kinds, c.kind)
		for _, l := range s.Labels {
			if !slices.Contains(c.labels, l) && !slices.Contains(targetLabels, l) {
				t.Errorf("%s: %s has no label %q (contract labels %v; expr %q)", where, s.Metric, l, c.labels, expr)
			}
		}
	}
	for _, l := range refs.Grouping {
		if !slices.Contains(allLabels, l) {
			t.Errorf("%s: grouping label %q is on no contract metric (expr %q)", where, l, expr)
		}
	}
	return kinds
}

func TestParseRefs(t *testing.T) {
	tests := []struct {
		name     string
		expr     string
		metrics  []string
		labels   [][]string
		grouping []string
		wantErr  string
	}{
		{
			name:    "a bare metric is one selector",
			expr:    "vast_account_credit_dollars",
			metrics: []string{"vast_account_credit_dollars"},
			labels:  [][]string{nil},
		},
		{
			name:     "functions, grouping, ranges and Grafana variables are not metrics",
			expr:     `sum by (fleet, action) (increase(vastwatch_scaler_actions_total{fleet=~"$fleet", result!="ok"}[$__rate_interval])) * 3600`,
			metrics:  []string{"vastwatch_scaler_actions_total"},
			labels:   [][]string{{"fleet", "result"}},
			grouping: []string{"fleet", "action"},
		},
		{
			name:     "binary operators with on, ignoring and group_left collect their labels",
			expr:     "a > max without (state) (b{state=\"running\"}) or (c > 0 unless ignoring (state) b) and on (job, id) group_left (x) d",
			metrics:  []string{"a", "b", "c", "b", "d"},
			labels:   [][]string{nil, {"state"}, nil, nil, nil},
			grouping: []string{"state", "state", "job", "id", "x"},
		},
		{
			name:    "strings with braces, numbers with units and offsets are skipped",
			expr:    `label_replace(m{a="}{"}, "dst", "$1", "src", "(.*)") offset 5m > 1e3`,
			metrics: []string{"m"},
			labels:  [][]string{{"a"}},
		},
		{
			name:    "a bare brace selector has an empty metric unless __name__ names it",
			expr:    `{__name__="x", job="j"} + {job="k"}`,
			metrics: []string{"x", ""},
			labels:  [][]string{{"job"}, {"job"}},
		},
		{
			name:     "histogram_quantile over buckets, with an [[old]] variable",
			expr:     `histogram_quantile(0.9, sum by (le) (rate(h_bucket[[[interval]]])))`,
			metrics:  []string{"h_bucket"},
			labels:   [][]string{nil},
			grouping: []string{"le"},
		},
		{name: "an unknown function is an error", expr: "rated(x[5m])", wantErr: `unknown function "rated"`},
		{name: "an unterminated string is an error", expr: `x{a="b}`, wantErr: "unterminated string"},
		{name: "an unterminated brace is an error", expr: `x{a="b"`, wantErr: "unterminated {"},
		{name: "an unterminated range is an error", expr: `rate(x[5m)`, wantErr: "unterminated ["},
		{name: "a matcher without an operator is an error", expr: `x{a "b"}`, wantErr: "bad matcher operator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refs, err := deploy.ParseRefs(tc.expr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRefs(%q) error = %v, want one containing %q", tc.expr, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRefs(%q): %v", tc.expr, err)
			}
			var metrics []string
			var labels [][]string
			for _, s := range refs.Selectors {
				metrics = append(metrics, s.Metric)
				labels = append(labels, s.Labels)
			}
			if !slices.Equal(metrics, tc.metrics) {
				t.Errorf("metrics = %q, want %q", metrics, tc.metrics)
			}
			if !slices.EqualFunc(labels, tc.labels, func(a, b []string) bool { return slices.Equal(a, b) }) {
				t.Errorf("selector labels = %q, want %q", labels, tc.labels)
			}
			if !slices.Equal(refs.Grouping, tc.grouping) {
				t.Errorf("grouping = %q, want %q", refs.Grouping, tc.grouping)
			}
		})
	}
}

// TestContractIsInMetricsDoc holds the contract above to docs/metrics.md: every metric
// dashboards and alerts may use is documented there with the same labels, so a dashboard can
// never rest on a metric the documentation does not promise.
func TestContractIsInMetricsDoc(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string][]string{} // metric → labels, *group_by* expanded
	types := map[string]string{}
	for line := range strings.Lines(string(b)) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`vast") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		types[name] = strings.TrimSpace(cells[2])
		var labels []string
		for l := range strings.SplitSeq(cells[3], ",") {
			switch l = strings.TrimSpace(l); l {
			case "—", "":
			case "*group_by*":
				labels = append(labels, groupByLabels...)
			default:
				labels = append(labels, strings.Trim(l, "`"))
			}
		}
		documented[name] = labels
	}
	if len(documented) == 0 {
		t.Fatal("no metric rows found in docs/metrics.md")
	}
	for name, c := range contract {
		base, labels := name, slices.Clone(c.labels)
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && types[b] == "histogram" {
				base = b
				labels = slices.DeleteFunc(labels, func(l string) bool { return l == "le" })
			}
		}
		want, ok := documented[base]
		if !ok {
			t.Errorf("contract metric %s is not in docs/metrics.md", name)
			continue
		}
		slices.Sort(labels)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(labels, want) {
			t.Errorf("contract metric %s has labels %v; docs/metrics.md documents %v", name, labels, want)
		}
	}
}

func TestAddMatcher(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`x`, `x{job="a"}`},
		{`sum by (fleet) (rate(x{fleet=~"$fleet"}[5m])) * 3600`, `sum by (fleet) (rate(x{job="a", fleet=~"$fleet"}[5m])) * 3600`},
		{`max without (instance, pod) (x {}) > y offset 5m or vector(0)`, `max without (instance, pod) (x {job="a"}) > y{job="a"} offset 5m or vector(0)`},
		{`{__name__="x"} + time()`, `{job="a", __name__="x"} + time()`},
		{`label_replace(m{a="}{"}, "dst", "$1", "src", "(.*)")`, `label_replace(m{job="a", a="}{"}, "dst", "$1", "src", "(.*)")`},
	} {
		got, err := deploy.AddMatcher(tc.expr, `job="a"`)
		if err != nil || got != tc.want {
			t.Errorf("AddMatcher(%q) = %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
	if _, err := deploy.AddMatcher(`rated(x)`, `job="a"`); err == nil {
		t.Error("AddMatcher of an expression ParseRefs rejects: no error")
	}
}
