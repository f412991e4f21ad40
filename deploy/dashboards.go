package deploy

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed grafana/dashboards/*.json
var dashboardFS embed.FS

// DashboardDir is where the dashboards live, relative to this package's directory.
const DashboardDir = "grafana/dashboards"

// Dashboard is the part of a Grafana dashboard JSON model that vastwatch's checks read.
type Dashboard struct {
	File          string     `json:"-"`
	UID           string     `json:"uid"`
	Title         string     `json:"title"`
	Tags          []string   `json:"tags"`
	SchemaVersion int        `json:"schemaVersion"`
	Panels        []Panel    `json:"panels"`
	Templating    Templating `json:"templating"`
}

// Templating holds the dashboard's template variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is one template variable. Query is a string for query variables ("label_values(…)")
// and for datasource variables (the plugin id, "prometheus").
type Variable struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Label      string         `json:"label"`
	Query      any            `json:"query"`
	Datasource *DatasourceRef `json:"datasource"`
	Multi      bool           `json:"multi"`
	IncludeAll bool           `json:"includeAll"`
	AllValue   string         `json:"allValue"`
}

// DatasourceRef points a panel, target or variable at a datasource.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is one panel; rows carry their collapsed panels in Panels.
type Panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Datasource  *DatasourceRef `json:"datasource"`
	Targets     []Target       `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Panels []Panel `json:"panels"`
}

// Target is one query of a panel.
type Target struct {
	RefID        string         `json:"refId"`
	Expr         string         `json:"expr"`
	LegendFormat string         `json:"legendFormat"`
	Instant      bool           `json:"instant"`
	Datasource   *DatasourceRef `json:"datasource"`
}

// Dashboards decodes every embedded dashboard, sorted by file name.
func Dashboards() ([]Dashboard, error) {
	names, err := fs.Glob(dashboardFS, DashboardDir+"/*.json")
	if err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	sort.Strings(names)
	out := make([]Dashboard, 0, len(names))
	for _, name := range names {
		b, err := dashboardFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		var d Dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("decode %s: %w", name, err)
		}
		d.File = path.Base(name)
		out = append(out, d)
	}
	return out, nil
}

// AllPanels returns the dashboard's panels with rows flattened: the panels nested in collapsed
// rows follow their row.
func (d Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Query is one PromQL expression a dashboard sends to Prometheus.
type Query struct {
	Dashboard string // file name, e.g. "vastwatch-market.json"
	Panel     string // panel title; "$name" for a template variable
	RefID     string // the target's refId; "" for a variable
	Expr      string // PromQL with Grafana variables left in; see ExpandVariables
	// Instant is true when the panel asks for one value (tables, stats with instant queries).
	Instant bool
}

// labelValuesRE matches the variable query label_values(SELECTOR, LABEL).
var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// DashboardQueries lists every query of every embedded dashboard: each panel target, and for each
// label_values(SELECTOR, LABEL) variable the SELECTOR, which must return data for the variable to
// have values. The end-to-end suite runs each against a live Prometheus.
func DashboardQueries() ([]Query, error) {
	ds, err := Dashboards()
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, d := range ds {
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, ok := v.Query.(string)
			if !ok {
				// Grafana 10 writes {"query": "...", "refId": ...}.
				if m, isMap := v.Query.(map[string]any); isMap {
					q, _ = m["query"].(string)
				}
			}
			m := labelValuesRE.FindStringSubmatch(q)
			if m == nil {
				return nil, fmt.Errorf("%s: variable %s: query %q is not label_values(SELECTOR, LABEL)", d.File, v.Name, q)
			}
			out = append(out, Query{Dashboard: d.File, Panel: "$" + v.Name, Expr: m[1], Instant: true})
		}
		for _, p := range d.AllPanels() {
			for _, t := range p.Targets {
				out = append(out, Query{Dashboard: d.File, Panel: p.Title, RefID: t.RefID, Expr: t.Expr, Instant: t.Instant})
			}
		}
	}
	return out, nil
}

// DefaultVariables are the values ExpandVariables uses for Grafana's built-in variables the
// caller does not set.
var DefaultVariables = map[string]string{
	"__rate_interval": "5m",
	"__interval":      "1m",
	"__range":         "1h",
}

var variableRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}|\[\[([A-Za-z0-9_]+)\]\]|\$([A-Za-z0-9_]+)`)

// ExpandVariables replaces Grafana variables ($name, ${name}, ${name:format}, [[name]]) in expr
// with values from vars, falling back to DefaultVariables. A variable with no value is an
// error, so a query cannot silently run with "$fleet" left in it.
func ExpandVariables(expr string, vars map[string]string) (string, error) {
	var missing []string
	out := variableRE.ReplaceAllStringFunc(expr, func(m string) string {
		sub := variableRE.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := vars[name]; ok {
			return v
		}
		if v, ok := DefaultVariables[name]; ok {
			return v
		}
		missing = append(missing, name)
		return m
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("expand %q: no value for %s", expr, strings.Join(missing, ", "))
	}
	return out, nil
}
