package vastapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

const (
	edKey  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINGgb6TGC8ABMQwsLHe1TDq7gF4MrAEh7gC4vVDSGdaS alice@laptop"
	ecdKey = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIH/FDC0pbabYefo6c6w9Su0+TIwLFkwkRTWHPYOopc+88BaCFF2EmbnOdVsu5wjGqtT+4XOXMSZoFUmkgtU6Fw= bob@ci"
)

func TestParsePublicKey(t *testing.T) {
	for _, ok := range []string{edKey, ecdKey, "  " + edKey + "\n", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINGgb6TGC8ABMQwsLHe1TDq7gF4MrAEh7gC4vVDSGdaS"} {
		got, err := vastapi.ParsePublicKey(ok)
		if err != nil || got != strings.TrimSpace(ok) {
			t.Errorf("ParsePublicKey(%q) = %q, %v", ok, got, err)
		}
	}
	for name, bad := range map[string]string{
		"empty":             "  ",
		"private":           "-----BEGIN OPENSSH PRIVATE KEY-----",
		"two lines":         edKey + "\n" + ecdKey,
		"a carriage return": edKey + "\rssh-rsa AAAA",
		"no blob":           "ssh-ed25519",
		"unknown type":      "ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAINGgb6TGC8ABMQwsLHe1TDq7gF4MrAEh7gC4vVDSGdaS",
		"bad base64":        "ssh-ed25519 AAAA!!!!",
		"type mismatch":     "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAINGgb6TGC8ABMQwsLHe1TDq7gF4MrAEh7gC4vVDSGdaS x",
		"truncated blob":    "ssh-ed25519 AAAA",
		"too long":          "ssh-ed25519 " + strings.Repeat("A", vastapi.MaxPublicKeyLen),
	} {
		if _, err := vastapi.ParsePublicKey(bad); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "AAAAC3") {
			t.Errorf("%s: the error repeats the key: %v", name, err)
		}
	}
}

// TestAttachSSHKeySendsWhatTheCLISends: the request is the CLI's attach__ssh (POST
// /api/v0/instances/{id}/ssh/ {"ssh_key": KEY}); "already associated" is success; a 404
// no_such_instance is IsGone; a bad key never leaves.
func TestAttachSSHKeySendsWhatTheCLISends(t *testing.T) {
	already := false
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/v0/instances/9/"):
			writeJSON(w, 404, `{"success": false, "error": "no_such_instance", "msg": "Instance 9 not found."}`)
		case already:
			writeJSON(w, 200, `{"success": false, "msg": "SSH key already associated with instance."}`)
		default:
			writeJSON(w, 200, `{"success": true, "msg": "SSH key added to instance.", "key": "{}"}`)
		}
	})
	c := newClient(t, srv.URL)
	ctx := context.Background()
	if err := c.AttachSSHKey(ctx, 7, edKey+"\n"); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()[0]
	if r.Method != "POST" || r.Path != "/api/v0/instances/7/ssh/" || r.Header.Get("Authorization") != "Bearer "+testKey {
		t.Fatalf("request %s %s", r.Method, r.Path)
	}
	jsonEqual(t, r.Body, `{"ssh_key": "`+edKey+`"}`)
	already = true
	if err := c.AttachSSHKey(ctx, 7, edKey); err != nil {
		t.Fatalf("a key the instance already has: %v", err)
	}
	if err := c.AttachSSHKey(ctx, 9, edKey); !vastapi.IsGone(err) {
		t.Fatalf("attach to a gone instance: %v, want IsGone", err)
	}
	n := len(srv.requests())
	for _, bad := range []struct {
		id  int64
		key string
	}{{0, edKey}, {7, edKey + "\nssh-ed25519 AAAA"}, {7, ""}} {
		if err := c.AttachSSHKey(ctx, bad.id, bad.key); err == nil {
			t.Fatalf("attach %d %q: no error", bad.id, bad.key)
		}
	}
	if len(srv.requests()) != n {
		t.Fatal("a refused attach was sent")
	}
	if d := c.clock.Now().Sub(epoch); d < 2*vastapi.DefaultPacing["POST "+vastapi.EPAttachSSHKey] || vastapi.DefaultPacing["POST "+vastapi.EPAttachSSHKey] != 2*time.Second {
		t.Fatalf("3 attaches took %s on the clock: not paced at the published 2 s", d)
	}
}

func TestClientAgainstSimAttachSSHKey(t *testing.T) {
	e := newSimEnv(t, nil, simKey)
	ctx := context.Background()
	o := e.rentable(t, nil)
	res, err := e.c.CreateInstance(ctx, o.ID, onDemand("vastwatch:test:web:1"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second is a retry of an attach that was applied
		if err := e.c.AttachSSHKey(ctx, res.InstanceID, ecdKey); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := e.sim.InstanceSSHKeys(res.InstanceID)
	if err != nil || len(keys) != 1 || keys[0] != ecdKey {
		t.Fatalf("instance keys %q, %v", keys, err)
	}
	if err := e.c.DestroyInstance(ctx, res.InstanceID); err != nil {
		t.Fatal(err)
	}
	if err := e.c.AttachSSHKey(ctx, res.InstanceID, ecdKey); !vastapi.IsGone(err) {
		t.Fatalf("attach to a destroyed instance: %v, want IsGone", err)
	}
	if _, err := e.sim.InstanceSSHKeys(res.InstanceID); !errors.Is(err, vastsim.ErrNotFound) {
		t.Fatalf("keys of a destroyed instance: %v", err)
	}
}
