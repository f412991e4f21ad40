// Package archtest enforces the dependency direction of docs/design.md §1: a production import that
// breaks it fails this test. Test files may import more (a test of vastapi may use the
// simulator), since they do not ship.
package archtest

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/vastwatch/vastwatch/"

// allowed lists, for each internal package, the internal packages its non-test files may import.
var allowed = map[string][]string{
	"internal/clock":                              {},
	"internal/vastapi":                            {"internal/clock"},
	"internal/vastapi/internal/colgen":            {},
	"internal/vastapi/internal/colgen/cmd/colgen": {"internal/vastapi/internal/colgen"},
	"internal/vastapi/vastsim":                    {"internal/clock", "internal/vastapi"},
	"internal/vastapi/vastapitest":                {},
	"internal/policy":                             {"internal/vastapi"},
	"internal/scaler":                             {"internal/clock", "internal/vastapi", "internal/policy"},
	"internal/metrics":                            {"internal/clock", "internal/vastapi", "internal/policy", "internal/scaler"},
	"internal/leader":                             {"internal/clock"},
	"internal/kubestate":                          {"internal/clock"},
	"internal/demand":                             {"internal/clock", "internal/policy", "internal/scaler"},
	"internal/demand/promtest":                    {},
	"internal/report":                             {"internal/vastapi", "internal/policy", "internal/scaler"},
	"internal/connect":                            {"internal/vastapi", "internal/policy", "internal/scaler"},
	"internal/record":                             {"internal/vastapi"},
	"internal/daemon": {"internal/clock", "internal/vastapi", "internal/vastapi/vastsim", "internal/policy",
		"internal/scaler", "internal/metrics", "internal/leader", "internal/kubestate", "internal/demand", "internal/report", "internal/record"},
	"internal/backtest": {"internal/clock", "internal/vastapi", "internal/vastapi/vastsim", "internal/policy",
		"internal/scaler", "internal/record"},
	"internal/leader/leasetest": {"internal/clock"},
}

func TestDependencyDirection(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	err = filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if rel == "internal" || rel == "internal/archtest" || rel == "internal/deps" || strings.Contains(rel, "testdata") {
			return nil
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		seen++
		allow, known := allowed[rel]
		if !known {
			t.Errorf("%s: package not in the dependency table of docs/design.md §1; add it to allowed", rel)
			return nil
		}
		for _, imp := range pkg.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			if !contains(allow, dep) {
				t.Errorf("%s imports %s; allowed: %v", rel, dep, allow)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 3 {
		t.Fatalf("walked only %d packages; the check is not looking at the tree", seen)
	}
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
