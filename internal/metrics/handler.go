package metrics

import (
	"bytes"
	"compress/flate"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/common/expfmt"
)

// contentType is the text exposition format, the one format served.
var contentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

var (
	bufPool   = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	flatePool = sync.Pool{New: func() any {
		fw, err := flate.NewWriter(nil, flate.BestSpeed)
		if err != nil {
			panic(err) // only for an invalid level
		}
		return fw
	}}
)

// Handler serves /metrics: the last published snapshot's exposition from memory, followed by
// the self-metrics gathered from the registry per scrape. With Accept-Encoding gzip the reply is
// one gzip member whose snapshot part was compressed at Publish. It never calls the Vast API.
// A self-metrics gather error answers 500, like promhttp's default.
func (e *Exporter) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		x := e.current.Load()

		self := bufPool.Get().(*bytes.Buffer)
		self.Reset()
		defer bufPool.Put(self)
		mfs, err := e.reg.Gather()
		if err == nil {
			err = writeText(self, mfs)
		}
		if err != nil {
			http.Error(w, fmt.Sprintf("gather self-metrics: %v", err), http.StatusInternalServerError)
			return
		}

		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.Set("Content-Length", strconv.Itoa(len(x.plain)+self.Len()))
			if r.Method == http.MethodHead {
				return
			}
			_, _ = w.Write(x.plain)
			_, _ = w.Write(self.Bytes())
			return
		}

		body := bufPool.Get().(*bytes.Buffer)
		body.Reset()
		defer bufPool.Put(body)
		fw := flatePool.Get().(*flate.Writer)
		err = x.gzipBody(body, self.Bytes(), fw)
		flatePool.Put(fw)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(body.Len()))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body.Bytes())
	})
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
