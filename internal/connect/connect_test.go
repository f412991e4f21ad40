package connect_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/connect"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// instance is a listed instance: label, status, and either a direct port or the proxy.
func instance(id int64, label, status string, direct string) vastapi.Instance {
	in := vastapi.Instance{ID: id, Label: vastapi.Some(label), SSHHost: "ssh4.vast.ai", SSHPort: 20000 + int(id%1000)}
	if status != "" {
		in.ActualStatus = vastapi.Some(status)
	}
	if direct != "" {
		in.PublicIPAddr = "203.0.113.7"
		in.Ports = map[string][]vastapi.PortBinding{"22/tcp": {{HostIP: "0.0.0.0", HostPort: direct}}}
	}
	return in
}

// account is an instance list with ours, others' and a hostile label among them.
func account() []vastapi.Instance {
	unreachable := instance(1009, "vastwatch:demo:inference:n9", "running", "")
	unreachable.SSHHost = ""
	return []vastapi.Instance{
		instance(1005, "vastwatch:demo:inference:n5", "running", "41005"),
		instance(1001, "vastwatch:demo:inference:n1", "running", ""),
		instance(1002, "vastwatch:demo:inference:n2", "loading", ""),
		instance(1003, "vastwatch:demo:training:n3", "running", "41003"),
		instance(1004, "vastwatch:other:inference:n4", "running", "41004"),
		instance(1006, "my notebook", "running", "41006"),
		instance(1007, "vastwatch:demo:evil\n  ProxyCommand touch /tmp/pwned:n7", "running", "41007"),
		instance(1008, "vastwatch:demo:training:n8", "stopped", ""),
		unreachable,
	}
}

func TestRunningPicksOurRunningInstancesByFleetAndID(t *testing.T) {
	got, unreachable := connect.Running(account(), "demo")
	want := []connect.Target{
		{Fleet: "inference", ID: 1001, Index: 0, SSH: vastapi.SSHEndpoint{Host: "ssh4.vast.ai", Port: 20001}},
		{Fleet: "inference", ID: 1005, Index: 1, SSH: vastapi.SSHEndpoint{Host: "203.0.113.7", Port: 41005, Direct: true}},
		{Fleet: "training", ID: 1003, Index: 0, SSH: vastapi.SSHEndpoint{Host: "203.0.113.7", Port: 41003, Direct: true}},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Running:\n got %+v\nwant %+v", got, want)
	}
	if len(unreachable) != 1 || unreachable[0].ID != 1009 {
		t.Fatalf("unreachable %+v", unreachable)
	}
	if got, _ := connect.Running(account(), ""); len(got) != 0 {
		t.Fatalf("without an owner nothing is ours: %+v", got)
	}
}

func TestPick(t *testing.T) {
	cfg := &policy.Config{Owner: "demo", Fleets: []*policy.Fleet{{Name: "inference"}, {Name: "training"}, {Name: "idle"}}}
	cases := []struct {
		name, fleet, sel string
		wantID           int64
		wantErr          string
	}{
		{"no selector is index 0", "inference", "", 1001, ""},
		{"an index", "inference", "1", 1005, ""},
		{"an id", "inference", "1005", 1005, ""},
		{"an id of another fleet is no index", "inference", "1003",
			0, "fleet inference has no instance with id 1003, and its 2 running instances are indexed 0 to 1: 0 = 1001, 1 = 1005"},
		{"an index past the end", "training", "1",
			0, "fleet training has no instance with id 1, and its 1 running instance are indexed 0 to 0: 0 = 1003"},
		{"an instance that is not running", "inference", "1002", 0, "instance 1002 of fleet inference is loading, not running"},
		{"a running instance without an endpoint", "inference", "1009",
			0, "instance 1009 of fleet inference runs but has no usable ssh endpoint (neither a public address with 22/tcp mapped nor Vast's ssh proxy)"},
		{"not a number", "inference", "first",
			0, `"first" is neither an instance id nor an index; allowed: an instance id of fleet inference or an index from 0 (vastwatch ssh-config lists them)`},
		{"a negative number", "inference", "-1",
			0, `"-1" is neither an instance id nor an index; allowed: an instance id of fleet inference or an index from 0 (vastwatch ssh-config lists them)`},
		{"a configured fleet without instances", "idle", "", 0, "fleet idle has no running instance to ssh to"},
		{"a fleet with only stopped instances", "training", "1008", 0, "instance 1008 of fleet training is stopped, not running"},
		{"an unknown fleet", "nope", "", 0, `no fleet "nope": it is not in the config and no instance carries its label (fleets: inference, training, idle)`},
		{"another owner's fleet is unknown", "other", "", 0, `no fleet "other": it is not in the config and no instance carries its label (fleets: inference, training, idle)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := connect.Pick(account(), cfg, tc.fleet, tc.sel)
			switch {
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("error %v\nwant %s", err, tc.wantErr)
			case tc.wantErr == "" && (err != nil || got.ID != tc.wantID):
				t.Fatalf("picked %+v, %v; want %d", got, err, tc.wantID)
			}
		})
	}
	// A fleet that left the config is still reachable while its instances run.
	ins := []vastapi.Instance{instance(7, "vastwatch:demo:retired:n", "running", "41007")}
	if got, err := connect.Pick(ins, cfg, "retired", ""); err != nil || got.ID != 7 {
		t.Fatalf("orphan: %+v, %v", got, err)
	}
	// Stopped and loading only: the error lists them.
	ins = []vastapi.Instance{instance(8, "vastwatch:demo:batch:n", "stopped", ""), instance(9, "vastwatch:demo:batch:m", "", "")}
	if _, err := connect.Pick(ins, &policy.Config{Owner: "demo"}, "batch", ""); err == nil || err.Error() != "fleet batch has no running instance to ssh to (listed: 8 stopped, 9 provisioning)" {
		t.Fatalf("error %v", err)
	}
}

// TestParseArgs gives ParseArgs what kingpin makes of each command line: after "--" every
// argument is positional, so the instance argument then holds the command's first word.
func TestParseArgs(t *testing.T) {
	cases := []struct {
		name       string
		args       []string // the raw command line after "ssh"
		fleet, sel string   // what kingpin put in the fleet and instance arguments
		rest       []string // and in the command argument
		want       connect.Request
		wantErr    string
	}{
		{"fleet", []string{"f"}, "f", "", nil, connect.Request{Fleet: "f"}, ""},
		{"fleet and index", []string{"f", "2"}, "f", "2", nil, connect.Request{Fleet: "f", Instance: "2"}, ""},
		{"fleet and command", []string{"f", "--", "nvidia-smi", "-L"}, "f", "nvidia-smi", []string{"-L"},
			connect.Request{Fleet: "f", Remote: []string{"nvidia-smi", "-L"}}, ""},
		{"fleet, id and command", []string{"--simulate", "f", "123", "--", "ls", "-la", "/"}, "f", "123", []string{"ls", "-la", "/"},
			connect.Request{Fleet: "f", Instance: "123", Remote: []string{"ls", "-la", "/"}}, ""},
		{"a command that looks like a flag", []string{"f", "--", "--help"}, "f", "--help", nil,
			connect.Request{Fleet: "f", Remote: []string{"--help"}}, ""},
		{"nothing after --", []string{"f", "--"}, "f", "", nil, connect.Request{}, "nothing after --; allowed: the command to run on the instance, e.g. -- nvidia-smi"},
		{"a command without --", []string{"f", "1", "ls"}, "f", "1", []string{"ls"}, connect.Request{},
			`unexpected "ls"; put the command to run after --: vastwatch ssh FLEET [ID|INDEX] -- COMMAND...`},
		{"no fleet", []string{"--", "ls"}, "ls", "", nil, connect.Request{}, "the fleet is required: vastwatch ssh FLEET [ID|INDEX] [-- COMMAND...]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := connect.ParseArgs(tc.fleet, tc.sel, tc.rest, append([]string{"ssh"}, tc.args...))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.Fleet != tc.want.Fleet || got.Instance != tc.want.Instance || !slices.Equal(got.Remote, tc.want.Remote) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestCommand(t *testing.T) {
	tg := connect.Target{Fleet: "inference", ID: 1005, SSH: vastapi.SSHEndpoint{Host: "203.0.113.7", Port: 41005, Direct: true}}
	got := connect.Command(tg, []string{"nvidia-smi", "-L"})
	want := []string{"ssh", "-p", "41005", "-l", "root", "-o", "HostKeyAlias=vw-inference-1005", "-o", "StrictHostKeyChecking=accept-new",
		"-o", "ServerAliveInterval=30", "-o", "ServerAliveCountMax=4", "--", "203.0.113.7", "nvidia-smi", "-L"}
	if !slices.Equal(got, want) {
		t.Fatalf("Command:\n got %q\nwant %q", got, want)
	}
}

// sshClient is the system ssh. A missing one fails the test when CI is set (CI installs
// Debian's openssh-client through scripts/install-e2e-deps.sh) and skips it, saying so,
// elsewhere.
func sshClient(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("ssh not found and CI is set: install Debian's openssh-client (make deps-e2e)")
	}
	t.Skipf("ssh not found; install Debian's openssh-client to run this test (it fails instead when CI is set)")
	return ""
}

// sshG is what `ssh -G` makes of host under the config file cfg: its settings, lower-cased
// keys, as OpenSSH resolved them. It reads nothing else and connects nowhere.
func sshG(t *testing.T, ssh, cfg, host string) map[string]string {
	t.Helper()
	cmd := exec.Command(ssh, "-G", "-F", cfg, host)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ssh -G -F %s %s: %v\n%s", cfg, host, err, errb.String())
	}
	got := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			got[k] = v
		}
	}
	return got
}

// TestGeneratedConfigIsReadBySSH: OpenSSH itself reads the generated file (ssh -G, no sshd,
// no network) and resolves every alias to the instance's endpoint; a config that includes it
// from the top keeps its own settings for other hosts.
func TestGeneratedConfigIsReadBySSH(t *testing.T) {
	ssh := sshClient(t)
	targets, _ := connect.Running(account(), "demo")
	var buf bytes.Buffer
	if err := connect.WriteConfig(&buf, "demo", account()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "ProxyCommand") {
		t.Fatalf("a label's text reached the config:\n%s", buf.String())
	}
	dir := t.TempDir()
	gen := filepath.Join(dir, "vastwatch.conf")
	if err := os.WriteFile(gen, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "config")
	if err := os.WriteFile(main, []byte("Include "+gen+"\nHost elsewhere\n  User alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []string{gen, main} {
		for _, tg := range targets {
			got := sshG(t, ssh, cfg, tg.Alias())
			want := map[string]string{"hostname": tg.SSH.Host, "port": strconv.Itoa(tg.SSH.Port), "user": "root",
				"hostkeyalias": tg.Alias(), "stricthostkeychecking": "accept-new", "serveraliveinterval": "30", "serveralivecountmax": "4"}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s, %s: %s %q, want %q", filepath.Base(cfg), tg.Alias(), k, got[k], v)
				}
			}
		}
	}
	if got := sshG(t, ssh, main, "elsewhere"); got["user"] != "alice" || got["hostname"] != "elsewhere" || got["port"] != "22" {
		t.Errorf("the including config's own hosts changed: %v", got)
	}
	if n := strings.Count(buf.String(), "\nHost "); n != len(targets) || len(targets) != 3 {
		t.Errorf("%d Host blocks for %d targets:\n%s", n, len(targets), buf.String())
	}
}

func TestSSHEnvDropsTheAPIKey(t *testing.T) {
	got := connect.SSHEnv([]string{"PATH=/bin", "VAST_API_KEY=secret", "VAST_API_KEY_FILE=/k", "VAST_API_KEYS=x", "HOME=/root"})
	if want := []string{"PATH=/bin", "VAST_API_KEYS=x", "HOME=/root"}; !slices.Equal(got, want) {
		t.Fatalf("SSHEnv = %q, want %q", got, want)
	}
}
