package vastsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

const (
	keyAlice = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINGgb6TGC8ABMQwsLHe1TDq7gF4MrAEh7gC4vVDSGdaS alice@laptop"
	keyBob   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOvSJGdExVAiQ8wN0O+cWQa9qxDWRBCG1dlQkiyjDGLw bob@ci"
	keyCarol = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIH/FDC0pbabYefo6c6w9Su0+TIwLFkwkRTWHPYOopc+88BaCFF2EmbnOdVsu5wjGqtT+4XOXMSZoFUmkgtU6Fw= carol@ci"
)

func keyBody(k string) string { return `{"ssh_key": "` + k + `"}` }

// instanceKeys reads GET /instances/{id}/ssh/, whose ssh_keys is a JSON string.
func (h *harness) instanceKeys(id int64) []map[string]any {
	h.t.Helper()
	r := h.do("GET", "/api/v0/instances/"+itoa(id)+"/ssh/", nil)
	m := r.json(h.t)
	s, ok := m["ssh_keys"].(string)
	var list []map[string]any
	if r.status != 200 || !ok || json.Unmarshal([]byte(s), &list) != nil {
		h.t.Fatalf("instance keys: %d %s", r.status, r.body)
	}
	return list
}

func TestAttachIsIdempotentAndDetachTakesTheKeyOff(t *testing.T) {
	h := newHarness(t, quiet)
	id := h.mustCreate(h.rentable(nil).ID, 10, 0)
	if m := h.do("POST", "/api/v0/instances/"+itoa(id)+"/ssh/", keyBody(keyCarol)).json(t); m["success"] != true {
		t.Fatalf("attach: %v", m)
	}
	r := h.do("POST", "/api/v0/instances/"+itoa(id)+"/ssh/", keyBody(keyCarol))
	if m := r.json(t); r.status != 200 || m["success"] != false || !strings.Contains(fmt.Sprint(m["msg"]), "already associated") {
		t.Fatalf("second attach: %d %s", r.status, r.body)
	}
	keys := h.instanceKeys(id)
	if len(keys) != 1 || keys[0]["public_key"] != keyCarol {
		t.Fatalf("keys %v", keys)
	}
	kid := int64(keys[0]["id"].(float64))
	path := fmt.Sprintf("/api/v0/instances/%d/ssh/%d/", id, kid)
	if m := h.do("DELETE", path, nil).json(t); m["success"] != true {
		t.Fatalf("detach: %v", m)
	}
	if r := h.do("DELETE", path, nil); r.status != 404 || r.json(t)["error"] != "no_such_ssh_key" {
		t.Fatalf("second detach: %d %s", r.status, r.body)
	}
	if len(h.instanceKeys(id)) != 0 {
		t.Fatal("key still on the instance")
	}
	// instance_id in the body takes precedence over the path, as on the real API.
	other := h.mustCreate(h.rentable(func(o vastapi.Offer) bool { return o.MachineID != int64(h.show(id)["machine_id"].(float64)) }).ID, 10, 0)
	h.do("POST", "/api/v0/instances/"+itoa(id)+"/ssh/", `{"ssh_key": "`+keyBob+`", "instance_id": `+itoa(other)+`}`)
	if len(h.instanceKeys(id)) != 0 || len(h.instanceKeys(other)) != 1 {
		t.Fatal("instance_id did not take precedence")
	}
}

func TestAttachRefusesWhatIsNotOnePublicKey(t *testing.T) {
	h := newHarness(t, quiet)
	id := h.mustCreate(h.rentable(nil).ID, 10, 0)
	for body, code := range map[string]string{
		`{}`:                                 "no_ssh_key",
		`{"ssh_key": ""}`:                    "no_ssh_key",
		keyBody(keyAlice + `\n` + keyBob):    "invalid_ssh_key",
		keyBody("ssh-ed25519 AAAAnotbase64"): "invalid_ssh_key",
		`{"ssh_key": "-----BEGIN OPENSSH PRIVATE KEY-----"}`: "invalid_ssh_key",
	} {
		r := h.do("POST", "/api/v0/instances/"+itoa(id)+"/ssh/", body)
		if r.status != 400 || r.json(t)["error"] != code {
			t.Errorf("%s: %d %s, want 400 %s", body, r.status, r.body, code)
		}
	}
	if len(h.instanceKeys(id)) != 0 {
		t.Fatal("a refused key was attached")
	}
}

// TestAccountKeysReachInstances: a key added to the account goes to every instance it has and
// to every new one; deleting it from the account leaves it where it already is.
func TestAccountKeysReachInstances(t *testing.T) {
	h := newHarness(t, quiet)
	before := h.mustCreate(h.rentable(nil).ID, 10, 0)
	m := h.do("POST", "/api/v0/ssh/", keyBody(keyAlice)).json(t)
	kid := m["key"].(map[string]any)["id"]
	if r := h.do("POST", "/api/v0/ssh/", keyBody(keyAlice)); r.status != 400 {
		t.Fatalf("the same key twice: %d %s", r.status, r.body)
	}
	after := h.mustCreate(h.rentable(func(o vastapi.Offer) bool { return o.MachineID != int64(h.show(before)["machine_id"].(float64)) }).ID, 10, 0)
	for _, id := range []int64{before, after} {
		keys, err := h.sim.InstanceSSHKeys(id)
		if err != nil || !slices.Equal(keys, []string{keyAlice}) {
			t.Fatalf("instance %d keys %q %v", id, keys, err)
		}
	}
	if m := h.do("DELETE", fmt.Sprintf("/api/v0/ssh/%v/", kid), nil).json(t); m["success"] != true {
		t.Fatalf("delete: %v", m)
	}
	if r := h.do("DELETE", fmt.Sprintf("/api/v0/ssh/%v/", kid), nil); r.status != 400 || r.json(t)["error"] != "no_ssh_key" {
		t.Fatalf("second delete: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/api/v0/ssh/", nil); string(r.body) != "[]" {
		t.Fatalf("account keys after delete: %s", r.body)
	}
	if keys, _ := h.sim.InstanceSSHKeys(after); !slices.Equal(keys, []string{keyAlice}) {
		t.Fatalf("the instance lost the key: %q", keys)
	}
	// Re-adding it to the account reuses the record the instances still hold.
	m = h.do("POST", "/api/v0/ssh/", keyBody(keyAlice)).json(t)
	if m["key"].(map[string]any)["id"] != kid {
		t.Fatalf("re-added key got id %v, want %v", m["key"].(map[string]any)["id"], kid)
	}
}

// TestKeyEndpointsNeedTheirScopes: the real API's route table gives the account's keys to
// user_read/user_write and an instance's to instance_read/instance_write.
func TestKeyEndpointsNeedTheirScopes(t *testing.T) {
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, Keys: map[string][]string{
		"reader": {ScopeUserRead, ScopeInstanceRead}, "writer": {ScopeUserWrite, ScopeInstanceWrite},
	}})
	id := h.mustCreate(h.rentable(nil).ID, 10, 0)
	cases := []struct {
		method, path, body string
		reader, writer     int
	}{
		{"GET", "/api/v0/ssh/", "", 200, 403},
		{"POST", "/api/v0/ssh/", keyBody(keyAlice), 403, 200},
		{"GET", "/api/v0/instances/" + itoa(id) + "/ssh/", "", 200, 403},
		{"POST", "/api/v0/instances/" + itoa(id) + "/ssh/", keyBody(keyBob), 403, 200},
	}
	for _, c := range cases {
		var body any
		if c.body != "" {
			body = c.body
		}
		if r := h.doKey(c.method, c.path, body, "reader"); r.status != c.reader {
			t.Errorf("reader %s %s: %d", c.method, c.path, r.status)
		}
		if r := h.doKey(c.method, c.path, body, "writer"); r.status != c.writer {
			t.Errorf("writer %s %s: %d", c.method, c.path, r.status)
		}
	}
}
