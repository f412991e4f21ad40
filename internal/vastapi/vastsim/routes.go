package vastsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Endpoint templates of a CLI session beyond renting (docs/vast-api.md §7), with the scopes the
// real API's route table gives them. GET and POST (or PUT, DELETE) of one path share a template.
const (
	epInvoices      = "/api/v0/users/{id}/invoices/"
	epRequestLogs   = "/api/v0/instances/request_logs/{id}/"
	epSSHKeys       = "/api/v0/ssh/"
	epSSHKey        = "/api/v0/ssh/{id}/"
	epInstanceSSH   = vastapi.EPAttachSSHKey // GET lists, POST attaches
	epInstanceSSHID = "/api/v0/instances/{id}/ssh/{key}/"
	epAPIKeys       = "/api/v0/auth/apikeys/"
	epAPIKey        = "/api/v0/auth/apikeys/{id}/"
	epSecrets       = "/api/v0/secrets/"
	epTemplates     = "/api/v0/template/"
	epUpdateTmpl    = "/api/v0/instances/update_template/{id}/"
	epBalance       = "/api/v0/instances/balance/{id}/"
)

// accountRoutes maps "METHOD template" to what serves it. An {id} is the path's numeric segment
// (route.id); users/{id} and ssh/{key} segments travel as route.arg.
var accountRoutes = map[string]route{
	"GET " + epInvoices:         {scope: ScopeBillingRead, handle: (*Sim).handleInvoices},
	"PUT " + epRequestLogs:      {scope: ScopeInstanceRead, handle: (*Sim).handleRequestLogs},
	"GET " + epSSHKeys:          {scope: ScopeUserRead, handle: (*Sim).handleListSSHKeys},
	"POST " + epSSHKeys:         {scope: ScopeUserWrite, handle: (*Sim).handleCreateSSHKey},
	"DELETE " + epSSHKey:        {scope: ScopeUserWrite, handle: (*Sim).handleDeleteSSHKey},
	"GET " + epInstanceSSH:      {scope: ScopeInstanceRead, handle: (*Sim).handleInstanceSSHKeys},
	"POST " + epInstanceSSH:     {scope: ScopeInstanceWrite, handle: (*Sim).handleAttachSSHKey},
	"DELETE " + epInstanceSSHID: {scope: ScopeInstanceWrite, handle: (*Sim).handleDetachSSHKey},
	"GET " + epAPIKeys:          {scope: ScopeUserRead, handle: (*Sim).handleListAPIKeys},
	"POST " + epAPIKeys:         {scope: ScopeUserWrite, handle: (*Sim).handleCreateAPIKey},
	"DELETE " + epAPIKey:        {scope: ScopeUserWrite, handle: (*Sim).handleDeleteAPIKey},
	"GET " + epSecrets:          {scope: ScopeUserRead, handle: (*Sim).handleListSecrets},
	"POST " + epSecrets:         {scope: ScopeUserWrite, handle: (*Sim).handleSetSecret},
	"PUT " + epSecrets:          {scope: ScopeUserWrite, handle: (*Sim).handleSetSecret},
	"DELETE " + epSecrets:       {scope: ScopeUserWrite, handle: (*Sim).handleDeleteSecret},
	"GET " + epTemplates:        {scope: ScopeUserRead, handle: (*Sim).handleSearchTemplates},
	"POST " + epTemplates:       {scope: ScopeUserWrite, handle: (*Sim).handleCreateTemplate},
	"PUT " + epUpdateTmpl:       {scope: ScopeInstanceWrite, handle: (*Sim).handleUpdateTemplate},
	"GET " + epBalance:          {scope: ScopeInstanceRead, handle: (*Sim).handleBalance},
}

// resolveAccount resolves the paths of accountRoutes: seg is the path's segments without the
// trailing slash.
func resolveAccount(method string, seg []string) (route, bool) {
	if len(seg) < 3 || seg[0] != "api" || seg[1] != "v0" {
		return route{}, false
	}
	tmpl, id, arg := templateOf(seg[2:])
	if tmpl == "" {
		return route{}, false
	}
	rt, ok := accountRoutes[method+" "+tmpl]
	if !ok {
		return route{}, false
	}
	rt.endpoint, rt.id, rt.arg = tmpl, id, arg
	rt.mutating = method != http.MethodGet
	return rt, true
}

// templateOf names the template of a path below /api/v0/, with its numeric {id} and its other
// variable segment; "" when the path is none of accountRoutes'.
func templateOf(seg []string) (tmpl string, id int64, arg string) {
	num := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n > 0
	}
	switch {
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "invoices":
		return epInvoices, 0, seg[1]
	case len(seg) == 1 && seg[0] == "ssh":
		return epSSHKeys, 0, ""
	case len(seg) == 2 && seg[0] == "ssh":
		n, _ := num(seg[1])
		return epSSHKey, n, seg[1]
	case len(seg) == 2 && seg[0] == "auth" && seg[1] == "apikeys":
		return epAPIKeys, 0, ""
	case len(seg) == 3 && seg[0] == "auth" && seg[1] == "apikeys":
		n, _ := num(seg[2])
		return epAPIKey, n, seg[2]
	case len(seg) == 1 && seg[0] == "secrets":
		return epSecrets, 0, ""
	case len(seg) == 1 && seg[0] == "template":
		return epTemplates, 0, ""
	case len(seg) < 3 || seg[0] != "instances":
		return "", 0, ""
	}
	if n, ok := num(seg[2]); ok && len(seg) == 3 {
		switch seg[1] {
		case "request_logs":
			return epRequestLogs, n, ""
		case "update_template":
			return epUpdateTmpl, n, ""
		case "balance":
			return epBalance, n, ""
		}
	}
	if n, ok := num(seg[1]); ok && seg[2] == "ssh" {
		switch len(seg) {
		case 3:
			return epInstanceSSH, n, ""
		case 4:
			return epInstanceSSHID, n, seg[3]
		}
	}
	return "", 0, ""
}

// isAPIPath reports whether path is below the API's prefixes, where a request the simulator does
// not serve is "not simulated" (501) rather than a page that does not exist (404).
func isAPIPath(path string) bool {
	return strings.HasPrefix(path, "/api/v0/") || strings.HasPrefix(path, "/api/v1/")
}

// notSimulated is the reply to an API request no route serves. It names the request's method and
// path (never its query, where a key may be) and is 501, so a client tells "this simulator does
// not model that" from "no such instance", which stays the real API's 404.
func notSimulated(r *http.Request) reply {
	path := r.URL.Path
	if len(path) > 200 {
		path = path[:200] + "…"
	}
	return apiErr(http.StatusNotImplemented, "not_simulated",
		fmt.Sprintf("%s %s is not simulated by vastwatch's simulator (docs/vast-api.md §7 lists what is)", r.Method, path))
}
