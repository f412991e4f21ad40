package backtest

import (
	"fmt"
	"html/template"
	"io"
	"time"
)

// WriteHTML writes the report as one self-contained page: the summary table, then per fleet its
// market's price percentiles and desired against running instances, the configs side by side,
// and the cumulative cost of every config on one chart. No script, no external asset.
func (r *Report) WriteHTML(w io.Writer) error {
	return pageTmpl.Execute(w, r.page())
}

type page struct {
	R      *Report
	Source string
	Fleets []fleetCharts
}

type fleetCharts struct {
	Name  string
	Heads []string        // the configs, one column each
	Cells []template.HTML // per config: price, then desired vs running
	Cost  template.HTML
	Cols  int
}

func (r *Report) page() page {
	p := page{R: r, Source: r.Source.describe()}
	var names []string
	seen := map[string]bool{}
	for _, c := range r.Configs {
		for _, f := range c.Fleets {
			if !seen[f.Name] {
				seen[f.Name] = true
				names = append(names, f.Name)
			}
		}
	}
	for _, name := range names {
		fc := fleetCharts{Name: name, Cols: len(r.Configs)}
		for _, c := range r.Configs {
			fc.Heads = append(fc.Heads, c.Name)
		}
		var prices, sizes []template.HTML
		cost := chart{title: "cumulative cost, " + name, unit: "$", width: 900, height: 260}
		for i, c := range r.Configs {
			color := palette[i%len(palette)]
			f := c.fleet(name)
			if f == nil {
				prices, sizes = append(prices, ""), append(sizes, "")
				continue
			}
			lo, mid, hi := seriesLine(f.Series, "p10", color), seriesLine(f.Series, "p50", color), seriesLine(f.Series, "p90", color)
			mid.name = "median, band p10–p90"
			price := chart{title: fmt.Sprintf("price in %s for the fleet ($/h)", f.Market), unit: "$/h",
				lines: []line{mid}, band: &[2]line{lo, hi}, width: 440, height: 220}
			want, run := seriesLine(f.Series, "desired", "#444"), seriesLine(f.Series, "running", color)
			want.dash = true
			size := chart{title: "instances", lines: []line{want, run}, width: 440, height: 220, step: true}
			prices = append(prices, template.HTML(price.svg()))
			sizes = append(sizes, template.HTML(size.svg()))
			l := seriesLine(f.Series, "cost", color)
			l.name = c.Name
			cost.lines = append(cost.lines, l)
		}
		fc.Cells = append(prices, sizes...)
		fc.Cost = template.HTML(cost.svg())
		p.Fleets = append(p.Fleets, fc)
	}
	return p
}

func (c *ConfigReport) fleet(name string) *FleetReport {
	for i := range c.Fleets {
		if c.Fleets[i].Name == name {
			return &c.Fleets[i]
		}
	}
	return nil
}

// seriesLine is one field of a fleet's series as a line.
func seriesLine(ps []Point, field, color string) line {
	l := line{name: field, color: color, at: make([]time.Time, len(ps)), v: make([]float64, len(ps))}
	for i, p := range ps {
		l.at[i] = p.At
		switch field {
		case "p10":
			l.v[i] = p.P10
		case "p50":
			l.v[i] = p.P50
		case "p90":
			l.v[i] = p.P90
		case "desired":
			l.v[i] = float64(p.Desired)
		case "running":
			l.v[i] = float64(p.Running)
		case "cost":
			l.v[i] = p.CostDollars
		}
	}
	return l
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"pct":     func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) },
	"money":   func(x float64) string { return fmt.Sprintf("%.2f", x) },
	"ratio":   ratio,
	"blocked": blocked,
	"hours":   func(x float64) string { return fmt.Sprintf("%.1f", x) },
	"rate":    func(x float64) string { return fmt.Sprintf("%.4f", x) },
	"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vastwatch backtest</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#666;margin-bottom:16px}
table{border-collapse:collapse;margin:8px 0 4px}th,td{padding:4px 10px;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap}
th{font-weight:600;background:#f6f6f6}td.l,th.l{text-align:left}
.grid{display:grid;gap:12px 20px;align-items:start}
svg{background:#fcfcfc;border:1px solid #eee;max-width:100%;height:auto}
svg .t{font-size:12px;font-weight:600;fill:#333}svg .a{font-size:10px;fill:#666}
svg .ax{stroke:#999}svg .g{stroke:#eee}
.note{color:#666;font-size:12px;max-width:900px}
.head{font-weight:600;font-size:13px;overflow-wrap:anywhere}
</style></head><body>
<h1>vastwatch backtest</h1>
<div class="sub">{{.Source}} · {{when .R.Start}} to {{when .R.End}} ({{hours .R.Hours}} h)</div>
<table>
<tr><th class="l">config</th><th class="l">fleet</th><th>cost $</th><th>bound $</th><th>cost/bound</th><th>instance-h</th><th>$/instance-h</th><th>at target</th><th>creates</th><th>destroys</th><th>replacements</th><th class="l">blocked</th></tr>
{{range $c := .R.Configs}}{{range .Fleets}}<tr><td class="l">{{$c.Name}}</td><td class="l">{{.Name}}</td><td>{{money .CostDollars}}</td><td>{{money .BoundDollars}}</td><td>{{ratio .CostOverBound}}</td><td>{{hours .RunningInstanceHours}}</td><td>{{rate .DollarsPerRunningHour}}</td><td>{{pct .TimeAtTarget}}</td><td>{{.Creates}}</td><td>{{.Destroys}}</td><td>{{.Replacements}}</td><td class="l">{{blocked .BlockedSeconds}}</td></tr>
{{end}}{{end}}</table>
<p class="note">Cost is what the simulator billed: GPU time while an instance ran, storage while it lived. The bound is what the same running instance-hours would have cost on the cheapest offers of the fleet's market under its price cap at each poll, switching for free: cost/bound says how close the policy came. At target is the share of polls with at least the desired number running.</p>
{{range .Fleets}}<h2>fleet {{.Name}}</h2>
<div class="grid" style="grid-template-columns:repeat({{.Cols}},minmax(0,440px))">{{range .Heads}}<div class="head">{{.}}</div>{{end}}{{range .Cells}}<div>{{.}}</div>{{end}}</div>
<div style="margin-top:12px">{{.Cost}}</div>
{{end}}
</body></html>
`))
