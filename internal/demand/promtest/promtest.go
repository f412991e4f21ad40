// Package promtest is a fake Prometheus HTTP API for tests of demand-driven autoscaling: it
// answers instant queries (/api/v1/query, GET or POST) with a result the test sets, the way
// Prometheus answers them, and records what it was asked. It is a test helper: production code
// must not import it.
package promtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
)

// Server is the fake API on a loopback httptest server.
type Server struct {
	*httptest.Server

	mu      sync.Mutex
	result  string // the JSON of data; "" with failure set
	failure int    // an HTTP status to answer with instead, 0 for none
	queries []string
	auth    string // when set, the Authorization header every request must carry
}

// New starts a server answering a scalar 0.
func New() *Server {
	s := &Server{}
	s.SetScalar(0)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetScalar makes queries answer the scalar v (NaN and ±Inf as Prometheus writes them).
func (s *Server) SetScalar(v float64) {
	s.set(fmt.Sprintf(`{"resultType":"scalar","result":[1765000000,%q]}`, promFloat(v)), 0)
}

// SetVector makes queries answer a vector with one sample per value.
func (s *Server) SetVector(values ...float64) {
	out := `{"resultType":"vector","result":[`
	for i, v := range values {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprintf(`{"metric":{"i":"%d"},"value":[1765000000,%q]}`, i, promFloat(v))
	}
	s.set(out+`]}`, 0)
}

// SetMatrix makes queries answer a range vector, which an instant query of a range selector
// gives.
func (s *Server) SetMatrix() {
	s.set(`{"resultType":"matrix","result":[{"metric":{},"values":[[1765000000,"1"],[1765000015,"2"]]}]}`, 0)
}

// Fail makes queries answer HTTP status code with Prometheus' error body.
func (s *Server) Fail(code int) { s.set("", code) }

// RequireAuth makes every request need this Authorization header.
func (s *Server) RequireAuth(header string) {
	s.mu.Lock()
	s.auth = header
	s.mu.Unlock()
}

// Queries are the queries asked so far.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func (s *Server) set(result string, failure int) {
	s.mu.Lock()
	s.result, s.failure = result, failure
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	result, failure, auth := s.result, s.failure, s.auth
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path != "/api/v1/query":
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprint(w, `{"status":"error","errorType":"not_found","error":"not found"}`)
		return
	case auth != "" && r.Header.Get("Authorization") != auth:
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprint(w, `{"status":"error","errorType":"unauthorized","error":"unauthorized"}`)
		return
	}
	_ = r.ParseForm()
	s.mu.Lock()
	s.queries = append(s.queries, r.Form.Get("query"))
	s.mu.Unlock()
	if failure != 0 {
		w.WriteHeader(failure)
		msg, _ := json.Marshal(http.StatusText(failure))
		_, _ = fmt.Fprintf(w, `{"status":"error","errorType":"execution","error":%s}`, msg)
		return
	}
	_, _ = fmt.Fprintf(w, `{"status":"success","data":%s}`, result)
}

// promFloat is v as Prometheus' JSON writes sample values.
func promFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
