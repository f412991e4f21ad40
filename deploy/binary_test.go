package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cleanEnv is the environment without vastwatch's own settings, so a developer's VAST_API_KEY
// or VASTWATCH_* cannot change what the binary checks.
func cleanEnv() []string {
	var out []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "VAST_") && !strings.HasPrefix(e, "VASTWATCH_") {
			out = append(out, e)
		}
	}
	return out
}

// TestRunFlagsExistInTheBinary ties runFlags, which the manifests, the unit and the compose
// file are checked against, to the flags `vastwatch run` really has.
func TestRunFlagsExistInTheBinary(t *testing.T) {
	bin := vastwatchBinary(t)
	cmd := exec.Command(bin, "run", "-h")
	cmd.Env = cleanEnv()
	out, _ := cmd.CombinedOutput()
	have := map[string]bool{}
	// kingpin's help: "  -h, --[no-]help", "      --config.file=FILE"; continuation lines are indented further.
	for _, m := range regexp.MustCompile(`(?m)^  (?:-\w, |    )--(?:\[no-\])?([A-Za-z0-9][A-Za-z0-9._-]*)`).FindAllStringSubmatch(string(out), -1) {
		have[m[1]] = true
	}
	if len(have) < 5 {
		t.Fatalf("vastwatch run -h listed %d flags:\n%s", len(have), out)
	}
	for name := range runFlags {
		if !have[name] {
			t.Errorf("deployments may pass --%s, but vastwatch run has no such flag", name)
		}
	}
}

// TestConfigMapConfigPassesCheck runs `vastwatch check` on the config the Kubernetes
// ConfigMap ships: the same validation `run` does at start.
func TestConfigMapConfigPassesCheck(t *testing.T) {
	bin := vastwatchBinary(t)
	m := loadManifests(t)
	if len(m.configMap.Data) == 0 {
		t.Fatal("the ConfigMap holds no config")
	}
	for key, body := range m.configMap.Data {
		f := filepath.Join(t.TempDir(), key)
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "check", "--config.file", f)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("vastwatch check on ConfigMap key %s: %v\n%s", key, err, out)
		}
	}
}
