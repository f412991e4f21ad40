package deploy_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	repoRoot   = ".."
	dockerfile = "../Dockerfile"
	makefile   = "../Makefile"
	stateDir   = "/var/lib/vastwatch"
)

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	ins, err := readDockerfile()
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

func readDockerfile() ([]instruction, error) {
	f, err := os.Open(dockerfile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = n
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("Dockerfile ends inside a continued instruction")
	}
	return out, nil
}

// shellWords splits a shell command line into words, honouring single and double quotes; it
// leaves $VAR and ${VAR} unexpanded.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c quote in %q", c, s)
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == ';' || c == '&' || c == '|':
			return nil, fmt.Errorf("compound command in %q; keep the build one plain command", s)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// goBuild is a parsed `go build` command line.
type goBuild struct {
	env    map[string]string
	flags  []string // build flags and package, with -o and its value removed
	output string
}

var varRefRE = regexp.MustCompile(`\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]`)

// normalizeVars writes Make's $(X) and the shell's ${X} alike, as {X}.
func normalizeVars(s string) string { return varRefRE.ReplaceAllString(s, "{$1}") }

func parseGoBuild(words []string) (goBuild, error) {
	b := goBuild{env: map[string]string{}}
	i := 0
	for ; i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-"); i++ {
		k, v, _ := strings.Cut(words[i], "=")
		b.env[k] = v
	}
	if i+1 >= len(words) || !strings.HasSuffix(words[i], "go") && words[i] != "{GO}" || words[i+1] != "build" {
		return b, fmt.Errorf("not a go build command: %q", words)
	}
	for j := i + 2; j < len(words); j++ {
		if words[j] == "-o" && j+1 < len(words) {
			b.output = words[j+1]
			j++
			continue
		}
		b.flags = append(b.flags, words[j])
	}
	return b, nil
}

// dockerBuild finds the RUN instruction that builds the binary.
func dockerBuild(t *testing.T, ins []instruction) goBuild {
	t.Helper()
	b, err := dockerBuildOf(ins)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dockerBuildOf(ins []instruction) (goBuild, error) {
	for _, in := range ins {
		if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		words, err := shellWords(in.args)
		if err != nil {
			return goBuild{}, fmt.Errorf("Dockerfile line %d: %w", in.line, err)
		}
		for len(words) > 0 && strings.HasPrefix(words[0], "--mount=") {
			words = words[1:]
		}
		for k, w := range words {
			words[k] = normalizeVars(w)
		}
		b, err := parseGoBuild(words)
		if err != nil {
			return goBuild{}, fmt.Errorf("Dockerfile line %d: %w", in.line, err)
		}
		return b, nil
	}
	return goBuild{}, fmt.Errorf("no RUN … go build in the Dockerfile")
}

// makeBuild parses the Makefile's build recipe, with $(LDFLAGS) substituted.
func makeBuild(t *testing.T) goBuild {
	t.Helper()
	b, err := os.ReadFile(makefile)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	var recipe string
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		if m := regexp.MustCompile(`^([A-Z_]+)\s*:?=\s*(.*)$`).FindStringSubmatch(line); m != nil {
			vars[m[1]] = m[2]
		}
		if strings.HasPrefix(line, "build:") && i+1 < len(lines) {
			recipe = strings.TrimSpace(lines[i+1])
		}
	}
	if recipe == "" {
		t.Fatal("Makefile has no build target")
	}
	recipe = strings.ReplaceAll(recipe, "$(LDFLAGS)", vars["LDFLAGS"])
	words, err := shellWords(recipe)
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range words {
		words[k] = normalizeVars(w)
	}
	gb, err := parseGoBuild(words)
	if err != nil {
		t.Fatalf("Makefile build: %v", err)
	}
	return gb
}

func TestDockerfileBuildsLikeTheMakefile(t *testing.T) {
	ins := parseDockerfile(t)
	docker := dockerBuild(t, ins)
	mk := makeBuild(t)
	if docker.env["CGO_ENABLED"] != "0" {
		t.Errorf("Dockerfile build env %v lacks CGO_ENABLED=0", docker.env)
	}
	if mk.env["CGO_ENABLED"] != "0" {
		t.Errorf("Makefile build env %v lacks CGO_ENABLED=0", mk.env)
	}
	if !slices.Equal(docker.flags, mk.flags) {
		t.Errorf("Dockerfile builds with %q, the Makefile with %q", docker.flags, mk.flags)
	}
	if !slices.Contains(docker.flags, "-trimpath") {
		t.Errorf("no -trimpath in %q", docker.flags)
	}
}

func TestDockerfileFinalStage(t *testing.T) {
	ins := parseDockerfile(t)
	var froms []instruction
	last := 0
	for i, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, in)
			last = i
		}
	}
	if len(froms) < 2 {
		t.Fatalf("%d stages; want a builder and a runtime stage", len(froms))
	}
	if !strings.Contains(froms[0].args, "golang:") {
		t.Errorf("first stage %q is not a golang builder", froms[0].args)
	}
	final := ins[last:]
	if base := final[0].args; !regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?:nonroot$`).MatchString(base) {
		t.Errorf("runtime base %q, want gcr.io/distroless/static…:nonroot", base)
	}
	get := func(cmd string) []instruction {
		var out []instruction
		for _, in := range final {
			if in.cmd == cmd {
				out = append(out, in)
			}
		}
		return out
	}
	one := func(cmd string) string {
		xs := get(cmd)
		if len(xs) != 1 {
			t.Fatalf("final stage has %d %s instructions, want 1", len(xs), cmd)
		}
		return xs[0].args
	}
	jsonArray := func(cmd string) []string {
		var xs []string
		if err := json.Unmarshal([]byte(one(cmd)), &xs); err != nil {
			t.Fatalf("%s is not in exec (JSON array) form: %v", cmd, err)
		}
		return xs
	}

	user := one("USER")
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("USER %q runs as root", user)
	}
	if vols := jsonArray("VOLUME"); !slices.Contains(vols, stateDir) {
		t.Errorf("VOLUME %q lacks %s", vols, stateDir)
	}
	if one("EXPOSE") != "9861" {
		t.Errorf("EXPOSE %q, want 9861", one("EXPOSE"))
	}
	entry := jsonArray("ENTRYPOINT")
	if len(entry) != 1 || filepath.Base(entry[0]) != "vastwatch" {
		t.Errorf("ENTRYPOINT %q, want the vastwatch binary alone", entry)
	}
	args := parseArgs(t, jsonArray("CMD"))
	if args["config.file"] != "/etc/vastwatch/config.yaml" || args["state.dir"] != stateDir {
		t.Errorf("CMD flags %v, want --config.file=/etc/vastwatch/config.yaml --state.dir=%s", args, stateDir)
	}

	// The binary the builder writes is the one the runtime stage copies and runs, and the state
	// dir is created owned by the runtime user (distroless has no shell to create it).
	build := dockerBuild(t, ins)
	copied := map[string]string{}
	for _, c := range get("COPY") {
		words := strings.Fields(c.args)
		var plain []string
		chown := ""
		for _, w := range words {
			if v, ok := strings.CutPrefix(w, "--chown="); ok {
				chown = v
			} else if !strings.HasPrefix(w, "--") {
				plain = append(plain, w)
			}
		}
		if len(plain) == 2 {
			copied[plain[1]] = plain[0]
			if plain[1] == stateDir && chown != user {
				t.Errorf("state dir copied with --chown=%q, USER is %q", chown, user)
			}
		}
	}
	if copied[entry[0]] != build.output {
		t.Errorf("ENTRYPOINT %s is copied from %q, the build writes %q", entry[0], copied[entry[0]], build.output)
	}
	if _, ok := copied[stateDir]; !ok {
		t.Errorf("no COPY --chown creates %s", stateDir)
	}
}

// buildFromDockerfile builds vastwatch once per test binary with the Dockerfile's own command
// line (no container engine needed), stamping testVersion and testRevision.
var buildFromDockerfile = sync.OnceValues(func() (string, error) {
	ins, err := readDockerfile()
	if err != nil {
		return "", err
	}
	build, err := dockerBuildOf(ins)
	if err != nil {
		return "", err
	}
	values := map[string]string{
		"VERSION": testVersion, "REVISION": testRevision,
		"TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH,
	}
	var missing []string
	subst := func(s string) string {
		return regexp.MustCompile(`\{([A-Za-z_]+)\}`).ReplaceAllStringFunc(s, func(m string) string {
			v, ok := values[m[1:len(m)-1]]
			if !ok {
				missing = append(missing, m)
			}
			return v
		})
	}
	bin := filepath.Join(scratchDir, "vastwatch")
	args := []string{"build", "-o", bin}
	for _, f := range build.flags {
		args = append(args, subst(f))
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	for k, v := range build.env {
		cmd.Env = append(cmd.Env, k+"="+subst(v))
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("the Dockerfile's build uses %q, which this test does not set", missing)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	return bin, nil
})

const (
	testVersion  = "9.8.7-test"
	testRevision = "abc1234"
)

func vastwatchBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin, err := buildFromDockerfile()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestDockerfileBinaryIsStatic checks the binary built with the Dockerfile's flags is static,
// stripped, trimmed and stamped.
func TestDockerfileBinaryIsStatic(t *testing.T) {
	bin := vastwatchBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if s := f.Section(".interp"); s != nil {
		t.Error("has an .interp section")
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("imports libraries %q (%v)", libs, err)
	}
	if _, err := f.Symbols(); !errors.Is(err, elf.ErrNoSymbols) {
		t.Errorf("symbol table present (err %v): -s did not apply", err)
	}

	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(repoRoot)
	if bytes.Contains(raw, []byte(abs+"/")) {
		t.Errorf("binary contains the build directory %s: -trimpath did not apply", abs)
	}

	out := run(t, "", nil, bin, "version")
	if !bytes.Contains(out, []byte(testVersion)) || !bytes.Contains(out, []byte(testRevision)) {
		t.Errorf("vastwatch version printed %q; want the stamped %s and %s", out, testVersion, testRevision)
	}
}

// TestDockerignoreKeepsTheBuildInputs checks that no file the binary is built from (Go files,
// embedded files, go.mod, go.sum) is excluded from the build context.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	patterns := readDockerignore(t)
	out := run(t, repoRoot, nil, "go", "list", "-e", "-deps", "-json=Dir,Module,GoFiles,EmbedFiles", "./cmd/vastwatch")
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			Dir        string
			Module     *struct{ Main bool }
			GoFiles    []string
			EmbedFiles []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(abs, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			inputs = append(inputs, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(inputs) < 5 {
		t.Fatalf("go list found only %q; the check is not looking at the build", inputs)
	}
	for _, in := range inputs {
		if dockerignored(patterns, in) {
			t.Errorf("%s is needed by go build ./cmd/vastwatch but .dockerignore excludes it", in)
		}
	}
	for _, probe := range []string{".git/config", "bin/vastwatch", "deploy/kubernetes/deployment.yaml", "e2e/x_test.go"} {
		if !dockerignored(patterns, probe) {
			t.Errorf("%s is sent to the build context; .dockerignore should exclude it", probe)
		}
	}
}

type ignorePattern struct {
	re     *regexp.Regexp
	negate bool
}

func readDockerignore(t *testing.T) []ignorePattern {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var out []ignorePattern
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			p.negate, line = true, rest
		}
		line = strings.Trim(filepath.ToSlash(filepath.Clean(line)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case strings.HasPrefix(line[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(line[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		p.re = regexp.MustCompile(re.String())
		out = append(out, p)
	}
	return out
}

// dockerignored applies the patterns like Docker: a pattern matching a path or one of its
// parent directories excludes it; the last matching pattern wins.
func dockerignored(patterns []ignorePattern, path string) bool {
	ignored := false
	parts := strings.Split(path, "/")
	for _, p := range patterns {
		for i := 1; i <= len(parts); i++ {
			if p.re.MatchString(strings.Join(parts[:i], "/")) {
				ignored = !p.negate
				break
			}
		}
	}
	return ignored
}
