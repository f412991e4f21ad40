package metrics

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// Header values of a reply, built once: a handler that assigns them allocates nothing. Their
// capacity is their length, so a later Add to the same header copies instead of writing into
// them.
var (
	contentTypeValue     = []string{string(expfmt.NewFormat(expfmt.TypeTextPlain))}
	varyValue            = []string{"Accept-Encoding"}
	contentEncodingValue = []string{"gzip"}
)

// Handler serves /metrics: the last published snapshot's exposition from memory, followed by
// the self-metrics. With Accept-Encoding gzip the reply is one gzip member whose parts were
// compressed beforehand. It never calls the Vast API. A self-metrics gather error answers 500,
// like promhttp's default.
//
// Serving a scrape allocates nothing while the self-metrics it serves are current (see
// selfGatherer): the reply is written from the rendered bytes as they are, with header values
// built when the snapshot or the self-metrics changed.
func (e *Exporter) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		x := e.current.Load()
		t, err := e.self.get()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rp := e.replyOf(x, t)

		h := w.Header()
		h["Content-Type"] = contentTypeValue
		if len(h["Vary"]) == 0 {
			h["Vary"] = varyValue
		} else {
			h.Add("Vary", "Accept-Encoding")
		}
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h["Content-Length"] = rp.plainLen
			if r.Method != http.MethodHead {
				_, _ = w.Write(x.plain)
				_, _ = w.Write(t.plain)
			}
			return
		}
		h["Content-Encoding"] = contentEncodingValue
		h["Content-Length"] = rp.gzipLen
		if r.Method != http.MethodHead {
			_, _ = w.Write(gzipHeader)
			_, _ = w.Write(x.deflate)
			_, _ = w.Write(t.deflate)
			_, _ = w.Write(rp.trailer[:])
		}
	})
}

// reply is what a scrape writes besides the rendered bytes, for one exposition and one tail.
type reply struct {
	x                 *exposition
	t                 *tail
	plainLen, gzipLen []string // Content-Length values
	trailer           [8]byte  // of the gzip member: CRC-32 and size of the plain text
}

// replyOf is the reply of x and t, built once for each pair (concurrent scrapes may build it
// twice when the pair has just changed; either copy serves).
func (e *Exporter) replyOf(x *exposition, t *tail) *reply {
	if rp := e.reply.Load(); rp != nil && rp.x == x && rp.t == t {
		return rp
	}
	rp := &reply{
		x:        x,
		t:        t,
		plainLen: []string{strconv.Itoa(len(x.plain) + len(t.plain))},
		gzipLen:  []string{strconv.Itoa(x.gzipLen(t))},
		trailer:  x.gzipTrailer(t),
	}
	e.reply.Store(rp)
	return rp
}

// SelfMetricsMaxAge bounds how old the self-metrics a scrape serves may be. Those the exporter
// counts itself (API requests, actions, decisions, poll and reload status, leader) are always
// current: an event makes the next scrape gather them again. The rest of the registry (the Go
// and process collectors main adds) changes all the time, and is at most this old.
const SelfMetricsMaxAge = time.Second

// selfGatherer gathers the self-metrics registry for scrapes and keeps the last gather. A
// scrape serves it when no event was recorded since it began and it began less than maxAge
// ago; otherwise the scrape waits for a gather that began after it arrived, which concurrent
// scrapes share. So a scrape sees every event recorded before it, N concurrent scrapers cost
// about two gathers (the process collector's /proc reads are the expensive part) instead of N,
// and a steady stream of scrapes costs one gather per maxAge.
type selfGatherer struct {
	reg    prometheus.Gatherer
	clk    clock.Clock
	maxAge time.Duration
	events atomic.Uint64 // incremented after each event updates its metric

	mu   sync.Mutex
	last *tail   // the last successful gather
	cur  *flight // running
	next *flight // not started yet: waits for cur
}

type flight struct {
	done   chan struct{}
	events uint64    // events recorded before the gather began
	at     time.Time // when it began
	t      *tail
	err    error
}

// recorded marks an event: the self-metrics changed.
func (g *selfGatherer) recorded() { g.events.Add(1) }

// serves reports whether a gather that began at `at` after `events` events may serve a scrape
// that arrived at now after seen events.
func (g *selfGatherer) serves(events uint64, at time.Time, seen uint64, now time.Time) bool {
	return events >= seen && now.Sub(at) < g.maxAge
}

func (g *selfGatherer) get() (*tail, error) {
	seen, now := g.events.Load(), g.clk.Now()
	g.mu.Lock()
	if t := g.last; t != nil && g.serves(t.events, t.at, seen, now) {
		g.mu.Unlock()
		return t, nil
	}
	if f := g.cur; f != nil && g.serves(f.events, f.at, seen, now) { // began after this scrape's events
		g.mu.Unlock()
		<-f.done
		return f.t, f.err
	}
	if g.next != nil { // not started yet: join it
		f := g.next
		g.mu.Unlock()
		<-f.done
		return f.t, f.err
	}
	f := &flight{done: make(chan struct{})}
	if g.cur == nil {
		g.start(f)
		g.mu.Unlock()
		g.run(f)
		return f.t, f.err
	}
	// A gather that cannot serve this scrape is running: queue the next one and run it when
	// the current one ends.
	g.next = f
	prev := g.cur
	g.mu.Unlock()
	<-prev.done
	g.mu.Lock()
	g.next = nil
	g.start(f)
	g.mu.Unlock()
	g.run(f)
	return f.t, f.err
}

// start makes f the running gather; g.mu is held.
func (g *selfGatherer) start(f *flight) {
	g.cur = f
	f.events, f.at = g.events.Load(), g.clk.Now()
}

func (g *selfGatherer) run(f *flight) {
	f.t, f.err = g.gather()
	g.mu.Lock()
	if f.err == nil {
		f.t.events, f.t.at = f.events, f.at
		g.last = f.t
	}
	if g.cur == f {
		g.cur = nil
	}
	g.mu.Unlock()
	close(f.done)
}

func (g *selfGatherer) gather() (*tail, error) {
	mfs, err := g.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather self-metrics: %w", err)
	}
	var b bytes.Buffer
	if err := writeText(&b, mfs); err != nil {
		return nil, fmt.Errorf("gather self-metrics: %w", err)
	}
	return newTail(b.Bytes())
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (a q=0 refuses it).
func acceptsGzip(header string) bool {
	for rest := header; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.TrimSpace(coding)
		if !strings.EqualFold(coding, "gzip") && coding != "*" {
			continue
		}
		if qualityOf(params) > 0 {
			return true
		}
	}
	return false
}

// qualityOf reads the q parameter of an Accept-Encoding element: 1 when absent or unreadable.
func qualityOf(params string) float64 {
	q := 1.0
	for rest := params; rest != ""; {
		var p string
		p, rest, _ = strings.Cut(rest, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
	}
	return q
}
