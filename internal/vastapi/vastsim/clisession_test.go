package vastsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// A CLI session beyond renting (docs/vast-api.md §7): the requests the official vast CLI sends
// for show invoices, logs, the ssh and api keys, env vars, templates, deposit, update instance
// and ssh-url, sent over a real loopback HTTP server (what `vastwatch sim` serves), each reply
// checked for every field the CLI's code reads, so the CLI would print rather than raise.
//
// The CLI functions named are those of github.com/vast-ai/vast-cli: the single-file vast.py
// (the legacy CLI whose requests testdata/match/requests.jsonl captured) and the vastai package
// (vastai/cli/commands/*.py over vastai/api/*.py), which send the same method, path, query and
// body for these commands. Query strings are built as the CLI builds them: json.dumps (", " and
// ": " separators) then quote_plus, which url.QueryEscape reproduces.

// cliSession is a loopback server over a harness's simulator and a client that talks to it the
// way python-requests does.
type cliSession struct {
	*harness
	t   *testing.T
	srv *httptest.Server
}

func newCLISession(t *testing.T) *cliSession {
	h := newHarness(t, quiet)
	srv := httptest.NewServer(h.sim)
	t.Cleanup(srv.Close)
	return &cliSession{harness: h, t: t, srv: srv}
}

// send makes one request as the CLI does (Bearer key, JSON body, no redirects followed).
func (c *cliSession) send(method, path, body, key string) resp {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "vastai-cli/0.5.0")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), header: res.Header, body: b}
}

// cli sends a request with the account key and requires what r.raise_for_status() requires (a
// status below 400) and a JSON body, which every command below parses.
func (c *cliSession) cli(method, path, body string) resp {
	c.t.Helper()
	r := c.send(method, path, body, testKey)
	if r.status >= 400 {
		c.t.Fatalf("%s %s: %d %s (the CLI's raise_for_status raises)", method, path, r.status, r.body)
	}
	if !strings.Contains(r.ctype, "json") || !json.Valid(r.body) {
		c.t.Fatalf("%s %s: %q %s is not JSON (the CLI's r.json() raises)", method, path, r.ctype, r.body)
	}
	return r
}

// loadingInstance rents an offer as `vastai create instance` does and moves the clock into the
// instance's loading phase.
func (c *cliSession) loadingInstance() int64 {
	c.t.Helper()
	id := c.mustCreate(c.rentable(func(o vastapi.Offer) bool { return o.DiskSpace >= 20 }).ID, 20, 0)
	c.clk.Advance(10 * time.Second) // past the 5 s provisioning, well within the 60 s boot
	if st := c.show(id)["actual_status"]; st != "loading" {
		c.t.Fatalf("instance %d is %v, want loading", id, st)
	}
	return id
}

func pyFloat(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
}

// isNumber reports whether v is what Python's float() accepts from JSON: a number or a numeric
// string.
func isNumber(v any) bool {
	switch x := v.(type) {
	case float64:
		return true
	case string:
		_, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return err == nil
	}
	return false
}

func TestCLISessionShowInvoices(t *testing.T) {
	c := newCLISession(t)
	id := c.loadingInstance()
	c.clk.Advance(2 * time.Hour) // running, billed
	now := c.clk.Now()
	// vast.py show__invoices (and vastai/api/billing.py show_invoices): GET /users/me/invoices
	// with owner, sdate, edate (time.time() floats, default the last day) and inc_charges.
	path := "/api/v0/users/me/invoices?owner=me&sdate=" + pyFloat(now.Add(-24*time.Hour)) +
		"&edate=" + pyFloat(now) + "&inc_charges=true"
	m := c.cli("GET", path, "").json(t)
	rows, ok := m["invoices"].([]any)
	if !ok {
		t.Fatalf("reply %v has no invoices list (rows = r.json()[\"invoices\"] raises)", m)
	}
	if _, ok := m["current"]; !ok {
		t.Fatalf("reply %v has no current (r.json()[\"current\"] raises)", m)
	}
	charged := false
	for _, r := range rows {
		row := r.(map[string]any)
		// filter_invoice_items: row["timestamp"] or 0.0, row["type"], float(row["amount"]);
		// display_table formats timestamp with {:0.1f}.
		if ts, ok := row["timestamp"]; !ok || (ts != nil && !isNumber(ts)) {
			t.Fatalf("row %v: timestamp missing or not a number", row)
		}
		if _, ok := row["type"].(string); !ok || !isNumber(row["amount"]) {
			t.Fatalf("row %v: type or amount unreadable", row)
		}
		if row["type"] == "charge" && row["instance_id"] == float64(id) {
			charged = true
		}
	}
	if !charged {
		t.Fatalf("no charge row for instance %d in %v", id, rows)
	}
}

func TestCLISessionLogs(t *testing.T) {
	c := newCLISession(t)
	id := c.loadingInstance()
	for _, body := range []string{`{}`, `{"tail": "3"}`, `{"tail": "1000", "daemon_logs": "true"}`} {
		// vast.py logs (vastai/api/instances.py logs): PUT request_logs, then rj["result_url"]
		// fetched with requests.get (no key) until it answers 200.
		m := c.cli("PUT", "/api/v0/instances/request_logs/"+itoa(id)+"/", body).json(t)
		u, ok := m["result_url"].(string)
		if !ok || m["success"] != true {
			t.Fatalf("logs reply %v has no result_url (rj[\"result_url\"] raises)", m)
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Host != strings.TrimPrefix(c.srv.URL, "http://") {
			t.Fatalf("result_url %q does not point back at the server", u)
		}
		r := c.send("GET", pu.RequestURI(), "", "")
		if r.status != 200 || len(r.body) == 0 {
			t.Fatalf("GET result_url: %d %q", r.status, r.body)
		}
		if lines := strings.Split(strings.TrimSpace(string(r.body)), "\n"); strings.Contains(body, `"3"`) && len(lines) != 3 {
			t.Fatalf("tail 3 gave %d lines: %q", len(lines), r.body)
		}
	}
	if r := c.send("PUT", "/api/v0/instances/request_logs/999/", `{}`, testKey); r.status != 404 {
		t.Fatalf("logs of an unknown instance: %d %s, want 404", r.status, r.body)
	}
}

const (
	cliKeyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINGgb6TGC8ABMQwsLHe1TDq7gF4MrAEh7gC4vVDSGdaS alice@laptop"
	cliKeyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOvSJGdExVAiQ8wN0O+cWQa9qxDWRBCG1dlQkiyjDGLw bob@ci"
)

func TestCLISessionSSHKeys(t *testing.T) {
	c := newCLISession(t)
	id := c.loadingInstance()
	// vast.py show__ssh_keys: GET /ssh/, the reply printed.
	if r := c.cli("GET", "/api/v0/ssh/", ""); string(r.body) != "[]" {
		t.Fatalf("a new account's keys: %s", r.body)
	}
	// vast.py create__ssh_key: POST /ssh/ {"ssh_key": …}, the reply printed.
	m := c.cli("POST", "/api/v0/ssh/", `{"ssh_key": "`+cliKeyA+`"}`).json(t)
	key, _ := m["key"].(map[string]any)
	if m["success"] != true || key["id"] == nil || key["public_key"] != cliKeyA {
		t.Fatalf("create ssh-key reply %v", m)
	}
	var list []map[string]any
	if err := json.Unmarshal(c.cli("GET", "/api/v0/ssh/", "").body, &list); err != nil || len(list) != 1 || list[0]["id"] != key["id"] {
		t.Fatalf("keys after create: %v %v", list, err)
	}
	// vast.py attach__ssh: POST /instances/{id}/ssh/ {"ssh_key": …}, r.json() printed.
	m = c.cli("POST", "/api/v0/instances/"+itoa(id)+"/ssh/", `{"ssh_key": "`+cliKeyB+`"}`).json(t)
	if m["success"] != true {
		t.Fatalf("attach ssh reply %v", m)
	}
	if r := c.send("POST", "/api/v0/instances/999/ssh/", `{"ssh_key": "`+cliKeyB+`"}`, testKey); r.status != 404 {
		t.Fatalf("attach to an unknown instance: %d %s, want 404", r.status, r.body)
	}
	// vast.py delete__ssh_key: DELETE /ssh/{id}/, r.json() printed.
	if m := c.cli("DELETE", fmt.Sprintf("/api/v0/ssh/%v/", key["id"]), `{}`).json(t); m["success"] != true {
		t.Fatalf("delete ssh-key reply %v", m)
	}
}

func TestCLISessionAPIKeys(t *testing.T) {
	c := newCLISession(t)
	// vast.py show__api_keys: GET /auth/apikeys/, printed; the SDK unwraps "apikeys".
	m := c.cli("GET", "/api/v0/auth/apikeys/", "").json(t)
	keys, ok := m["apikeys"].([]any)
	if !ok || len(keys) == 0 {
		t.Fatalf("show api-keys reply %v", m)
	}
	if strings.Contains(string(c.cli("GET", "/api/v0/auth/apikeys/", "").body), testKey) {
		t.Fatal("the key list shows a key's value")
	}
	// vast.py create__api_key: POST /auth/apikeys/ {"name", "permissions" (the file's JSON),
	// "key_params"}, the reply printed.
	m = c.cli("POST", "/api/v0/auth/apikeys/",
		`{"name": "watch-only", "permissions": {"api": {"misc": {}, "user_read": {}, "instance_read": {}}}, "key_params": null}`).json(t)
	scoped, _ := m["key"].(string)
	if scoped == "" || m["id"] == nil {
		t.Fatalf("create api-key reply %v", m)
	}
	if r := c.send("GET", "/api/v0/users/current/", "", scoped); r.status != 200 {
		t.Fatalf("the new key reading users/current: %d %s", r.status, r.body)
	}
	if r := c.send("PUT", "/api/v0/instances/1/", `{"state": "stopped"}`, scoped); r.status != 403 {
		t.Fatalf("the new read-only key stopping an instance: %d %s, want 403", r.status, r.body)
	}
	// vast.py delete__api_key: DELETE /auth/apikeys/{id}/, r.json() printed.
	c.cli("DELETE", fmt.Sprintf("/api/v0/auth/apikeys/%v/", m["id"]), `{}`)
	if r := c.send("GET", "/api/v0/users/current/", "", scoped); r.status != 401 {
		t.Fatalf("a deleted key: %d %s, want 401", r.status, r.body)
	}
}

func TestCLISessionEnvVars(t *testing.T) {
	c := newCLISession(t)
	const secret = "hf_s3cr3tValue.1"
	// vast.py create__env_var: POST /secrets/ {"key", "value"}; result.get("success"), "msg".
	if m := c.cli("POST", "/api/v0/secrets/", `{"key": "hf_token", "value": "`+secret+`"}`).json(t); m["success"] != true {
		t.Fatalf("create env-var reply %v", m)
	}
	// vast.py show__env_vars: GET /secrets/; r.json().get("secrets", {}).items().
	r := c.cli("GET", "/api/v0/secrets/", "")
	secrets, ok := r.json(t)["secrets"].(map[string]any)
	if !ok || secrets["HF_TOKEN"] == nil {
		t.Fatalf("show env-vars reply %s", r.body)
	}
	if strings.Contains(string(r.body), secret) {
		t.Fatal("show env-vars echoes a secret's value")
	}
	// vast.py delete__env_var: DELETE /secrets/ {"key"}; result.get("success").
	if m := c.cli("DELETE", "/api/v0/secrets/", `{"key": "HF_TOKEN"}`).json(t); m["success"] != true {
		t.Fatalf("delete env-var reply %v", m)
	}
}

func TestCLISessionTemplates(t *testing.T) {
	c := newCLISession(t)
	// vast.py search__templates 'recommended=true count_created>100': GET /template/ with
	// select_cols ["*"] and the parsed query; 'json' in the Content-Type, .get('templates', []).
	path := "/api/v0/template/?select_cols=" + url.QueryEscape(`["*"]`) +
		"&select_filters=" + url.QueryEscape(`{"recommended": {"eq": true}, "count_created": {"gt": "100"}}`)
	m := c.cli("GET", path, "").json(t)
	rows, ok := m["templates"].([]any)
	if !ok || len(rows) == 0 {
		t.Fatalf("search templates reply %v", m)
	}
	for _, r := range rows {
		row := r.(map[string]any)
		if row["recommended"] != true || !(row["count_created"].(float64) > 100) || row["hash_id"] == nil {
			t.Fatalf("template %v does not match the query", row)
		}
	}
	// vast.py create__template: POST /template/ with its fixed field set; rj["success"], then
	// rj['template'] or rj['msg'].
	body := `{"name": "my-tgi", "image": "ghcr.io/huggingface/text-generation-inference", "tag": "1.0.3", "href": null,
		"repo": null, "env": "-p 3000:3000 -e MODEL_ID=x", "onstart": "echo hi", "jup_direct": false, "ssh_direct": true,
		"use_jupyter_lab": false, "runtype": "ssh", "use_ssh": true, "jupyter_dir": null, "docker_login_repo": null,
		"extra_filters": {"verified": {"eq": true}, "external": {"eq": false}, "rentable": {"eq": true}, "rented": {"eq": false}},
		"recommended_disk_space": "32", "readme": null, "readme_visible": true, "desc": null, "private": true}`
	m = c.cli("POST", "/api/v0/template/", body).json(t)
	tmpl, _ := m["template"].(map[string]any)
	if m["success"] != true || tmpl["hash_id"] == nil || m["msg"] == nil {
		t.Fatalf("create template reply %v", m)
	}
}

func TestCLISessionDepositAndUpdateInstance(t *testing.T) {
	c := newCLISession(t)
	id := c.loadingInstance()
	// vast.py show__deposit: GET /instances/balance/{id}/?owner=me, json.dumps of the reply.
	if m := c.cli("GET", "/api/v0/instances/balance/"+itoa(id)+"/?owner=me", "").json(t); m["success"] != true || m["refundable_deposit"] == nil {
		t.Fatalf("show deposit reply %v", m)
	}
	// vast.py update__instance ID --image IMG: PUT /instances/update_template/{id}/ {"id", "image"};
	// a 200 reply's .get("success"), .get("msg"), .get("updated_instance").
	body := `{"id": ` + itoa(id) + `, "image": "vastai/base-image:cuda-12.8.1-auto"}`
	if m := c.cli("PUT", "/api/v0/instances/update_template/"+itoa(id)+"/", body).json(t); m["success"] != true {
		t.Fatalf("update instance reply %v", m)
	}
	if img := c.show(id)["image_uuid"]; img != "vastai/base-image:cuda-12.8.1-auto" {
		t.Fatalf("image after update: %v", img)
	}
}

// TestCLISessionSSHURLWhileLoading replays vast.py ssh_url → _ssh_url on a loading instance:
// _fetch_all_instances_v1 pages GET /api/v1/instances/, then
//
//	ports = instance.get("ports", {}); port_22d = ports.get("22/tcp", None)
//
// outside any try: a "ports": null raises AttributeError. Inside the try, the port comes from
// ports["22/tcp"][0]["HostPort"] with public_ipaddr, or else ssh_host and int(ssh_port) (+1 when
// "jupyter" is in image_runtype); a port ≤ 0 prints "error: ssh port not found".
func TestCLISessionSSHURLWhileLoading(t *testing.T) {
	c := newCLISession(t)
	id := c.loadingInstance()
	path := "/api/v1/instances/?select_filters=%7B%7D&order_by=%5B%7B%22col%22%3A+%22id%22%2C+%22dir%22%3A+%22asc%22%7D%5D&limit=25"
	var page struct {
		Instances []map[string]json.RawMessage `json:"instances"`
	}
	if err := json.Unmarshal(c.cli("GET", path, "").body, &page); err != nil || len(page.Instances) != 1 {
		t.Fatalf("list: %v, %d rows", err, len(page.Instances))
	}
	row := page.Instances[0]
	var ports map[string][]map[string]any
	if raw, ok := row["ports"]; ok {
		if string(raw) == "null" {
			t.Fatal(`instance row has "ports": null: ports.get raises AttributeError (the real API leaves the key out while loading)`)
		}
		if err := json.Unmarshal(raw, &ports); err != nil {
			t.Fatalf("ports %s is not an object: %v", raw, err)
		}
	}
	var host, runtype string
	var port int
	if p22, ok := ports["22/tcp"]; ok {
		_ = json.Unmarshal(row["public_ipaddr"], &host)
		port, _ = strconv.Atoi(fmt.Sprint(p22[0]["HostPort"]))
	} else {
		_ = json.Unmarshal(row["ssh_host"], &host)
		_ = json.Unmarshal(row["ssh_port"], &port)
		if err := json.Unmarshal(row["image_runtype"], &runtype); err != nil {
			t.Fatalf("image_runtype %s is not a string: `in` raises", row["image_runtype"])
		}
	}
	if host == "" || port <= 0 {
		t.Fatalf("instance %d: ssh-url would print 'error: ssh port not found' (host %q port %d)", id, host, port)
	}
}

// TestNotSimulatedIsNotAWrongID: an endpoint the simulator does not serve answers 501 with a JSON
// message naming it; a wrong id on a served endpoint stays 404, as the real API answers.
func TestNotSimulatedIsNotAWrongID(t *testing.T) {
	c := newCLISession(t)
	r := c.send("GET", "/api/v0/instances/filters/?owner=me", "", testKey)
	m := r.json(t)
	if r.status != 501 || m["success"] != false || !strings.Contains(fmt.Sprint(m["msg"]), "GET /api/v0/instances/filters/") ||
		!strings.Contains(fmt.Sprint(m["msg"]), "not simulated") {
		t.Fatalf("unserved endpoint: %d %s", r.status, r.body)
	}
	if r := c.send("PUT", "/api/v0/instances/999/", `{"state": "stopped"}`, testKey); r.status != 404 {
		t.Fatalf("wrong id: %d %s, want 404", r.status, r.body)
	}
	if r := c.send("GET", "/favicon.ico", "", ""); r.status != 404 {
		t.Fatalf("a path outside the API: %d, want 404", r.status)
	}
}

// TestUnservedRequestsAreLogged: a 501 is in the request log under its own name, so a demo can
// see what a client asked for that the simulator does not model.
func TestUnservedRequestsAreLogged(t *testing.T) {
	h := newHarness(t, quiet)
	h.do("POST", "/api/v0/instances/take_snapshot/5/", `{}`)
	reqs := h.sim.Requests()
	if last := reqs[len(reqs)-1]; last.Endpoint != "not_simulated" || last.Status != 501 {
		t.Fatalf("logged %+v", last)
	}
}
