package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
)

func TestVersionAndUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	pio := IO{Stdout: &out, Stderr: &errb}
	if code := Main(context.Background(), pio, []string{"version"}); code != 0 {
		t.Fatalf("version exit %d", code)
	}
	if !strings.HasPrefix(out.String(), "vastwatch ") {
		t.Fatalf("version output %q", out.String())
	}
	if code := Main(context.Background(), pio, []string{"nope"}); code != 2 {
		t.Fatalf("unknown command exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Fatalf("stderr %q", errb.String())
	}
}

// TestHelpAndVersionGoToStdout: --help (and -h, and help COMMAND) of every subcommand and
// --version print on standard output and exit 0; run's flags are double-dash flags.
func TestHelpAndVersionGoToStdout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help", "run"}, {"run", "--help"}, {"run", "-h"}, {"search", "--help"},
		{"plan", "--help"}, {"check", "--help"}, {"sim", "--help"}, {"--version"}} {
		code, out, errs := runMain(t, nil, args...)
		if code != 0 || errs != "" || out == "" {
			t.Errorf("%v: exit %d, stderr %q, %d bytes of stdout", args, code, errs, len(out))
		}
	}
	_, out, _ := runMain(t, nil, "run", "--help")
	for _, want := range []string{"\n      --config.file=FILE ", "--web.listen-address=:9861 ...", "--[no-]web.enable-lifecycle", "--[no-]web.systemd-socket",
		"--web.config.file=FILE", "--log.level=info", "--log.format=logfmt", "($VASTWATCH_API_URL)", "VAST_API_KEY_FILE"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --help lacks %q:\n%s", want, out)
		}
	}
	if regexp.MustCompile(`(?m)^\s+-[a-z][a-z.-]{2,}`).MatchString(out) {
		t.Errorf("run --help lists a single-dash long flag:\n%s", out)
	}
	for _, cmd := range []string{"search", "plan"} {
		if _, out, _ := runMain(t, nil, cmd, "--help"); !strings.Contains(out, "--api.url=https://console.vast.ai") ||
			!strings.Contains(out, "VAST_API_KEY") || !strings.Contains(out, "($VASTWATCH_API_URL)") {
			t.Errorf("%s --help does not name --api.url and the variables it reads:\n%s", cmd, out)
		}
	}
	if _, out, _ := runMain(t, nil, "--version"); !strings.HasPrefix(out, "vastwatch, version ") || !strings.Contains(out, "go version:") {
		t.Errorf("--version printed %q", out)
	}
}

// TestUsageErrorsExitTwo: an unknown flag, a value a flag refuses (named in the message) and a
// bad environment for a command that reads it are usage errors.
func TestUsageErrorsExitTwo(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"run", "--nope"}, "unknown long flag '--nope'"},
		{nil, []string{"run", "--simulate", "--scaler.start-grace", "soon"}, `--scaler.start-grace "soon": time: invalid duration`},
		{nil, []string{"search", "--limit", "many"}, `--limit "many"`},
		{nil, []string{"completion", "fish"}, "bash,zsh"},
		{map[string]string{"VASTWATCH_DRY_RUN": "maybe"}, []string{"check", "--config.file", "../../config.example.yaml"}, `VASTWATCH_DRY_RUN "maybe" is not a boolean`},
	}
	for _, c := range cases {
		code, out, errs := runMain(t, c.env, c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	// Commands that read no VASTWATCH_* variable are not stopped by a bad one.
	if code, out, _ := runMain(t, map[string]string{"VASTWATCH_DRY_RUN": "maybe"}, "version"); code != 0 || out == "" {
		t.Errorf("version with a bad VASTWATCH_DRY_RUN: exit %d", code)
	}
}

// TestFlagThenEnvironmentThenConfigFile: a flag given on the command line wins over its
// variable, which wins over the config file and the default.
func TestFlagThenEnvironmentThenConfigFile(t *testing.T) {
	env := map[string]string{"VASTWATCH_CONFIG_FILE": "/nonexistent/from-env.yaml", "VASTWATCH_DRY_RUN": "true"}
	code, out, errs := runMain(t, env, "check", "--config.file", "../../config.example.yaml")
	if code != 0 || !strings.Contains(out, ", dry run)") {
		t.Fatalf("flag over variable, variable over file: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runMain(t, env, "check"); code != 1 || !strings.Contains(errs, "from-env.yaml") {
		t.Fatalf("variable over default: exit %d %q", code, errs)
	}
	_, out, _ = runMain(t, map[string]string{"VASTWATCH_STATE_DIR": "/srv/vw", "VASTWATCH_WEB_LISTEN_ADDRESS": ":1,:2"}, "run", "--help")
	if !strings.Contains(out, "--state.dir=/srv/vw") || !strings.Contains(out, "--web.listen-address=:1... ") {
		t.Errorf("run --help does not show the environment's values as defaults:\n%s", out)
	}
	// The log format of a daemon that cannot bind its address: JSON from the environment, unless
	// the flag says logfmt.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	args := []string{"run", "--simulate", "--state.dir", t.TempDir(), "--web.listen-address", busy.Addr().String()}
	env = map[string]string{"VASTWATCH_LOG_FORMAT": "json"}
	if code, _, errs := runMain(t, env, args...); code != 1 || !strings.Contains(errs, `"msg":"cannot start"`) && !strings.Contains(errs, `"msg":"daemon stopped"`) {
		t.Errorf("VASTWATCH_LOG_FORMAT=json: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runMain(t, env, append(args, "--log.format", "logfmt")...); code != 1 || !strings.Contains(errs, "msg=\"daemon stopped\"") {
		t.Errorf("--log.format logfmt over VASTWATCH_LOG_FORMAT=json: exit %d, stderr %q", code, errs)
	}
}
