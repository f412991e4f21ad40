package daemon

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// statusView is everything the status page shows, built once per cycle from the cycle's
// snapshot and plan. It holds no secret: no env values, tokens or keys are ever copied into it.
type statusView struct {
	Version        string
	Now            time.Time
	DryRun         bool
	Leader         bool
	LeaderElection bool
	LeaderName     string
	Simulated      bool
	Ready          bool
	LastPoll       time.Time
	LastSuccess    time.Time
	LastPollErr    string
	ConfigSource   string
	ReloadOK       bool
	ReloadAt       time.Time
	// ReloadErrs are the last failed reload's problems, one a line.
	ReloadErrs []string
	// Warnings are the running config's warnings (pacing, unknown query fields...).
	Warnings []string
	// NoDiscovery: no fleet lists discovery ports, so /sd lists nothing.
	NoDiscovery bool

	Account *statusAccount
	// Overs says which account-wide limits are passed, in words.
	Overs     []string
	Markets   []statusMarket
	Fleets    []statusFleet
	Instances []statusInstance
	// HasService: some instance has a readiness probe or a drain to show (else no column).
	HasService bool
	Decisions  []statusDecision
	Actions    []statusAction
	Avoided    []statusAvoided
	Orphans    int
}

type statusAccount struct {
	Credit, Burn, Floor, Cap, Committed float64
	Runway                              time.Duration
	HasRunway                           bool
}

type statusMarket struct {
	Name, Type string
	SearchErr  string // the last search failed: why
	// EmptyPolls: the market's searches matched nothing this many polls in a row (0: fine).
	EmptyPolls   int
	Offers       int
	Best, Median float64
	HasPrices    bool
	Chart        template.HTML
}

type statusFleet struct {
	Name, Market     string
	Target, Min, Max int
	Counts           string
	Spend, Budget    float64
	Blocked          []string
	// Month is spend so far this month, Forecast the month-end projection, MonthBudget the cap
	// (0 = none).
	Month, Forecast, MonthBudget float64
	// Over says the fleet is over its budget and what that means ("" when it is not).
	Over string
	// Desired says where an autoscaled fleet's target comes from ("" for a plain fleet);
	// Chart draws its desired and running size over the recent hours.
	Desired string
	Chart   template.HTML
	// Avoided is "N of M eligible machines avoided"; Burst the failure burst, "" when none.
	Avoided, Burst string
}

type statusInstance struct {
	ID, MachineID int64
	Fleet, State  string
	// Label is the instance's label as the API lists it (anyone's: a foreign instance shows
	// its own).
	Label   string
	GPU     string
	NumGPUs int
	Price   float64
	Age     time.Duration
	SSH     string
	// Service is the instance's readiness probe or drain, in words ("" when its fleet has
	// neither); ServiceOK marks a ready one.
	Service   string
	ServiceOK bool
}

type statusDecision struct{ Fleet, Decision, Reason, Detail string }

type statusAction struct{ Text, Result, Error string }

type statusAvoided struct {
	Fleet     string
	MachineID int64
	Until     time.Time
	Reason    string
}

var statusFuncs = template.FuncMap{
	"usd":       func(v float64) string { return fmt.Sprintf("$%.3f", v) },
	"ago":       func(now, t time.Time) string { return humanDuration(now.Sub(t)) + " ago" },
	"dur":       humanDuration,
	"ts":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"zero":      func(t time.Time) bool { return t.IsZero() },
	"join":      strings.Join,
	"breakable": breakable,
	"over":      func(a, b float64) bool { return b > 0 && a > b },
}

func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

var statusTmpl = template.Must(template.New("status").Funcs(statusFuncs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vastwatch</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:10px 14px;display:flex;flex-wrap:wrap;gap:6px 14px;align-items:baseline}
header h1{font-size:18px;margin:0}
main{padding:8px 12px;max-width:1200px;margin:auto}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:10px 0;padding:8px 12px}
h2{font-size:15px;margin:4px 0 8px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;white-space:nowrap}
th{color:#57606a;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}.muted{color:#57606a}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:#eaeef2}
.pill.bad{background:#ffebe9}.pill.ok{background:#dafbe1}.pill.warn{background:#fff8c5}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px}
.card{border:1px solid #eaeef2;border-radius:6px;padding:6px 8px}
.card .path{overflow-wrap:normal;word-break:normal}
.card small{display:block;color:#57606a;font-size:12px}
ul.problems{margin:4px 0;padding-left:20px}
.card b{display:block;font-size:18px}
.chart{display:block;max-width:320px}
</style></head><body>
<header><h1>vastwatch</h1>
<span>{{.Version}}</span>
{{if .Simulated}}<span class="pill warn">simulated market</span>{{end}}
{{if .DryRun}}<span class="pill warn">dry-run</span>{{end}}
{{if .LeaderElection}}{{if .Leader}}<span class="pill ok">leader</span>{{else}}<span class="pill warn">follower{{if .LeaderName}}: {{.LeaderName}} leads{{end}}</span>{{end}}{{end}}
{{if .Ready}}<span class="pill ok">ready</span>{{else}}<span class="pill bad">not ready</span>{{end}}
</header><main>
<section><h2>Poll</h2>
<div class="cards">
<div class="card">last poll<b>{{if zero .LastPoll}}never{{else}}{{ago .Now .LastPoll}}{{end}}</b></div>
<div class="card">last success<b>{{if zero .LastSuccess}}never{{else}}{{ago .Now .LastSuccess}}{{end}}</b></div>
<div class="card">config<b class="{{if .ReloadOK}}ok{{else}}bad{{end}}">{{if .ReloadOK}}loaded{{else}}reload failed{{end}}</b><span class="muted path">{{breakable .ConfigSource}}</span></div>
</div>
{{if .LastPollErr}}<p class="bad">last poll failed: {{.LastPollErr}}</p>{{end}}
{{if .ReloadErrs}}<div class="bad">last reload failed (running config kept):<ul class="problems">{{range .ReloadErrs}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{if .Warnings}}<div class="warn">config warnings:<ul class="problems">{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{if .NoDiscovery}}<p class="muted">/sd lists nothing: no fleet has <code>discovery.ports</code>.</p>{{end}}
</section>
{{with .Account}}<section><h2>Account</h2><div class="cards">
<div class="card">credit<b>{{usd .Credit}}</b><span class="muted">floor {{usd .Floor}}</span></div>
<div class="card">burn<b>{{usd .Burn}}/h</b><small>what the account pays now: running instances in full, the others their storage</small></div>
<div class="card">runway<b>{{if .HasRunway}}{{dur .Runway}}{{else}}∞{{end}}</b></div>
<div class="card">committed<b class="{{if over .Committed .Cap}}bad{{end}}">{{usd .Committed}}/h</b><span class="muted">{{if gt .Cap 0.0}}cap {{usd .Cap}}/h{{else}}no cap{{end}}</span><small>what every instance of ours would cost running, and pending rentals: the budgets count this</small></div>
</div>{{range $.Overs}}<p class="warn">{{.}}</p>{{end}}</section>{{end}}
<section><h2>Markets</h2><div class="scroll"><table>
<tr><th>market</th><th>type</th><th class="num">offers</th><th class="num">best $/h</th><th class="num">median $/h</th><th>best and median, recent hours</th></tr>
{{range .Markets}}<tr><td>{{.Name}}</td><td>{{.Type}}</td>{{if .SearchErr}}<td colspan="3" class="bad">search failed: {{.SearchErr}}</td>{{else}}<td class="num">{{.Offers}}</td>
<td class="num">{{if .HasPrices}}{{usd .Best}}{{else}}–{{end}}</td><td class="num">{{if .HasPrices}}{{usd .Median}}{{else}}–{{end}}</td>{{end}}
<td>{{if .Chart}}{{.Chart}}{{else}}<span class="muted">collecting…</span>{{end}}</td></tr>
{{if .EmptyPolls}}<tr><td></td><td colspan="5" class="warn">matched no offer in the last {{.EmptyPolls}} polls: check the query with <code>vastwatch search --market {{.Name}}</code></td></tr>{{end}}
{{else}}<tr><td colspan="6" class="muted">no markets configured</td></tr>{{end}}
</table></div></section>
<section><h2>Fleets</h2><div class="scroll"><table>
<tr><th>fleet</th><th>market</th><th class="num">target</th><th class="num">min/max</th><th>instances</th><th class="num">spend / budget</th><th class="num">month so far → forecast</th><th>blocked</th><th>machines</th></tr>
{{range .Fleets}}<tr><td>{{.Name}}</td><td>{{.Market}}</td><td class="num">{{.Target}}</td><td class="num">{{.Min}}/{{.Max}}</td><td>{{.Counts}}</td>
<td class="num {{if over .Spend .Budget}}bad{{end}}">{{usd .Spend}} / {{usd .Budget}}</td>
<td class="num {{if over .Forecast .MonthBudget}}bad{{end}}">{{usd .Month}} → {{usd .Forecast}}{{if gt .MonthBudget 0.0}} / {{usd .MonthBudget}}{{end}}</td>
<td>{{range .Blocked}}<span class="pill bad">{{.}}</span> {{end}}</td>
<td>{{.Avoided}}{{if .Burst}} <span class="pill warn">{{.Burst}}</span>{{end}}</td></tr>
{{if .Over}}<tr><td></td><td colspan="8" class="warn">{{.Over}}</td></tr>{{end}}
{{if .Desired}}<tr><td></td><td colspan="8"><span class="muted">autoscaled: {{.Desired}}</span>{{if .Chart}}<br>{{.Chart}}{{end}}</td></tr>{{end}}
{{else}}<tr><td colspan="9" class="muted">no fleets configured: vastwatch only watches</td></tr>{{end}}
</table></div></section>
<section><h2>Instances</h2><div class="scroll"><table>
<tr><th>id</th><th>fleet</th><th>state</th><th>gpu</th><th class="num">$/h</th><th class="num">age</th><th class="num">machine</th><th>ssh</th>{{if .HasService}}<th>readiness / drain</th>{{end}}<th>label</th></tr>
{{range .Instances}}<tr><td>{{.ID}}</td><td>{{if .Fleet}}{{.Fleet}}{{else}}<span class="muted">not managed</span>{{end}}</td>
<td><span class="pill {{if eq .State "running"}}ok{{else if eq .State "failed"}}bad{{else}}warn{{end}}">{{.State}}</span></td>
<td>{{.NumGPUs}}× {{.GPU}}</td><td class="num">{{usd .Price}}</td><td class="num">{{dur .Age}}</td><td class="num">{{.MachineID}}</td><td>{{.SSH}}</td>
{{if $.HasService}}<td>{{if .Service}}<span class="{{if .ServiceOK}}ok{{else}}muted{{end}}">{{.Service}}</span>{{end}}</td>{{end}}<td class="muted">{{.Label}}</td></tr>
{{else}}<tr><td colspan="10" class="muted">no instances</td></tr>{{end}}
</table></div>{{if .Orphans}}<p class="warn">{{.Orphans}} orphaned instance(s): ours, but their fleet left the config.</p>{{end}}</section>
<section><h2>Last plan</h2><div class="scroll"><table>
<tr><th>fleet</th><th>decision</th><th>reason</th><th>detail</th></tr>
{{range .Decisions}}<tr><td>{{.Fleet}}</td><td>{{.Decision}}</td><td><span class="pill">{{.Reason}}</span></td><td>{{.Detail}}</td></tr>
{{else}}<tr><td colspan="4" class="muted">no plan yet</td></tr>{{end}}
</table></div>
{{if .Actions}}<h2>Actions</h2><div class="scroll"><table><tr><th>action</th><th>result</th><th>detail</th></tr>
{{range .Actions}}<tr><td>{{.Text}}</td><td><span class="pill {{if eq .Result "ok"}}ok{{else if eq .Result "error"}}bad{{else}}warn{{end}}">{{.Result}}</span></td><td{{if eq .Result "error"}} class="bad"{{end}}>{{.Error}}</td></tr>{{end}}
</table></div>{{end}}</section>
<section><h2>Avoided machines</h2><div class="scroll"><table>
<tr><th>machine</th><th>fleet</th><th>until</th><th>reason</th></tr>
{{range .Avoided}}<tr><td>{{.MachineID}}</td><td>{{.Fleet}}</td><td>{{ts .Until}}</td><td>{{.Reason}}</td></tr>
{{else}}<tr><td colspan="4" class="muted">none</td></tr>{{end}}
</table></div></section>
<p class="muted">rendered {{ts .Now}} · <a href="metrics">metrics</a></p>
</main></body></html>
`))

// renderStatus renders v; errors are template bugs and become a 500.
func renderStatus(v *statusView) ([]byte, error) {
	var b bytes.Buffer
	if err := statusTmpl.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("render status page: %w", err)
	}
	return b.Bytes(), nil
}

func serveStatus(get func() *statusView) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := renderStatus(get())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	}
}

// breakable escapes s and lets the browser break it after each path separator, dot, dash or
// underscore (a config path wraps at its separators, not in the middle of a name).
func breakable(s string) template.HTML {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(template.HTMLEscapeString(string(r)))
		if strings.ContainsRune("/._-", r) {
			b.WriteString("<wbr>")
		}
	}
	return template.HTML(b.String()) //nolint:gosec // escaped rune by rune
}
