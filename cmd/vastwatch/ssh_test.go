package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

const sshSimKey = "ssh-test-key"

// sshAccount serves a simulated account on loopback, as `vastwatch sim` does, holding three
// running instances of the example config's fleet inference (owner demo), one loading, one of
// another owner and one of nobody's fleet. It returns the URL and the running instances of
// inference by id.
func sshAccount(t *testing.T) (string, []vastapi.Instance) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	sim, err := vastsim.New(vastsim.Options{Seed: 3, Clock: clk, APIKey: sshSimKey, Credit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := vastapi.New(vastapi.Config{BaseURL: srv.URL, Key: vastapi.NewSecret(sshSimKey),
		HTTPClient: srv.Client(), Clock: clk, Pacing: map[string]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rent := func(label string) {
		t.Helper()
		for _, o := range sim.Offers() {
			if _, err := c.CreateInstance(ctx, o.ID, vastapi.CreateRequest{Image: "img", DiskGB: 10, Label: label}); err == nil {
				return
			}
		}
		t.Fatalf("nothing to rent for %s", label)
	}
	for _, l := range []string{"vastwatch:demo:inference:a", "vastwatch:demo:inference:b", "vastwatch:other:inference:c", "notebook", "vastwatch:demo:inference:d"} {
		rent(l)
	}
	clk.Advance(time.Hour)
	rent("vastwatch:demo:inference:e") // still on its way
	var running []vastapi.Instance
	for _, in := range sim.Instances() {
		if strings.HasPrefix(in.Label.Or(""), "vastwatch:demo:inference:") && in.Status() == "running" {
			running = append(running, in)
		}
	}
	slices.SortFunc(running, func(a, b vastapi.Instance) int { return int(a.ID - b.ID) })
	if len(running) != 3 {
		t.Fatalf("%d running instances of inference, want 3", len(running))
	}
	return srv.URL, running
}

// systemSSH is Debian's openssh-client's ssh: a missing one fails the test when CI is set and
// skips it, saying so, elsewhere (scripts/install-e2e-deps.sh installs it).
func systemSSH(t *testing.T) string {
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

// TestSSHConfigIsReadBySSH: ssh-config against a simulated account on loopback prints a Host
// block per running instance of our fleets, and OpenSSH (ssh -G: no sshd, no connection)
// resolves each alias to the instance's endpoint. With --simulate, an account without
// instances, it prints a config ssh accepts too.
func TestSSHConfigIsReadBySSH(t *testing.T) {
	ssh := systemSSH(t)
	url, running := sshAccount(t)
	code, out, errs := runMain(t, map[string]string{"VAST_API_KEY": sshSimKey},
		"ssh-config", "--api.url", url, "--config.file", "../../config.example.yaml")
	if code != 0 || errs != "" {
		t.Fatalf("ssh-config: exit %d, stderr %q", code, errs)
	}
	if n := strings.Count(out, "\nHost "); n != len(running) {
		t.Fatalf("%d Host blocks for %d running instances:\n%s", n, len(running), out)
	}
	file := filepath.Join(t.TempDir(), "vastwatch.conf")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, in := range running {
		e, _ := in.SSH()
		got := sshG(t, ssh, file, "vw-inference-"+strconv.FormatInt(in.ID, 10))
		if got["hostname"] != e.Host || got["port"] != strconv.Itoa(e.Port) || got["user"] != "root" {
			t.Errorf("instance %d: ssh -G says %s@%s:%s, want root@%s", in.ID, got["user"], got["hostname"], got["port"], e.Addr())
		}
	}
	code, out, errs = runMain(t, nil, "ssh-config", "--simulate")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "# vastwatch ssh-config: the running instances of the fleets of owner demo, 0 in all.\n") {
		t.Fatalf("ssh-config --simulate: exit %d, stderr %q\n%s", code, errs, out)
	}
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	sshG(t, ssh, file, "vw-inference-1")
}

// sshG is what `ssh -G -F cfg host` resolves host to, by lower-cased option.
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

// fakeSSH is a directory holding an `ssh` that records its arguments, one a line, and its
// environment into files, and exits 7.
func fakeSSH(t *testing.T) (dir, argvFile, envFile string) {
	t.Helper()
	dir = t.TempDir()
	argvFile, envFile = filepath.Join(dir, "argv"), filepath.Join(dir, "env")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argvFile + "\nenv > " + envFile + "\nexit 7\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, argvFile, envFile
}

// TestSSHRunsTheSystemSSH runs the built binary's ssh against the loopback account with a fake
// ssh on PATH: it execs ssh with the instance's endpoint as root and passes the command
// through; ssh's exit code is the command's; the API key does not reach ssh.
func TestSSHRunsTheSystemSSH(t *testing.T) {
	bin := builtBinary(t)
	url, running := sshAccount(t)
	path, argvFile, envFile := fakeSSH(t)
	run := func(path string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"ssh", "--api.url", url, "--config.file", "../../config.example.yaml"}, args...)...)
		cmd.Env = []string{"PATH=" + path, "VAST_API_KEY=" + sshSimKey, "HOME=" + t.TempDir()}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String(), errb.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out.String(), errb.String()
	}
	want := func(in vastapi.Instance, remote ...string) []string {
		e, _ := in.SSH()
		alias := "vw-inference-" + strconv.FormatInt(in.ID, 10)
		return append([]string{"-p", strconv.Itoa(e.Port), "-l", "root", "-o", "HostKeyAlias=" + alias, "-o", "StrictHostKeyChecking=accept-new",
			"-o", "ServerAliveInterval=30", "-o", "ServerAliveCountMax=4", "--", e.Host}, remote...)
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"the first instance", []string{"inference"}, want(running[0])},
		{"by index, with a command", []string{"inference", "2", "--", "nvidia-smi", "-L"}, want(running[2], "nvidia-smi", "-L")},
		{"by id", []string{"inference", strconv.FormatInt(running[1].ID, 10), "--", "ls", "-la", "/workspace"}, want(running[1], "ls", "-la", "/workspace")},
		{"a command and no instance", []string{"inference", "--", "uptime"}, want(running[0], "uptime")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(argvFile)
			code, _, errs := run(path, tc.args...)
			b, err := os.ReadFile(argvFile)
			if code != 7 || err != nil {
				t.Fatalf("exit %d (want ssh's 7), %v, stderr %q", code, err, errs)
			}
			if got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); !slices.Equal(got, tc.want) {
				t.Errorf("ssh got\n%q\nwant\n%q", got, tc.want)
			}
			if env, _ := os.ReadFile(envFile); strings.Contains(string(env), sshSimKey) {
				t.Errorf("the API key reached ssh's environment:\n%s", env)
			}
		})
	}
	t.Run("no ssh on PATH", func(t *testing.T) {
		code, _, errs := run(t.TempDir(), "inference")
		if code != 1 || !strings.Contains(errs, "vastwatch ssh: no ssh on PATH: install an OpenSSH client") {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
	})
	t.Run("an index past the end", func(t *testing.T) {
		code, _, errs := run(path, "inference", "3")
		if code != 1 || !strings.Contains(errs, "fleet inference has no instance with id 3, and its 3 running instances are indexed 0 to 2") {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
	})
}

// TestSSHUsage: the command line's problems are usage errors, found before the network.
func TestSSHUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ssh"}, "required argument 'fleet' not provided"},
		{[]string{"ssh", "--simulate", "inference", "0", "ls"}, `unexpected "ls"; put the command to run after --`},
		{[]string{"ssh", "--simulate", "inference", "--"}, "nothing after --"},
		{[]string{"ssh", "--simulate", "--", "ls"}, "the fleet is required"},
		{[]string{"ssh-config"}, "--config.file is required"},
	}
	for _, tc := range cases {
		code, _, errs := runMain(t, nil, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
	code, _, errs := runMain(t, nil, "ssh", "--simulate", "nope")
	if code != 1 || !strings.Contains(errs, `vastwatch ssh: no fleet "nope": it is not in the config and no instance carries its label (fleets: inference)`) {
		t.Errorf("unknown fleet: exit %d, stderr %q", code, errs)
	}
}
