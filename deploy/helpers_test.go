package deploy_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"sigs.k8s.io/yaml"
)

// scratchDir holds files shared by the tests of one run (the binary built from the Dockerfile).
var scratchDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "vastwatch-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scratchDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var update = flag.Bool("update", false, "rewrite generated files (deploy/kubernetes/prometheusrule.yaml)")

// decodeStrict decodes one YAML (or JSON) document into v the way the API server does: YAML to
// JSON, then a JSON decoder that rejects fields v does not have. A second document is an error.
func decodeStrict(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return decodeStrictBytes(b, v)
}

func decodeStrictBytes(b []byte, v any) error {
	if bytes.Contains(b, []byte("\n---")) || bytes.HasPrefix(b, []byte("---")) {
		return fmt.Errorf("holds more than one YAML document; keep one object per file")
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the document")
	}
	return nil
}

// needTool returns the path of an external tool the test runs. Without it the test fails when
// CI is set (CI must never skip silently) and is skipped otherwise.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found and CI is set: install it (apt-get install -y %s, or make deps-e2e)", name, pkg)
	}
	t.Skipf("%s not found; install Debian's %s package to run this test (it fails instead when CI is set)", name, pkg)
	return ""
}

// run runs a command and fails the test with its output when it exits non-zero.
func run(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
