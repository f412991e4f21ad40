package daemon

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"sync"
	"time"
)

// priceHistory keeps, per market, the best and median price of each poll over a window, in
// memory, for the status page's small charts. Memory is bounded by maxPoints per market.
type priceHistory struct {
	mu        sync.Mutex
	window    time.Duration
	maxPoints int
	series    map[string][]pricePoint
}

type pricePoint struct {
	At           time.Time
	Best, Median float64
}

func newPriceHistory(window time.Duration, maxPoints int) *priceHistory {
	return &priceHistory{window: window, maxPoints: maxPoints, series: map[string][]pricePoint{}}
}

// add records one poll's prices for market and drops points that left the window.
func (h *priceHistory) add(market string, p pricePoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pts := append(h.series[market], p)
	cut := 0
	for cut < len(pts) && p.At.Sub(pts[cut].At) > h.window {
		cut++
	}
	if over := len(pts) - cut - h.maxPoints; over > 0 {
		cut += over
	}
	h.series[market] = append(pts[:0:0], pts[cut:]...)
}

// record adds one poll's best and median price of every market that had offers, and forgets
// the markets that left the config.
func (h *priceHistory) record(at time.Time, markets map[string]marketSummary) {
	keep := make(map[string]bool, len(markets))
	for name, ms := range markets {
		keep[name] = true
		if ms.ok {
			h.add(name, pricePoint{At: at, Best: ms.best, Median: ms.median})
		}
	}
	h.retain(keep)
}

// retain forgets markets not in keep (a market left the config).
func (h *priceHistory) retain(keep map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for m := range h.series {
		if !keep[m] {
			delete(h.series, m)
		}
	}
}

func (h *priceHistory) points(market string) []pricePoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]pricePoint(nil), h.series[market]...)
}

// svg draws best (solid) and median (dashed) price over time as an inline SVG; no external
// assets. It returns "" with fewer than two points.
func (h *priceHistory) svg(market string, width, height int) template.HTML {
	pts := h.points(market)
	if len(pts) < 2 {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo = math.Min(lo, math.Min(p.Best, p.Median))
		hi = math.Max(hi, math.Max(p.Best, p.Median))
	}
	if hi-lo < 1e-9 {
		hi, lo = hi+0.01, lo-0.01
	}
	t0, t1 := pts[0].At, pts[len(pts)-1].At
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	const pad = 4
	x := func(t time.Time) float64 { return pad + (t.Sub(t0).Seconds()/span)*float64(width-2*pad) }
	y := func(v float64) float64 { return pad + (1-(v-lo)/(hi-lo))*float64(height-2*pad) }
	line := func(get func(pricePoint) float64) string {
		var b strings.Builder
		for i, p := range pts {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", x(p.At), y(get(p)))
		}
		return b.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" height="%d" role="img" aria-label="best and median price of %s">`,
		width, height, height, template.HTMLEscapeString(market))
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="%s"/>`, line(func(p pricePoint) float64 { return p.Best }))
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#8b949e" stroke-width="1.5" stroke-dasharray="4 3" points="%s"/>`, line(func(p pricePoint) float64 { return p.Median }))
	fmt.Fprintf(&b, `<text x="%d" y="12" font-size="10" fill="#57606a">$%.3f</text>`, pad, hi)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#57606a">$%.3f</text>`, pad, height-2, lo)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and an escaped name
}
