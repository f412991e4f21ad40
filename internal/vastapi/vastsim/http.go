package vastsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// reply is a handler's answer, written by the outer layer (or dropped by a fault).
type reply struct {
	status int
	body   []byte
	ctype  string
	// abort: no reply at all (connection reset / reply lost).
	abort bool
	// stream, when set, writes the rest of the body after body (a large search reply).
	stream *searchStream
}

// release drops a reply that will not be written (a lost reply); a streamed reply that is
// written releases itself.
func (r *reply) release() {
	if r.stream != nil {
		r.stream.close()
		r.stream = nil
	}
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return reply{status: 500, body: []byte(`{"success":false,"error":"server_error","msg":"encode"}`), ctype: "application/json"}
	}
	return reply{status: status, body: b, ctype: "application/json"}
}

// apiErr is the usual error body {"success":false,"error":code,"msg":msg}.
func apiErr(status int, code, msg string) reply {
	return jsonReply(status, map[string]any{"success": false, "error": code, "msg": msg})
}

// Request is one logged API request. Path never carries the query string (where a key may be).
type Request struct {
	Time     time.Time
	Method   string
	Path     string
	Endpoint string // template, e.g. /api/v0/instances/{id}/
	Status   int    // 0 when no reply was sent (reset, lost reply)
	Mutating bool
	Fault    string // the injected fault kind, if any
}

// MaxLoggedRequests bounds the request log; past it the oldest half is dropped.
const MaxLoggedRequests = 100_000

// Requests returns the request log, oldest first. Control requests (/_sim/) are not logged.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// route is a resolved API request.
type route struct {
	endpoint  string
	mutating  bool
	anonymous bool   // works without a key
	scope     string // the scoped-key permission it needs (docs/vast-api.md §6)
	id        int64
	arg       string // a variable path segment that is not the {id} (users/{me}, ssh/{key})
	handle    func(s *Sim, r *http.Request, body []byte, rt route) reply
}

// resolve maps method and path to a route; both trailing-slash forms are accepted.
func resolve(method, path string) (route, bool) {
	p := strings.TrimSuffix(path, "/")
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	idAt := func(i int) (int64, bool) {
		if len(seg) != i+1 {
			return 0, false
		}
		id, err := strconv.ParseInt(seg[i], 10, 64)
		return id, err == nil
	}
	switch {
	case p == "/api/v0/users/current" && method == http.MethodGet:
		return route{endpoint: vastapi.EPCurrentUser, scope: ScopeUserRead, handle: (*Sim).handleUser}, true
	case p == "/api/v0/bundles" && (method == http.MethodPost || method == http.MethodGet):
		return route{endpoint: vastapi.EPSearch, anonymous: true, scope: ScopeMisc, handle: (*Sim).handleSearch}, true
	case p == "/api/v0/search/asks" && method == http.MethodPut:
		return route{endpoint: "/api/v0/search/asks/", anonymous: true, scope: ScopeMisc, handle: (*Sim).handleSearch}, true
	case p == "/api/v0/gpu_names/unique" && method == http.MethodGet:
		return route{endpoint: vastapi.EPGPUNames, anonymous: true, scope: ScopeMisc, handle: (*Sim).handleGPUNames}, true
	case p == "/api/v1/instances" && method == http.MethodGet:
		return route{endpoint: vastapi.EPListV1, scope: ScopeInstanceRead, handle: (*Sim).handleListV1}, true
	case p == "/api/v0/instances" && method == http.MethodGet:
		return route{endpoint: vastapi.EPListV0, scope: ScopeInstanceRead, handle: (*Sim).handleListV0}, true
	case p == "/api/v0/instances" && (method == http.MethodDelete || method == http.MethodPut):
		return route{endpoint: "/api/v0/instances/", mutating: true, scope: ScopeInstanceWrite, handle: (*Sim).handleBulk}, true
	case (strings.HasPrefix(p, "/api/v0/instances/reboot/") || strings.HasPrefix(p, "/api/v0/instances/recycle/")) && method == http.MethodPut:
		if id, ok := idAt(4); ok {
			return route{endpoint: "/api/v0/instances/" + seg[3] + "/{id}/", mutating: true, scope: ScopeInstanceWrite, id: id, handle: (*Sim).handleReboot}, true
		}
	case p == "/api/v0/charges" && method == http.MethodGet:
		return route{endpoint: vastapi.EPCharges, scope: ScopeBillingRead, handle: (*Sim).handleCharges}, true
	case strings.HasPrefix(p, "/api/v0/asks/") && method == http.MethodPut:
		if id, ok := idAt(3); ok {
			return route{endpoint: vastapi.EPCreate, mutating: true, scope: ScopeInstanceWrite, id: id, handle: (*Sim).handleCreate}, true
		}
	case strings.HasPrefix(p, "/api/v0/instances/bid_price/") && method == http.MethodPut:
		if id, ok := idAt(4); ok {
			return route{endpoint: vastapi.EPChangeBid, mutating: true, scope: ScopeInstanceWrite, id: id, handle: (*Sim).handleChangeBid}, true
		}
	case strings.HasPrefix(p, "/api/v0/instances/"):
		id, ok := idAt(3)
		if !ok {
			break
		}
		switch method {
		case http.MethodGet:
			return route{endpoint: vastapi.EPShowInstance, scope: ScopeInstanceRead, id: id, handle: (*Sim).handleShow}, true
		case http.MethodDelete:
			return route{endpoint: vastapi.EPDestroy, mutating: true, scope: ScopeInstanceWrite, id: id, handle: (*Sim).handleDestroy}, true
		case http.MethodPut:
			return route{endpoint: vastapi.EPManage, mutating: true, scope: ScopeInstanceWrite, id: id, handle: (*Sim).handleManage}, true
		}
	}
	return resolveAccount(method, seg)
}

// maxBody caps request bodies as a real server would.
const maxBody = 1 << 20

// ServeHTTP serves the simulated API (and the /_sim/ control surface).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := s.serve(r)
	if rep.abort {
		// Closes the connection without a reply: the client sees a reset / EOF.
		panic(http.ErrAbortHandler)
	}
	if err := writeReply(w, rep); errors.Is(err, errAbort) {
		panic(http.ErrAbortHandler) // the reply cannot be finished: drop the connection
	}
}

// writeReply writes a reply; a streamed one is encoded as it is written, so a large search
// reply never exists whole in memory (and goes out chunked, without Content-Length).
func writeReply(w http.ResponseWriter, rep reply) error {
	defer rep.release()
	if rep.ctype != "" {
		w.Header().Set("Content-Type", rep.ctype)
	}
	if rep.stream == nil {
		w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	}
	w.WriteHeader(rep.status)
	if _, err := w.Write(rep.body); err != nil || rep.stream == nil {
		return err
	}
	return rep.stream.writeTo(w)
}

// serve handles one request end to end: routing, faults, auth, the handler, the log.
func (s *Sim) serve(r *http.Request) reply {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		return s.serveControl(r)
	}
	if strings.HasPrefix(r.URL.Path, logResultPrefix) {
		return s.serveLogResult(r)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return reply{abort: true}
	}
	if len(body) > maxBody {
		return apiErr(413, "invalid_args", "request body too large")
	}
	rt, ok := resolve(r.Method, r.URL.Path)
	if !ok && isAPIPath(r.URL.Path) {
		s.logRequest(r, route{endpoint: "not_simulated"}, http.StatusNotImplemented, "")
		return notSimulated(r)
	}
	if !ok {
		s.logRequest(r, route{endpoint: "unknown"}, 404, "")
		return apiErr(404, "not_found", "The requested URL was not found on the server.")
	}
	// Faults decided before the request is processed (reset, errors, slow) or after it
	// (reply lost) are drawn under the lock so a rate is reproducible for a seed.
	s.mu.Lock()
	f := s.drawFault(r.Method, rt.endpoint)
	s.mu.Unlock()
	if f != nil && f.Delay > 0 {
		if err := s.sleep(r.Context(), f.Delay); err != nil {
			return reply{abort: true}
		}
	}
	if f != nil && f.Kind.before() {
		rep := f.Kind.reply(f)
		s.logRequest(r, rt, rep.status, string(f.Kind))
		return rep
	}
	if rep, ok := s.authorize(r, rt); !ok {
		s.logRequest(r, rt, rep.status, "")
		return rep
	}
	if rep, limited := s.rateLimited(r, rt); limited {
		s.logRequest(r, rt, rep.status, "rate_limit")
		return rep
	}
	rep := rt.handle(s, r, body, rt)
	if f != nil && f.Kind == FaultLostReply {
		rep.release()
		s.logRequest(r, rt, 0, string(f.Kind))
		return reply{abort: true}
	}
	fk := ""
	if f != nil {
		fk = string(f.Kind)
	}
	s.logRequest(r, rt, rep.status, fk)
	return rep
}

func (s *Sim) logRequest(r *http.Request, rt route, status int, fault string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) >= MaxLoggedRequests {
		// Keep the newest half: a long-running `vastwatch sim` must not grow without bound.
		s.reqs = append(s.reqs[:0], s.reqs[len(s.reqs)/2:]...)
	}
	s.reqs = append(s.reqs, Request{
		Time: s.clock.Now(), Method: r.Method, Path: r.URL.Path, Endpoint: rt.endpoint,
		Status: status, Mutating: rt.mutating, Fault: fault,
	})
}

// sleep waits d on the clock when it can sleep (a fake clock then just moves on), otherwise in
// real time; either way it gives up when the request's context ends.
func (s *Sim) sleep(ctx context.Context, d time.Duration) error {
	if c, ok := s.clock.(interface {
		Sleep(context.Context, time.Duration) error
	}); ok {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// presentedKey returns the key of a request: Bearer header first, then ?api_key.
func presentedKey(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		k, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return "", true
		}
		return strings.TrimSpace(k), true
	}
	if k := r.URL.Query().Get("api_key"); k != "" {
		return k, true
	}
	return "", false
}

// Scopes of a scoped API key (docs/vast-api.md §6).
const (
	ScopeMisc          = "misc"           // search, gpu names
	ScopeUserRead      = "user_read"      // users/current, and listing ssh keys, API keys, env vars, templates
	ScopeInstanceRead  = "instance_read"  // instance lists and show, logs, deposit
	ScopeInstanceWrite = "instance_write" // create, start/stop/label, destroy, bid, ssh keys on an instance
	ScopeUserWrite     = "user_write"     // account ssh keys, API keys, env vars, templates
	ScopeBillingRead   = "billing_read"   // charges, invoices
)

// authorize applies docs/vast-api.md §1: a wrong key gets 401 Invalid user key everywhere, no key
// gets 403 except on the anonymous endpoints (search, gpu names); a scoped key (Options.Keys, or
// one made through auth/apikeys) lacking the endpoint's permission gets 403, and a made key since
// deleted 401. Control routes (no scope) need the full key.
func (s *Sim) authorize(r *http.Request, rt route) (reply, bool) {
	k, present := presentedKey(r)
	if !present {
		if rt.anonymous {
			return reply{}, true
		}
		return apiErr(403, "auth_error", "This action requires login."), false
	}
	scopes, known, revoked := s.keyScopes(k)
	if k != "" && !revoked && (k == s.opts.APIKey || s.opts.APIKey == "" && scopes == nil) {
		return reply{}, true
	}
	if !known || k == "" {
		return apiErr(401, "auth_error", "Invalid user key"), false
	}
	for _, sc := range scopes {
		if sc == rt.scope && rt.scope != "" {
			return reply{}, true
		}
	}
	return apiErr(403, "auth_error", "This API key lacks the permission for this action."), false
}

// rateLimited enforces Options.RateLimit: a minimum spacing per identity and "METHOD template",
// on the simulator's clock. A refused request does not count as the last call.
func (s *Sim) rateLimited(r *http.Request, rt route) (reply, bool) {
	gap, ok := s.opts.RateLimit[r.Method+" "+rt.endpoint]
	if !ok || gap <= 0 {
		return reply{}, false
	}
	k, _ := presentedKey(r)
	id := fmt.Sprintf("%08x %s %s", hash32(k), r.Method, rt.endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if last, seen := s.lastCall[id]; seen && now.Sub(last) < gap {
		return textReply(429, "application/json", fmt.Sprintf(`{"detail": "API requests too frequent endpoint threshold=%s"}`,
			strconv.FormatFloat(gap.Seconds(), 'f', -1, 64))), true
	}
	if s.lastCall == nil {
		s.lastCall = map[string]time.Time{}
	}
	s.lastCall[id] = now
	return reply{}, false
}

var errAbort = errors.New("vastsim: connection reset by peer")
