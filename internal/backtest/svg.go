package backtest

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// chart is one SVG line chart: lines over a time axis, with a band between two lines when
// band is set (the 10th to 90th percentile of a price).
type chart struct {
	title  string
	unit   string
	lines  []line
	band   *[2]line
	width  int
	height int
	step   bool // lines move in steps (counts), not straight
}

type line struct {
	name  string
	color string
	dash  bool
	at    []time.Time
	v     []float64
}

// palette colours the configs in order.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"}

const (
	padL, padR, padT, padB = 56, 12, 40, 34
)

// svg renders the chart.
func (c chart) svg() string {
	var b strings.Builder
	w, h := c.width, c.height
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`, w, h, w, h, html.EscapeString(c.title))
	fmt.Fprintf(&b, `<text x="%d" y="16" class="t">%s</text>`, padL, html.EscapeString(c.title))
	t0, t1, lo, hi, ok := c.extent()
	if !ok {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="a">no data</text></svg>`, w/2-24, h/2)
		return b.String()
	}
	x := func(t time.Time) float64 {
		return padL + float64(w-padL-padR)*float64(t.Sub(t0))/float64(max(t1.Sub(t0), 1))
	}
	y := func(v float64) float64 { return float64(h-padB) - float64(h-padT-padB)*(v-lo)/(hi-lo) }
	c.axes(&b, t0, t1, lo, hi, x, y)
	if c.band != nil {
		var pts []string
		for i, t := range c.band[0].at {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(t), y(c.band[0].v[i])))
		}
		for i := len(c.band[1].at) - 1; i >= 0; i-- {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(c.band[1].at[i]), y(c.band[1].v[i])))
		}
		fmt.Fprintf(&b, `<polygon points="%s" fill="%s" fill-opacity="0.18" stroke="none"/>`, strings.Join(pts, " "), c.band[0].color)
	}
	for _, l := range c.lines {
		var pts []string
		for i, t := range l.at {
			if c.step && i > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(t), y(l.v[i-1])))
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(t), y(l.v[i])))
		}
		dash := ""
		if l.dash {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.6"%s/>`, strings.Join(pts, " "), l.color, dash)
	}
	c.legend(&b)
	b.WriteString(`</svg>`)
	return b.String()
}

// extent is the time span and value range of every line.
func (c chart) extent() (t0, t1 time.Time, lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	all := c.lines
	if c.band != nil {
		all = append(all[:len(all):len(all)], c.band[0], c.band[1])
	}
	for _, l := range all {
		for i, t := range l.at {
			if !ok || t.Before(t0) {
				t0 = t
			}
			if !ok || t.After(t1) {
				t1 = t
			}
			ok = true
			lo, hi = math.Min(lo, l.v[i]), math.Max(hi, l.v[i])
		}
	}
	if !ok {
		return
	}
	lo = math.Min(lo, 0)
	if hi <= lo {
		hi = lo + 1
	}
	if c.unit == "" {
		hi = 4 * math.Ceil(hi/4) // counts: whole numbers at every tick
	} else {
		hi += (hi - lo) * 0.05
	}
	return t0, t1, lo, hi, true
}

func (c chart) axes(b *strings.Builder, t0, t1 time.Time, lo, hi float64, x func(time.Time) float64, y func(float64) float64) {
	w, h := c.width, c.height
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="ax"/>`, padL, h-padB, w-padR, h-padB)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="ax"/>`, padL, padT, padL, h-padB)
	for i := range 5 {
		v := lo + (hi-lo)*float64(i)/4
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="g"/>`, padL, y(v), w-padR, y(v))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" class="a" text-anchor="end">%s</text>`, padL-4, y(v)+4, tick(v, c.unit))
	}
	span := t1.Sub(t0)
	for i := range 5 {
		t := t0.Add(span * time.Duration(i) / 4)
		layout := "Jan 2 15:04"
		if span > 4*24*time.Hour {
			layout = "Jan 2"
		}
		anchor := []string{"start", "middle", "middle", "middle", "end"}[i]
		fmt.Fprintf(b, `<text x="%.1f" y="%d" class="a" text-anchor="%s">%s</text>`, x(t), h-padB+16, anchor, t.UTC().Format(layout))
	}
}

func tick(v float64, unit string) string {
	switch unit {
	case "$":
		if math.Abs(v) >= 100 {
			return fmt.Sprintf("$%.0f", v)
		}
		return fmt.Sprintf("$%.2f", v)
	case "$/h":
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func (c chart) legend(b *strings.Builder) {
	xpos := padL
	for _, l := range c.lines {
		dash := ""
		if l.dash {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(b, `<line x1="%d" y1="26" x2="%d" y2="26" stroke="%s" stroke-width="2"%s/><text x="%d" y="30" class="a">%s</text>`,
			xpos, xpos+16, l.color, dash, xpos+20, html.EscapeString(l.name))
		xpos += 32 + 6*len(l.name)
	}
}
