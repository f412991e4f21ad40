package main

import (
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// helpFlag is one flag as `vastwatch COMMAND --help` lists it.
type helpFlag struct {
	commands []string
	short    string
	def      string // the default shown; "" for none, a placeholder or a boolean
	env      string // the variable named in its help as ($NAME)
	help     string
}

var (
	// A flag's line: two spaces, then "-x, " or four spaces, then --name[=VALUE]. Continuation
	// lines are indented further.
	helpFlagRE = regexp.MustCompile(`^  (?:-(\w), |    )--(?:\[no-\])?([a-z][\w.-]*)(?:=(\S*))?`)
	helpEnvRE  = regexp.MustCompile(`\(\$([A-Z_]+)\)`)
)

var subcommands = []string{"run", "record", "check", "search", "plan", "ssh", "ssh-config", "sim", "backtest", "version", "completion", "man"}

// helpFlags runs --help of every subcommand and collects the flags it lists.
func helpFlags(t *testing.T) (map[string]*helpFlag, string) {
	t.Helper()
	flags := map[string]*helpFlag{}
	var all strings.Builder
	for _, cmd := range subcommands {
		code, out, errs := runMain(t, nil, cmd, "--help")
		if code != 0 || errs != "" || !strings.HasPrefix(out, "usage: vastwatch "+cmd) {
			t.Fatalf("%s --help: exit %d, stderr %q, stdout %q", cmd, code, errs, out)
		}
		all.WriteString(out)
		var cur *helpFlag
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "Args:") {
				cur = nil
			}
			if m := helpFlagRE.FindStringSubmatch(line); m != nil {
				def := m[3]
				if def == strings.ToUpper(def) && strings.Trim(def, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-") == "" {
					def = "" // a placeholder such as FILE
				}
				if flags[m[2]] == nil {
					flags[m[2]] = &helpFlag{short: m[1], def: def}
				} else if flags[m[2]].def != def {
					t.Errorf("--%s: default %q in %s, %q elsewhere", m[2], def, cmd, flags[m[2]].def)
				}
				cur = flags[m[2]]
				cur.commands = append(cur.commands, cmd)
			}
			if cur != nil {
				cur.help += line
				if e := helpEnvRE.FindStringSubmatch(line); e != nil {
					cur.env = e[1]
				}
			}
		}
	}
	return flags, all.String()
}

// readmeRow is one row of the README's flag table.
type readmeRow struct{ flag, short, commands, def, env string }

func readmeRows(t *testing.T) []readmeRow {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "| flag | commands | default | environment | |\n|---|---|---|---|---|\n")
	if !ok {
		t.Fatal("README.md has no flag table")
	}
	var rows []readmeRow
	cell := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		c := strings.Split(line, "|")
		if len(c) < 7 {
			t.Fatalf("README flag table row %q has %d cells", line, len(c)-2)
		}
		r := readmeRow{commands: strings.TrimSpace(c[2]), def: cell(c[3]), env: cell(c[4])}
		for _, name := range strings.Split(c[1], ",") {
			switch name = cell(name); {
			case strings.HasPrefix(name, "--"):
				r.flag = name[2:]
			case strings.HasPrefix(name, "-"):
				r.short = name[1:]
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// TestREADMEFlagTableMatchesHelp holds the README's one table of flags and variables to what
// --help says: the same flags, for the same subcommands, with the same short forms, defaults
// and environment variables; and every variable vastwatch reads is in it.
func TestREADMEFlagTableMatchesHelp(t *testing.T) {
	flags, allHelp := helpFlags(t)
	if len(flags) < 40 {
		t.Fatalf("--help listed only %d flags", len(flags))
	}
	vars := map[string]bool{}
	seen := map[string]bool{}
	for _, r := range readmeRows(t) {
		if r.flag == "" {
			vars[r.env] = true
			continue
		}
		seen[r.flag] = true
		f := flags[r.flag]
		if f == nil {
			t.Errorf("README lists --%s, which no --help shows", r.flag)
			continue
		}
		cmds := strings.Join(f.commands, ", ")
		if len(f.commands) == len(subcommands) {
			cmds = "all"
		}
		if r.commands != cmds || r.short != f.short || r.def != f.def || r.env != f.env {
			t.Errorf("README row --%s: commands %q, short %q, default %q, env %q; --help: %q, %q, %q, %q",
				r.flag, r.commands, r.short, r.def, r.env, cmds, f.short, f.def, f.env)
		}
	}
	for name := range flags {
		if !seen[name] {
			t.Errorf("--help shows --%s, which the README's flag table lacks", name)
		}
	}
	// The variables that stand in for no flag: policy.Env's fields without a flag tag, the key,
	// and the two the runtime and the Kubernetes downward API set, which help texts mention.
	want := []string{"VAST_API_KEY", "VAST_API_KEY_FILE", "POD_NAMESPACE", "GOMEMLIMIT"}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[policy.Env]()) {
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" && f.Tag.Get("flag") == "" {
			want = append(want, name)
		}
	}
	for _, v := range want {
		if !vars[v] {
			t.Errorf("the README's flag table has no row for %s", v)
		}
		if !strings.Contains(allHelp, v) {
			t.Errorf("no --help mentions %s", v)
		}
	}
	if len(vars) != len(want) {
		t.Errorf("README variables without a flag %v, want %v", slices.Sorted(maps.Keys(vars)), want)
	}
}
