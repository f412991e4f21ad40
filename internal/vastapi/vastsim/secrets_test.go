package vastsim

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestSecretsAreNeverEchoed: env vars are upper-cased, listed masked, and no value reaches a
// reply, the request log or the simulator's logger.
func TestSecretsAreNeverEchoed(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	const v1, v2 = "hf_FIRSTsecretVALUE", "s3cr3t-second.value"
	steps := []struct {
		method, body string
		want         int
		code         string
	}{
		{"POST", `{"key": "hf_token", "value": "` + v1 + `"}`, 200, ""},
		{"POST", `{"env_vars": [{"key": "B", "value": "` + v2 + `"}, {"key": "EMPTY", "value": ""}]}`, 200, ""},
		{"PUT", `{"key": "HF_TOKEN", "value": "` + v2 + `"}`, 200, ""},
		{"PUT", `{"key": "NOPE", "value": "x"}`, 400, "nonexistent_key"},
		{"POST", `{"key": "X"}`, 400, "missing_input"},
		{"DELETE", `{"key": "nope"}`, 400, "nonexistent_key"},
		{"DELETE", `{}`, 400, "missing_input"},
	}
	for _, s := range steps {
		r := h.do(s.method, "/api/v0/secrets/", s.body)
		if r.status != s.want || s.code != "" && r.json(t)["error"] != s.code {
			t.Fatalf("%s %s: %d %s", s.method, s.body, r.status, r.body)
		}
	}
	list := h.do("GET", "/api/v0/secrets/", nil)
	secrets := list.json(t)["secrets"].(map[string]any)
	if len(secrets) != 3 || secrets["HF_TOKEN"] != "********" || secrets["B"] != "********" || secrets["EMPTY"] != nil {
		t.Fatalf("secrets %s", list.body)
	}
	for i := 3; i < maxSecrets; i++ {
		h.do("POST", "/api/v0/secrets/", fmt.Sprintf(`{"key": "K%d", "value": "v"}`, i))
	}
	if r := h.do("POST", "/api/v0/secrets/", `{"key": "ONE_TOO_MANY", "value": "v"}`); r.status != 400 || r.json(t)["error"] != "max_secrets" {
		t.Fatalf("past the limit: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/v0/secrets/", `{"key": "hf_token", "value": "replaced"}`); r.status != 200 {
		t.Fatalf("replacing at the limit: %d %s", r.status, r.body)
	}
	if r := h.do("DELETE", "/api/v0/secrets/", `{"key": "hf_token"}`); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	var reqs strings.Builder
	for _, q := range h.sim.Requests() {
		fmt.Fprintf(&reqs, "%+v\n", q)
	}
	for _, v := range []string{v1, v2} {
		if strings.Contains(string(list.body), v) || strings.Contains(logs.String(), v) || strings.Contains(reqs.String(), v) {
			t.Fatalf("a secret's value was echoed")
		}
	}
}
