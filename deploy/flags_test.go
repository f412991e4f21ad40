package deploy_test

import (
	"slices"
	"strings"
	"testing"
)

// runFlags are the flags of `vastwatch run` (docs/design.md §2) that deployments may pass, and whether
// each takes a value. A deployment passing anything else would not start.
var runFlags = map[string]bool{
	"config.file":        true,
	"web.listen-address": true,
	"web.telemetry-path": true,
	"web.config.file":    true,
	"log.level":          true,
	"log.format":         true,
	"state.dir":          true,
	"dry-run":            false,
	"simulate":           false,
}

var flagValues = map[string][]string{
	"log.level":  {"debug", "info", "warn", "error"},
	"log.format": {"logfmt", "json"},
}

// parseArgs checks a deployment's argument list for `vastwatch run` and returns its flags
// ("" for a boolean flag).
func parseArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	if len(args) == 0 || args[0] != "run" {
		t.Errorf("arguments %q do not start with the run subcommand", args)
		return nil
	}
	out := map[string]string{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			t.Errorf("argument %q is not a --flag", a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		takesValue, known := runFlags[name]
		switch {
		case !known:
			t.Errorf("unknown flag --%s", name)
			continue
		case takesValue && !hasValue:
			if i+1 == len(args) {
				t.Errorf("--%s has no value", name)
				continue
			}
			i++
			value = args[i]
		case !takesValue && hasValue && value != "true" && value != "false":
			t.Errorf("boolean --%s=%s", name, value)
		}
		if allowed, ok := flagValues[name]; ok && !slices.Contains(allowed, value) {
			t.Errorf("--%s=%s; allowed %q", name, value, allowed)
		}
		if _, dup := out[name]; dup {
			t.Errorf("--%s given twice", name)
		}
		out[name] = value
	}
	return out
}
