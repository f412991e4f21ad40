package vastsim

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fetchLogs requests an instance's logs and fetches its result URL.
func (h *harness) fetchLogs(id int64, body string) string {
	h.t.Helper()
	m := h.do("PUT", "/api/v0/instances/request_logs/"+itoa(id)+"/", body).json(h.t)
	u, err := url.Parse(fmt.Sprint(m["result_url"]))
	if err != nil || m["success"] != true {
		h.t.Fatalf("request logs: %v", m)
	}
	r := h.doKey("GET", u.RequestURI(), nil, "")
	if r.status != 200 || !strings.HasPrefix(r.ctype, "text/plain") {
		h.t.Fatalf("result url: %d %q", r.status, r.body)
	}
	return string(r.body)
}

func TestLogsFollowTheLifecycleAndKeepSecretsOut(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(nil)
	const secret = "tok_VERY_SECRET_123"
	r := h.do("PUT", "/api/v0/asks/"+itoa(o.ID)+"/", map[string]any{"image": "pytorch/pytorch:2.4.0", "disk": 10,
		"env": map[string]string{"HF_TOKEN": secret}, "onstart": "echo " + secret, "runtype": "ssh"})
	id := int64(r.json(t)["new_contract"].(float64))
	if got := h.fetchLogs(id, `{}`); got != "" {
		t.Fatalf("a provisioning instance has logs: %q", got)
	}
	h.clk.Advance(10 * time.Second)
	loading := h.fetchLogs(id, `{}`)
	if !strings.HasPrefix(loading, "2.4.0: Pulling from pytorch/pytorch\n") || strings.Contains(loading, "Status:") {
		t.Fatalf("loading logs %q", loading)
	}
	h.clk.Advance(2 * time.Minute)
	running := h.fetchLogs(id, `{}`)
	if !strings.Contains(running, "Status: Downloaded newer image for pytorch/pytorch:2.4.0\n") || !strings.Contains(running, "Running onstart script") {
		t.Fatalf("running logs %q", running)
	}
	if got := h.fetchLogs(id, `{"tail": "2"}`); strings.Count(got, "\n") != 2 || !strings.HasSuffix(running, got) {
		t.Fatalf("tail 2: %q", got)
	}
	if got := h.fetchLogs(id, `{"filter": "Pull complete"}`); strings.Count(got, "Pull complete") != strings.Count(got, "\n") || got == "" {
		t.Fatalf("filtered: %q", got)
	}
	daemon := h.fetchLogs(id, `{"daemon_logs": "true"}`)
	if !strings.Contains(daemon, "vast-daemon: contract "+itoa(id)+": container running") {
		t.Fatalf("daemon logs %q", daemon)
	}
	for _, l := range []string{loading, running, daemon} {
		if strings.Contains(l, secret) || strings.Contains(l, fmt.Sprint(h.show(id)["jupyter_token"])) {
			t.Fatal("the logs show a secret")
		}
	}
	for _, bad := range []string{`{"tail": "0"}`, `{"tail": "many"}`, `{"tail": true}`, `{"tail": 1.5}`} {
		if r := h.do("PUT", "/api/v0/instances/request_logs/"+itoa(id)+"/", bad); r.status != 400 {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
	if r := h.doKey("GET", logResultPrefix+"0123.log", nil, ""); r.status != 404 {
		t.Fatalf("a token never issued: %d", r.status)
	}
}

func TestLogResultsAreBounded(t *testing.T) {
	h := newHarness(t, quiet)
	id := h.mustCreate(h.rentable(nil).ID, 10, 0)
	first := h.do("PUT", "/api/v0/instances/request_logs/"+itoa(id)+"/", `{}`).json(t)["result_url"]
	for range maxLogResults {
		h.do("PUT", "/api/v0/instances/request_logs/"+itoa(id)+"/", `{}`)
	}
	u, _ := url.Parse(fmt.Sprint(first))
	if r := h.doKey("GET", u.RequestURI(), nil, ""); r.status != 404 {
		t.Fatalf("the oldest result is still kept: %d", r.status)
	}
	h.sim.mu.Lock()
	defer h.sim.mu.Unlock()
	if len(h.sim.acct.logs) != maxLogResults || len(h.sim.acct.logOrder) != maxLogResults {
		t.Fatalf("%d logs kept, want %d", len(h.sim.acct.logs), maxLogResults)
	}
}

func TestInvoicesFilterAndSummarise(t *testing.T) {
	h := newHarness(t, quiet)
	id := h.mustCreate(h.rentable(nil).ID, 10, 0)
	h.clk.Advance(3 * time.Hour)
	now := h.clk.Now()
	get := func(q string) map[string]any {
		r := h.do("GET", "/api/v0/users/me/invoices/?owner=me"+q, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
		return r.json(t)
	}
	types := func(m map[string]any) string {
		var out []string
		for _, r := range m["invoices"].([]any) {
			out = append(out, fmt.Sprint(r.(map[string]any)["type"]))
		}
		return strings.Join(out, ",")
	}
	all := get("")
	if got := types(all); got != "payment,charge,charge" {
		t.Fatalf("rows %s", got)
	}
	cur := all["current"].(map[string]any)
	if cur["credit"] != h.sim.Credit() || cur["charges"].(float64) <= 0 || cur["total"] != cur["charges"] {
		t.Fatalf("current %v (credit %v)", cur, h.sim.Credit())
	}
	if got := types(get("&inc_charges=false")); got != "payment" {
		t.Fatalf("inc_charges=false: %s", got)
	}
	if got := types(get(fmt.Sprintf("&sdate=%d&edate=%d", now.Add(-time.Hour).Unix(), now.Unix()))); got != "charge,charge" {
		t.Fatalf("last hour: %s", got)
	}
	row := all["invoices"].([]any)[1].(map[string]any)
	if row["instance_id"] != float64(id) || !strings.Contains(fmt.Sprint(row["description"]), "GPU charge") {
		t.Fatalf("charge row %v", row)
	}
	if r := h.do("GET", "/api/v0/users/77/invoices/", nil); r.status != 403 {
		t.Fatalf("another user's invoices: %d", r.status)
	}
	if r := h.do("GET", "/api/v0/users/me/invoices/?sdate=yesterday", nil); r.status != 400 {
		t.Fatalf("a bad date: %d", r.status)
	}
}
