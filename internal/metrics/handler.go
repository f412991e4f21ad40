package metrics

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// contentType is the text exposition format, the one format served.
var contentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// Handler serves /metrics: the last published snapshot's exposition from memory, followed by
// the self-metrics gathered from the registry for this scrape. With Accept-Encoding gzip the
// reply is one gzip member whose snapshot part was compressed at Publish. It never calls the
// Vast API. A self-metrics gather error answers 500, like promhttp's default.
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

		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.Set("Content-Length", strconv.Itoa(len(x.plain)+len(t.plain)))
			if r.Method != http.MethodHead {
				bufs := net.Buffers{x.plain, t.plain}
				_, _ = bufs.WriteTo(w)
			}
			return
		}
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(x.gzipLen(t)))
		if r.Method != http.MethodHead {
			_ = x.gzipTo(w, t)
		}
	})
}

// selfGatherer gathers the self-metrics registry for scrapes. Concurrent scrapes share
// gathers, but never one that began before the scrape arrived: a scrape arriving while a
// gather runs waits for the next one, which every scrape arriving meanwhile joins. So a scrape
// sees every event that happened before it, and N concurrent scrapers cost about two gathers
// (the process collector's /proc reads are the expensive part) instead of N.
type selfGatherer struct {
	reg prometheus.Gatherer

	mu   sync.Mutex
	cur  *flight // running
	next *flight // not started yet: waits for cur
}

type flight struct {
	done chan struct{}
	t    *tail
	err  error
}

func (g *selfGatherer) get() (*tail, error) {
	g.mu.Lock()
	if g.cur == nil && g.next == nil {
		f := &flight{done: make(chan struct{})}
		g.cur = f
		g.mu.Unlock()
		g.run(f)
		return f.t, f.err
	}
	if g.next != nil { // not started yet: join it
		f := g.next
		g.mu.Unlock()
		<-f.done
		return f.t, f.err
	}
	// A gather started before this scrape arrived: queue the next one and run it when the
	// current one ends.
	f := &flight{done: make(chan struct{})}
	g.next = f
	prev := g.cur
	g.mu.Unlock()
	<-prev.done
	g.mu.Lock()
	g.cur, g.next = f, nil
	g.mu.Unlock()
	g.run(f)
	return f.t, f.err
}

func (g *selfGatherer) run(f *flight) {
	f.t, f.err = g.gather()
	g.mu.Lock()
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
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.TrimSpace(coding)
		if !strings.EqualFold(coding, "gzip") && coding != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}
