package vastwatch_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// goreleaser is the part of .goreleaser.yaml that vastwatch uses. The file is decoded strictly:
// a key not listed here is an error, so a misspelt key cannot be ignored silently.
type goreleaser struct {
	Version     int    `yaml:"version"`
	ProjectName string `yaml:"project_name"`
	Before      struct {
		Hooks []string `yaml:"hooks"`
	} `yaml:"before"`
	Builds []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		ID              string        `yaml:"id"`
		IDs             []string      `yaml:"ids"`
		Formats         []string      `yaml:"formats"`
		NameTemplate    string        `yaml:"name_template"`
		WrapInDirectory bool          `yaml:"wrap_in_directory"`
		Files           []archiveFile `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
	} `yaml:"checksum"`
	DockersV2 []struct {
		ID         string            `yaml:"id"`
		IDs        []string          `yaml:"ids"`
		Dockerfile string            `yaml:"dockerfile"`
		Images     []string          `yaml:"images"`
		Tags       []string          `yaml:"tags"`
		Platforms  []string          `yaml:"platforms"`
		Labels     map[string]string `yaml:"labels"`
	} `yaml:"dockers_v2"`
	Changelog struct {
		Disable bool `yaml:"disable"`
	} `yaml:"changelog"`
	Release struct {
		GitHub struct {
			Owner string `yaml:"owner"`
			Name  string `yaml:"name"`
		} `yaml:"github"`
		Footer string `yaml:"footer"`
	} `yaml:"release"`
}

// archiveFile is a file of an archive: a path (glob), or {src, dst, strip_parent}.
type archiveFile struct {
	Src         string `yaml:"src"`
	Dst         string `yaml:"dst"`
	StripParent bool   `yaml:"strip_parent"`
}

func (f *archiveFile) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		f.Src = n.Value
		return nil
	}
	type plain archiveFile
	return n.Decode((*plain)(f))
}

func readRelease(t *testing.T) goreleaser {
	t.Helper()
	b, err := os.ReadFile(".goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var g goreleaser
	if err := dec.Decode(&g); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	return g
}

// makefile is what the Makefile's build target does, and its variables.
type makefile struct {
	vars                      map[string]string
	env, flags, output, pkg   string
	extras                    []string // the files `make extras` writes
	ldflags                   []string // -X assignments, VAR=value
	buildRecipe, extrasRecipe string
}

func readMakefile(t *testing.T) makefile {
	t.Helper()
	b, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := makefile{vars: map[string]string{}}
	lines := strings.Split(string(b), "\n")
	target := ""
	for _, line := range lines {
		if v := regexp.MustCompile(`^([A-Z_]+)\s*[:?]?=\s*(.*)$`).FindStringSubmatch(line); v != nil {
			m.vars[v[1]] = v[2]
		}
		if t := regexp.MustCompile(`^([a-z-]+):`).FindStringSubmatch(line); t != nil {
			target = t[1]
		}
		switch {
		case target == "build" && strings.HasPrefix(line, "\t"):
			m.buildRecipe += line
		case target == "extras" && strings.HasPrefix(line, "\t"):
			m.extrasRecipe += line + "\n"
		}
	}
	if r := regexp.MustCompile(`^\t(\S+=\S+) \$\(GO\) build (-trimpath) -ldflags '\$\(LDFLAGS\)' -o (\S+) (\S+)$`).FindStringSubmatch(m.buildRecipe); r != nil {
		m.env, m.flags, m.output, m.pkg = r[1], r[2], r[3], r[4]
	} else {
		t.Fatalf("the Makefile's build recipe %q is not the one this test reads", m.buildRecipe)
	}
	for _, x := range regexp.MustCompile(`-X (\S+)`).FindAllStringSubmatch(m.vars["LDFLAGS"], -1) {
		m.ldflags = append(m.ldflags, x[1])
	}
	for _, x := range regexp.MustCompile(`> (\S+)`).FindAllStringSubmatch(m.extrasRecipe, -1) {
		m.extras = append(m.extras, x[1])
	}
	return m
}

// TestReleaseConfigBuildsWhatTheMakefileBuilds: .goreleaser.yaml parses strictly and builds the
// binary the Makefile builds, with the same package, name, environment, flags and version
// stamps, for linux and darwin on amd64 and arm64.
func TestReleaseConfigBuildsWhatTheMakefileBuilds(t *testing.T) {
	g, m := readRelease(t), readMakefile(t)
	if g.Version != 2 || g.ProjectName != "vastwatch" || len(g.Builds) != 1 {
		t.Fatalf("version %d, project %q, %d builds; want goreleaser v2, vastwatch, one build", g.Version, g.ProjectName, len(g.Builds))
	}
	b := g.Builds[0]
	if b.Main != m.pkg || b.Binary != filepath.Base(m.output) {
		t.Errorf("the release builds %s as %s; the Makefile builds %s as %s", b.Main, b.Binary, m.pkg, m.output)
	}
	if !slices.Equal(b.Env, []string{m.env}) || !slices.Equal(b.Flags, []string{m.flags}) {
		t.Errorf("release env %q flags %q; Makefile %q %q", b.Env, b.Flags, m.env, m.flags)
	}
	if !slices.Contains(b.Ldflags, "-s -w") || !strings.HasPrefix(m.vars["LDFLAGS"], "-s -w ") {
		t.Errorf("both strip the binary: release %q, Makefile %q", b.Ldflags, m.vars["LDFLAGS"])
	}
	const pkg = "github.com/prometheus/common/version."
	for _, v := range []string{"Version", "Revision"} {
		var inRelease, inMake bool
		for _, l := range b.Ldflags {
			inRelease = inRelease || strings.HasPrefix(l, "-X "+pkg+v+"={{ .")
		}
		for _, x := range m.ldflags {
			inMake = inMake || strings.HasPrefix(x, pkg+v+"=$(")
		}
		if !inRelease || !inMake {
			t.Errorf("%s%s: stamped by the release %v, by the Makefile %v; want both", pkg, v, inRelease, inMake)
		}
	}
	if !slices.Equal(b.Goos, []string{"linux", "darwin"}) || !slices.Equal(b.Goarch, []string{"amd64", "arm64"}) {
		t.Errorf("release platforms %q × %q", b.Goos, b.Goarch)
	}
	if !slices.ContainsFunc(g.Before.Hooks, func(h string) bool { return strings.HasPrefix(h, "make extras ") }) {
		t.Errorf("before hooks %q do not run make extras, which makes the archives' completions and man page", g.Before.Hooks)
	}
}

// TestReleaseArchivesAndImage: the archives carry files that exist or that `make extras`
// writes, the image is built from the release build for the platforms it has, and its
// Dockerfile's runtime stage is the Dockerfile's.
func TestReleaseArchivesAndImage(t *testing.T) {
	g, m := readRelease(t), readMakefile(t)
	id := g.Builds[0].ID
	if len(g.Archives) != 1 || !slices.Equal(g.Archives[0].IDs, []string{id}) || !g.Archives[0].WrapInDirectory {
		t.Fatalf("archives %+v; want one, of build %s, wrapped in a directory", g.Archives, id)
	}
	for _, f := range g.Archives[0].Files {
		if strings.HasPrefix(f.Src, "bin/") { // built, not in the repository
			if !slices.ContainsFunc(m.extras, func(p string) bool { ok, _ := filepath.Match(f.Src, p); return ok }) {
				t.Errorf("archive file %q is not written by make extras (%q)", f.Src, m.extras)
			}
		} else if matches, err := filepath.Glob(f.Src); err != nil || len(matches) == 0 {
			t.Errorf("archive file %q is not in the repository", f.Src)
		}
	}
	if len(g.DockersV2) != 1 {
		t.Fatalf("%d images", len(g.DockersV2))
	}
	d := g.DockersV2[0]
	if !slices.Equal(d.IDs, []string{id}) || !slices.Equal(d.Platforms, []string{"linux/amd64", "linux/arm64"}) || !slices.Contains(d.Tags, "{{ .Version }}") {
		t.Errorf("image of builds %q for %q tagged %q", d.IDs, d.Platforms, d.Tags)
	}
	release := dockerfile(t, d.Dockerfile)
	if !slices.Contains(release.instructions, "COPY $TARGETPLATFORM/"+g.Builds[0].Binary+" /usr/local/bin/vastwatch") {
		t.Errorf("%s does not copy the release's binary from $TARGETPLATFORM: %q", d.Dockerfile, release.instructions)
	}
	source := dockerfile(t, "Dockerfile")
	for _, kw := range []string{"USER", "VOLUME", "EXPOSE", "ENTRYPOINT", "CMD"} {
		if a, b := release.final[kw], source.final[kw]; a == "" || a != b {
			t.Errorf("%s %s %q, Dockerfile %q", d.Dockerfile, kw, a, b)
		}
	}
	if release.base != source.base {
		t.Errorf("%s runs on %s, the Dockerfile on %s", d.Dockerfile, release.base, source.base)
	}
}

// parsedDockerfile is a Dockerfile's instructions (continuations joined), its last FROM and
// the final stage's instructions by keyword.
type parsedDockerfile struct {
	instructions []string
	base         string
	final        map[string]string
}

func dockerfile(t *testing.T, path string) parsedDockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.ReplaceAll(string(b), "\\\n", " ")
	p := parsedDockerfile{final: map[string]string{}}
	for _, line := range strings.Split(src, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p.instructions = append(p.instructions, line)
		kw, rest, _ := strings.Cut(line, " ")
		if kw == "FROM" {
			p.base, p.final = rest, map[string]string{}
		}
		p.final[kw] = rest
	}
	return p
}

// TestREADMEInstallLinesMatchTheRelease: the README's go install line names the module's
// command, its image is the one released, and its archive name is the template's.
func TestREADMEInstallLinesMatchTheRelease(t *testing.T) {
	g := readRelease(t)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	module := regexp.MustCompile(`(?m)^module (\S+)$`).FindSubmatch(mod)
	if module == nil {
		t.Fatal("go.mod names no module")
	}
	install := fmt.Sprintf("go install %s/%s@latest", module[1], strings.TrimPrefix(g.Builds[0].Main, "./"))
	image := g.DockersV2[0].Images[0] + ":latest"
	// the archive name template with the README's shell variables for version, OS and arch
	archive := strings.NewReplacer("{{ .ProjectName }}", g.ProjectName, "{{ .Version }}", "$V", "{{ .Os }}", "$OS", "{{ .Arch }}", "$ARCH").
		Replace(g.Archives[0].NameTemplate) + ".tar.gz"
	repo := "https://github.com/" + g.Release.GitHub.Owner + "/" + g.Release.GitHub.Name + "/releases/download/v$V/" + archive
	for _, want := range []string{install, "docker run --rm -p 9861:9861 " + image, repo, g.Checksum.NameTemplate} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	if "github.com/"+g.Release.GitHub.Owner+"/"+g.Release.GitHub.Name != string(module[1]) {
		t.Errorf("releases go to %s/%s, the module is %s", g.Release.GitHub.Owner, g.Release.GitHub.Name, module[1])
	}
	license, err := os.ReadFile("LICENSE")
	if err != nil || !bytes.Contains(license, []byte("Apache License\n                           Version 2.0, January 2004")) ||
		g.DockersV2[0].Labels["org.opencontainers.image.licenses"] != "Apache-2.0" {
		t.Errorf("LICENSE is not the Apache License 2.0, or the image does not say so (%v)", err)
	}
	changelog, err := os.ReadFile("CHANGELOG.md")
	if err != nil || !bytes.Contains(changelog, []byte("\n## Unreleased\n")) {
		t.Errorf("CHANGELOG.md has no Unreleased section (%v)", err)
	}
}
