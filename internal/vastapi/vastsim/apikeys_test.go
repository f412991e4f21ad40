package vastsim

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// createKey makes a key through auth/apikeys with key as the creator and returns the reply.
func (h *harness) createKey(creator, body string) resp {
	h.t.Helper()
	return h.doKey("POST", "/api/v0/auth/apikeys/", body, creator)
}

func TestCreatedKeysWorkWithTheirScopes(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Keys: map[string][]string{"admin-lite": {ScopeUserWrite, ScopeMisc, ScopeUserRead}}})
	o := h.rentable(nil)
	// The quick-start's watch-only key: prices, credit, instances.
	m := h.createKey(testKey, `{"name": "watch", "permissions": {"api": {"misc": {}, "user_read": {}, "instance_read": {}}}}`).json(t)
	watch, _ := m["key"].(string)
	if m["success"] != true || len(watch) != 64 {
		t.Fatalf("create: %v", m)
	}
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/api/v0/bundles/", `{"limit": 1}`, 200},
		{"GET", "/api/v0/users/current/", nil, 200},
		{"GET", "/api/v1/instances/", nil, 200},
		{"PUT", "/api/v0/asks/" + itoa(o.ID) + "/", map[string]any{"image": "x", "disk": 10}, 403},
		{"GET", "/api/v0/charges/", nil, 403},
		{"POST", "/api/v0/auth/apikeys/", `{"name": "more"}`, 403},
		{"GET", "/_sim/state", nil, 403},
	} {
		if r := h.doKey(c.method, c.path, c.body, watch); r.status != c.want {
			t.Errorf("%s %s with the watch key: %d %s, want %d", c.method, c.path, r.status, r.body, c.want)
		}
	}
	// A key cannot grant what its creator lacks; unknown categories and shapes are refused.
	if r := h.createKey("admin-lite", `{"name": "x", "permissions": {"api": {"instance_write": {}}}}`); r.status != 401 {
		t.Fatalf("escalation: %d %s", r.status, r.body)
	}
	for _, p := range []string{`{"api": {"root": {}}}`, `{"misc": {}}`, `{"api": {}, "extra": {}}`} {
		if r := h.createKey(testKey, `{"name": "x", "permissions": `+p+`}`); r.status != 400 || r.json(t)["error"] != "invalid_permissions" {
			t.Errorf("permissions %s: %d %s", p, r.status, r.body)
		}
	}
	if r := h.createKey(testKey, `{"permissions": {"api": {}}}`); r.status != 400 {
		t.Fatalf("no name: %d", r.status)
	}
	// Without permissions a key gets its creator's.
	lite := h.createKey("admin-lite", `{"name": "same"}`).json(t)["key"].(string)
	if r := h.doKey("POST", "/api/v0/bundles/", `{"limit": 1}`, lite); r.status != 200 {
		t.Fatalf("inherited misc: %d", r.status)
	}
	if r := h.doKey("GET", "/api/v1/instances/", nil, lite); r.status != 403 {
		t.Fatalf("inherited more than the creator: %d", r.status)
	}
	list := h.do("GET", "/api/v0/auth/apikeys/", nil)
	for _, secret := range []string{testKey, watch, lite, "admin-lite"} {
		if strings.Contains(string(list.body), secret) || strings.Contains(logs.String(), secret) {
			t.Fatalf("a key's value is in the key list or the log")
		}
	}
	if n := len(list.json(t)["apikeys"].([]any)); n != 4 {
		t.Fatalf("%d keys listed, want primary, configured, watch, same", n)
	}
}

func TestDeletedKeysAreRefusedAndConfiguredOnesStay(t *testing.T) {
	// No configured key: any key is the account's, except keys made and since deleted.
	clk := clock.NewFake(t0)
	s, err := New(Options{Seed: 11, DriftInterval: -1, Clock: clk, Keys: map[string][]string{"cfg": {ScopeMisc}}})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, sim: s, clk: clk, hc: &http.Client{Transport: s.Transport()}}
	m := h.createKey("anything", `{"name": "none", "permissions": {"api": {}}}`).json(t)
	none := m["key"].(string)
	if r := h.doKey("GET", "/api/v0/users/current/", nil, none); r.status != 403 {
		t.Fatalf("a key with no scope: %d (an empty scope list must not mean every scope)", r.status)
	}
	if r := h.doKey("DELETE", fmt.Sprintf("/api/v0/auth/apikeys/%v/", m["id"]), nil, "anything"); r.status != 200 || string(r.body) != `"Successfully Deleted API Key"` {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := h.doKey("GET", "/api/v0/users/current/", nil, none); r.status != 401 {
		t.Fatalf("a deleted key: %d, want 401 although any other key would do", r.status)
	}
	for path, want := range map[string]int{
		"/api/v0/auth/apikeys/1717/":                     400, // the primary key
		"/api/v0/auth/apikeys/1718/":                     400, // a configured key
		fmt.Sprintf("/api/v0/auth/apikeys/%v/", m["id"]): 404,
		"/api/v0/auth/apikeys/abc/":                      400,
	} {
		if r := h.doKey("DELETE", path, nil, "anything"); r.status != want {
			t.Errorf("DELETE %s: %d %s, want %d", path, r.status, r.body, want)
		}
	}
	if r := h.doKey("POST", "/api/v0/bundles/", `{"limit": 1}`, "cfg"); r.status != 200 {
		t.Fatalf("the configured key after the refusals: %d", r.status)
	}
}
