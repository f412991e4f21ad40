package policy

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testKey is a well-formed ssh-ed25519 public key line, different for each i.
func testKey(i int, comment string) string {
	blob := binary.BigEndian.AppendUint32(nil, uint32(len("ssh-ed25519")))
	blob = append(blob, "ssh-ed25519"...)
	blob = binary.BigEndian.AppendUint32(blob, 32)
	blob = append(blob, []byte(fmt.Sprintf("%032d", i))...)
	return strings.TrimSpace("ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " " + comment)
}

// A key ssh-keygen made, as a .pub file holds it.
const opsKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAuw+ULMZAmvB5Hs9y5dyqK926OLGufY9yXTOFxxOVpg ops@laptop"

// sshKeyAllowed ends the messages about an ssh_keys item.
const sshKeyAllowed = `allowed: an OpenSSH public key line such as "ssh-ed25519 AAAAC3Nza... you@laptop" (a .pub file's content), or {file: PATH} of a file holding such lines`

// withTopKeys is base with the top-level ssh_keys lines (items of the list) from line 3 on.
func withTopKeys(lines ...string) string {
	return strings.Replace(base, "owner: t\n", "owner: t\nssh_keys:\n"+strings.Join(lines, "\n")+"\n", 1)
}

// manyKeys lists n distinct keys as list items, testKey(from) first.
func manyKeys(from, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - %s\n", testKey(from+i, ""))
	}
	return b.String()
}

// problems parses yml (anchored at dir) and returns its problems, one a line.
func problems(t *testing.T, yml, dir string) string {
	t.Helper()
	cfg, err := Parse([]byte(yml), filepath.Join(dir, "vastwatch.yaml"), noEnv)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %v (config %+v)", err, cfg)
	}
	return ve.Error()
}

func TestSSHKeysLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("team.pub", "# the training team\n\n"+testKey(1, "ana@team")+"\n  "+testKey(2, "bo@team")+"  \n")
	yml := strings.Replace(base, "owner: t\n", "owner: t\nssh_keys:\n  - "+opsKey+"\n  - {file: team.pub}\n", 1) +
		"    ssh_keys: [\"" + testKey(3, "") + "\"]\n"
	cfg, err := Parse([]byte(yml), filepath.Join(dir, "vastwatch.yaml"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	top := []string{opsKey, testKey(1, "ana@team"), testKey(2, "bo@team")}
	if !slices.Equal(cfg.SSHKeys, top) {
		t.Errorf("top-level keys %q, want %q", cfg.SSHKeys, top)
	}
	if want := append(top, testKey(3, "")); !slices.Equal(cfg.Fleets[0].SSHKeys, want) {
		t.Errorf("the fleet's keys %q, want the top-level ones then its own %q", cfg.Fleets[0].SSHKeys, want)
	}
	cfg, err = Parse([]byte(base), "", noEnv)
	if err != nil || cfg.SSHKeys != nil || cfg.Fleets[0].SSHKeys != nil {
		t.Fatalf("without ssh_keys: %v, %q, %q", err, cfg.SSHKeys, cfg.Fleets[0].SSHKeys)
	}
}

func TestSSHKeyFilesBad(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mixed.pub"), []byte(testKey(1, "ok")+"\nssh-ed25519 AAAA!!!!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.pub"), []byte("# nobody yet\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const fileRule = "allowed: a readable file of OpenSSH public keys, one a line (an absolute path, or one relative to the config file)"
	cases := []struct{ name, yaml, want string }{
		{"a missing file", withTopKeys("  - {file: /nonexistent/id.pub}"),
			`ssh_keys[0].file (line 3): file "/nonexistent/id.pub" cannot be read (no such file or directory); ` + fileRule},
		{"a home-relative file", withTopKeys("  - {file: ~/.ssh/id_ed25519.pub}"),
			`ssh_keys[0].file (line 3): "~/.ssh/id_ed25519.pub" starts with ~, which is not expanded; ` + fileRule},
		{"a bad line in a file", withTopKeys("  - {file: mixed.pub}"),
			`ssh_keys[0].file (line 3): line 2 of "mixed.pub": ssh public key's base64 part does not decode; ` + fileRule},
		{"a file without keys", withTopKeys("  - {file: empty.pub}"), `ssh_keys[0].file (line 3): file "empty.pub" holds no key; ` + fileRule},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := problems(t, tc.yaml, dir); got != tc.want {
				t.Fatalf("problems\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}
