package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// builtBinary builds vastwatch stamped as a release is, into a temporary directory.
func builtBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "vastwatch")
	const v = "github.com/prometheus/common/version."
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "-ldflags",
		"-X "+v+"Version=9.8.7-test -X "+v+"Revision=abc1234 -X "+v+"Branch=release-9", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runBinary runs the binary with a clean environment and returns its exit code and output.
func runBinary(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// TestTheBuiltBinary: --version, run --help, the completion scripts and the man page work from
// the built binary, as a user meets them.
func TestTheBuiltBinary(t *testing.T) {
	bin := builtBinary(t)
	t.Run("--version and version", func(t *testing.T) {
		code, out, _ := runBinary(t, bin, "--version")
		if code != 0 || !strings.HasPrefix(out, "vastwatch, version 9.8.7-test (branch: release-9, revision: abc1234)\n") {
			t.Errorf("--version: exit %d\n%s", code, out)
		}
		if code, out, _ = runBinary(t, bin, "version"); code != 0 || !strings.HasPrefix(out, "vastwatch 9.8.7-test (branch: release-9, revision: abc1234, go") {
			t.Errorf("version: exit %d %q", code, out)
		}
	})
	t.Run("run --help", func(t *testing.T) {
		code, out, errs := runBinary(t, bin, "run", "--help")
		if code != 0 || errs != "" || !strings.Contains(out, "--web.listen-address=:9861 ...") || !strings.Contains(out, "--[no-]web.enable-lifecycle") {
			t.Errorf("run --help: exit %d, stderr %q\n%s", code, errs, out)
		}
	})
	t.Run("bash completion", func(t *testing.T) {
		_, script, _ := runBinary(t, bin, "completion", "bash")
		complete := func(words ...string) string {
			sh := script + "\nCOMP_WORDS=(" + strings.Join(words, " ") + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) +
				"\n_vastwatch_bash_autocomplete\necho \"${COMPREPLY[*]}\"\n"
			cmd := exec.Command("bash", "--norc", "--noprofile", "-s")
			cmd.Env = []string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH")}
			cmd.Stdin = strings.NewReader(sh)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			return strings.TrimSpace(string(out))
		}
		if got := complete("vastwatch", "ru"); got != "run" {
			t.Errorf("vastwatch ru<TAB> completes to %q, want run", got)
		}
		if got := complete("vastwatch", "run", "--web.enable-l"); got != "--web.enable-lifecycle" {
			t.Errorf("vastwatch run --web.enable-l<TAB> completes to %q", got)
		}
		if got := complete("vastwatch", "search", "--out"); got != "--output" {
			t.Errorf("vastwatch search --out<TAB> completes to %q", got)
		}
		if got := complete("vastwatch", "search", "--output", "j"); got != "json" {
			t.Errorf("vastwatch search --output j<TAB> completes to %q", got)
		}
	})
	t.Run("zsh completion", func(t *testing.T) {
		code, script, _ := runBinary(t, bin, "completion", "zsh")
		if code != 0 || !strings.HasPrefix(script, "#compdef vastwatch\n") || !strings.Contains(script, "--completion-bash") {
			t.Fatalf("completion zsh: exit %d\n%s", code, script)
		}
		zsh, err := exec.LookPath("zsh")
		if err != nil {
			t.Skip("no zsh to check the script's syntax with")
		}
		cmd := exec.Command(zsh, "-n")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v\n%s", err, out)
		}
	})
	t.Run("man page", func(t *testing.T) {
		code, page, _ := runBinary(t, bin, "man")
		if code != 0 || !strings.HasPrefix(page, `.TH vastwatch 1 "" "vastwatch 9.8.7-test" "vastwatch manual"`+"\n") {
			t.Fatalf("man: exit %d\n%.300s", code, page)
		}
		for _, want := range []string{"vastwatch \\- ", `\fB--web.listen-address=:9861\fR`, `\fBsearch [<flags>] [<query>...]\fR`, `.SH "ENVIRONMENT"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the man page lacks %q", want)
			}
		}
		groff, err := exec.LookPath("groff")
		if err != nil {
			t.Skip("no groff to render the page with")
		}
		cmd := exec.Command(groff, "-man", "-ww", "-Tutf8", "-P-cbou")
		cmd.Stdin = strings.NewReader(page)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil || errb.Len() > 0 || !strings.Contains(out.String(), "web.enable-lifecycle") {
			t.Errorf("groff: %v, warnings %q, %d bytes", err, errb.String(), out.Len())
		}
	})
}
