package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), IO{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}, args)
	return code, out.String(), errb.String()
}

func TestCheckAcceptsTheExampleConfig(t *testing.T) {
	code, out, errs := runMain(t, nil, "check", "--config.file", "../../config.example.yaml", "--at", "2026-12-01T12:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, want := range []string{
		"../../config.example.yaml: OK (2 markets, 1 fleet",
		"rtx4090", "datacenter-big",
		"inference  rtx4090  1/2/4           3           2 at 2026-12-01T19:00:00Z",
		"searches per poll: 2 distinct (of 2 markets), 12s at one search every 6s; fits the poll interval 15s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "warning:") {
		t.Errorf("the example config has warnings:\n%s", out)
	}
}

func TestCheckReportsEveryProblemAndExitsOne(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "owner: X\nmarkets:\n  - name: m\n    query: \"num_gpus>any\"\n    typo: 1\n"
	if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain(t, nil, "check", "--config.file", p)
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	want := p + ": 3 problems:\n" +
		"  owner (line 1): \"X\" is not a valid owner tag; allowed: 1-32 characters of a-z, 0-9 and -, starting and ending with a letter or digit\n" +
		"  markets[0].query (line 4): Wildcard only makes sense with equals; allowed: the vast CLI search offers syntax, e.g. \"gpu_name=RTX_4090 num_gpus>=1\"\n" +
		"  markets[0].typo (line 5): unknown field \"typo\" (did you mean \"type\"?); allowed: name, query, type, order, limit, storage_gb, no_defaults, group_by\n"
	if errs != want {
		t.Fatalf("stderr\n%s\nwant\n%s", errs, want)
	}
}

func TestCheckUsage(t *testing.T) {
	if code, _, errs := runMain(t, nil, "check"); code != 2 || !strings.Contains(errs, "--config.file is required") {
		t.Fatalf("no file: exit %d %q", code, errs)
	}
	if code, _, _ := runMain(t, nil, "check", "--config.file", "/nonexistent/x.yaml"); code != 1 {
		t.Fatalf("missing file: exit %d", code)
	}
	code, out, _ := runMain(t, map[string]string{"VASTWATCH_CONFIG_FILE": "../../config.example.yaml", "VASTWATCH_DRY_RUN": "true"}, "check")
	if code != 0 || !strings.Contains(out, ", dry run)") {
		t.Fatalf("file from the environment, dry run override: exit %d\n%s", code, out)
	}
}

func TestCheckPrintsWarningsButExitsZero(t *testing.T) {
	p := filepath.Join(t.TempDir(), "busy.yaml")
	yml := "poll_interval: 5s\nmarkets:\n  - {name: a, query: \"num_gpus=1\"}\n  - {name: b, query: \"num_gpus=2\"}\n"
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain(t, nil, "check", "--config.file", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"warning: poll_interval (line 1): 2 distinct searches need 12s per poll",
		"searches per poll: 2 distinct (of 2 markets), 12s at one search every 6s; does NOT fit the poll interval 5s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The README's autoscaling examples are configs `check` accepts without a warning.
func TestReadmeAutoscalingExamplesAreValid(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	i := strings.Index(section, "## Scaling on load and on price")
	if i < 0 {
		t.Fatal("README has no section on scaling on load and on price")
	}
	section = section[i:]
	var blocks []string
	for _, part := range strings.Split(section, "```yaml\n")[1:] {
		blocks = append(blocks, part[:strings.Index(part, "```")])
	}
	if len(blocks) != 3 {
		t.Fatalf("%d yaml blocks in the section, want prometheus.yml, the serving fleet and the batch fleet", len(blocks))
	}
	cfg := "owner: demo\nmarkets:\n  - {name: rtx4090, query: \"gpu_name=RTX_4090 num_gpus=1\"}\n" +
		"  - {name: rtx4090-bid, query: \"gpu_name=RTX_4090 num_gpus=1\", type: bid}\n" +
		strings.TrimPrefix(blocks[1], "# vastwatch's config\n") + blocks[2]
	p := filepath.Join(t.TempDir(), "readme.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain(t, nil, "check", "--config.file", p)
	if code != 0 || strings.Contains(out, "warning:") || !strings.Contains(out, "auto, floor") {
		t.Fatalf("exit %d\n%s%s\n---\n%s", code, out, errs, cfg)
	}
}

// `check` warns about a value that holds an operator, and still accepts the file.
func TestCheckWarnsAboutAnOperatorInsideAValue(t *testing.T) {
	p := filepath.Join(t.TempDir(), "typo.yaml")
	yml := "markets:\n  - {name: a, query: \"gpu_name= num_gpus>>2\"}\n"
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain(t, nil, "check", "--config.file", p)
	if code != 0 || !strings.Contains(out, "warning: markets[0].query (line 2): the value of gpu_name, 'num_gpus>>2', holds an operator (>)") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

// The example config's ssh_keys, uncommented, load; check says how many keys each fleet's
// instances get.
func TestCheckExampleSSHKeys(t *testing.T) {
	b, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yml := string(b)
	for _, commented := range []string{"# ssh_keys:\n", "#   - ssh-ed25519 ", "#   - {file: keys/oncall.pub}", "    # ssh_keys: [{file: keys/research-team.pub}]"} {
		if !strings.Contains(yml, commented) {
			t.Fatalf("the example lacks %q", commented)
		}
		yml = strings.Replace(yml, commented, strings.Replace(commented, "# ", "", 1), 1)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{
		"oncall.pub":        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDqk5yxl1qLjKV1VnrdNaR3NsEhfcPWtmXzYQuWGoaXO oncall@example\n",
		"research-team.pub": "# the research team\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINGgb6TGC8ABMQwsLHe1TDq7gF4MrAEh7gC4vVDSGdaS alice@laptop\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, "keys", name), []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "vastwatch.yaml")
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain(t, nil, "check", "--config.file", p)
	if code != 0 || !strings.Contains(out, "ssh keys attached to each instance: inference 3\n") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}
