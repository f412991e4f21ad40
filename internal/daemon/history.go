package daemon

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/vastwatch/vastwatch/internal/scaler"
)

// history keeps, per name (a market, a fleet), two figures of each poll over a window, in
// memory, for the status page's small charts: a market's best and median price, a fleet's
// desired and running size. Memory is bounded by maxPoints per name.
type history struct {
	mu        sync.Mutex
	window    time.Duration
	maxPoints int
	series    map[string][]point
	// look is how the chart draws and labels the two lines.
	look chartLook
}

// point is one poll: A is drawn solid, B dashed.
type point struct {
	At   time.Time
	A, B float64
}

// chartLook says what a history's lines mean.
type chartLook struct {
	what   string               // for the chart's accessible label, e.g. "best and median price"
	format func(float64) string // an axis label
	step   bool                 // draw steps (instance counts), not slopes (prices)
}

func newHistory(window time.Duration, maxPoints int, look chartLook) *history {
	return &history{window: window, maxPoints: maxPoints, series: map[string][]point{}, look: look}
}

// priceLook draws a market's best (solid) and median (dashed) price.
var priceLook = chartLook{what: "best and median price", format: func(v float64) string { return fmt.Sprintf("$%.3f", v) }}

// sizeLook draws a fleet's desired (solid) and running (dashed) instances.
var sizeLook = chartLook{what: "desired and running instances", step: true,
	format: func(v float64) string { return fmt.Sprintf("%.0f", v) }}

// add records one poll's figures for name and drops points that left the window.
func (h *history) add(name string, p point) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pts := append(h.series[name], p)
	cut := 0
	for cut < len(pts) && p.At.Sub(pts[cut].At) > h.window {
		cut++
	}
	if over := len(pts) - cut - h.maxPoints; over > 0 {
		cut += over
	}
	h.series[name] = append(pts[:0:0], pts[cut:]...)
}

// retain forgets names not in keep (a market or fleet left the config).
func (h *history) retain(keep map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for m := range h.series {
		if !keep[m] {
			delete(h.series, m)
		}
	}
}

func (h *history) points(name string) []point {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]point(nil), h.series[name]...)
}

// svg draws A (solid) and B (dashed) over time as an inline SVG; no external assets. It
// returns "" with fewer than two points.
func (h *history) svg(name string, width, height int) template.HTML {
	pts := h.points(name)
	if len(pts) < 2 {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo = math.Min(lo, math.Min(p.A, p.B))
		hi = math.Max(hi, math.Max(p.A, p.B))
	}
	if hi-lo < 1e-9 {
		hi, lo = hi+0.01, lo-0.01
	}
	t0, t1 := pts[0].At, pts[len(pts)-1].At
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	// The axis labels stand in a gutter on the left, so they never sit on the lines.
	const pad, gutter = 4, 46
	x := func(t time.Time) float64 { return gutter + (t.Sub(t0).Seconds()/span)*float64(width-gutter-pad) }
	y := func(v float64) float64 { return pad + (1-(v-lo)/(hi-lo))*float64(height-2*pad) }
	line := func(get func(point) float64) string {
		var b strings.Builder
		for i, p := range pts {
			if i > 0 {
				b.WriteByte(' ')
				if h.look.step {
					fmt.Fprintf(&b, "%.1f,%.1f ", x(p.At), y(get(pts[i-1])))
				}
			}
			fmt.Fprintf(&b, "%.1f,%.1f", x(p.At), y(get(p)))
		}
		return b.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" height="%d" role="img" aria-label="%s of %s">`,
		width, height, height, h.look.what, template.HTMLEscapeString(name))
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="%s"/>`, line(func(p point) float64 { return p.A }))
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#8b949e" stroke-width="1.5" stroke-dasharray="4 3" points="%s"/>`, line(func(p point) float64 { return p.B }))
	// Each label level with its value, but wholly inside the chart.
	labelY := func(v float64) float64 { return min(max(y(v), 7), float64(height)-7) }
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" fill="#57606a" dominant-baseline="middle">%s</text>`, 1, labelY(hi), h.look.format(hi))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" fill="#57606a" dominant-baseline="middle">%s</text>`, 1, labelY(lo), h.look.format(lo))
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and an escaped name
}

// recordMarkets adds one poll's best and median price of every market that had offers, and
// forgets the markets that left the config.
func (h *history) recordMarkets(at time.Time, markets map[string]marketSummary) {
	keep := make(map[string]bool, len(markets))
	for name, ms := range markets {
		keep[name] = true
		if ms.ok {
			h.add(name, point{At: at, A: ms.best, B: ms.median})
		}
	}
	h.retain(keep)
}

// recordFleets adds one poll's desired and running size of every autoscaled fleet, and forgets
// the others.
func (h *history) recordFleets(at time.Time, fleets []scaler.FleetStatus) {
	keep := make(map[string]bool, len(fleets))
	for _, f := range fleets {
		if f.Desired.Autoscaled {
			keep[f.Name] = true
			h.add(f.Name, point{At: at, A: float64(f.Desired.Final), B: float64(f.Counts[scaler.PhaseRunning])})
		}
	}
	h.retain(keep)
}
