package archtest

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shape the code keeps so that anybody can work in it (docs/design.md §1): functions short
// enough to hold in one's head, files named after one thing, and a main that only wires.
const (
	maxFuncLines = 80
	maxFileLines = 500
	// maxMainLines bounds cmd/vastwatch's non-test code: daemon logic belongs in a package
	// with its own tests.
	maxMainLines = 900
)

// repoRoot is the repository's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// walkGo calls fn for every non-test Go file of the repository that is not generated.
func walkGo(t *testing.T, fn func(rel string, src []byte)) {
	t.Helper()
	root := repoRoot(t)
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "testdata" || name == "bin" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if generated(src) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		n++
		fn(filepath.ToSlash(rel), src)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("looked at only %d files; the check is not looking at the tree", n)
	}
}

// generated reports whether src carries Go's "Code generated ... DO NOT EDIT." line.
func generated(src []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "// Code generated ") && strings.HasSuffix(line, " DO NOT EDIT.") {
			return true
		}
		if strings.HasPrefix(line, "package ") {
			return false
		}
	}
	return false
}

func TestFunctionsAndFilesStayShort(t *testing.T) {
	mainLines := 0
	walkGo(t, func(rel string, src []byte) {
		lines := bytes.Count(src, []byte("\n"))
		if lines > maxFileLines {
			t.Errorf("%s: %d lines; split it by what it holds (at most %d)", rel, lines, maxFileLines)
		}
		if strings.HasPrefix(rel, "cmd/vastwatch/") {
			mainLines += lines
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, rel, src, 0)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var body *ast.BlockStmt
			name := "func literal"
			switch x := n.(type) {
			case *ast.FuncDecl:
				body, name = x.Body, x.Name.Name
			case *ast.FuncLit:
				body = x.Body
			}
			if body == nil {
				return true
			}
			start, end := fset.Position(n.Pos()).Line, fset.Position(n.End()).Line
			if l := end - start + 1; l > maxFuncLines {
				t.Errorf("%s:%d: %s is %d lines (at most %d)", rel, start, name, l, maxFuncLines)
			}
			return true
		})
	})
	if mainLines >= maxMainLines {
		t.Errorf("cmd/vastwatch holds %d lines of non-test code; it only parses flags and wires (under %d)", mainLines, maxMainLines)
	}
}

// TestNothingCitesADocumentOutsideTheRepository: comments, help texts, manifests and the README
// cite docs/, which a person who clones the repository has.
func TestNothingCitesADocumentOutsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	outside := []string{"spec" + ".md", "../" + "shared", "shared/" + "testdata"}
	seen := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "bin" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !textFile(path) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		seen++
		rel, _ := filepath.Rel(root, path)
		for i, line := range strings.Split(string(src), "\n") {
			for _, s := range outside {
				if strings.Contains(line, s) {
					t.Errorf("%s:%d cites %q, which is not in the repository: %s", rel, i+1, s, strings.TrimSpace(line))
				}
			}
			// Inside docs/ a document links its neighbours by their bare names.
			inDocs := strings.HasPrefix(filepath.ToSlash(rel), "docs/")
			if !inDocs && strings.Count(line, "vast-api"+".md") > strings.Count(line, "docs/vast-api"+".md") {
				t.Errorf("%s:%d cites vast-api%s outside docs/: %s", rel, i+1, ".md", strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 100 {
		t.Fatalf("looked at only %d files", seen)
	}
}

// textFile is a file a person reads: code, docs, manifests, scripts.
func textFile(path string) bool {
	switch filepath.Ext(path) {
	case ".go", ".md", ".yaml", ".yml", ".json", ".sh", ".service", ".txt", ".tmpl":
		return true
	}
	base := filepath.Base(path)
	return base == "Makefile" || base == "Dockerfile" || base == "run"
}

// TestNoTestSleeps: a test that sleeps races a deadline on a busy machine. Timing is tested on
// a fake clock or in a testing/synctest bubble; only the end-to-end suite, which drives real
// processes, waits on the wall clock.
func TestNoTestSleeps(t *testing.T) {
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "e2e" || d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, "time."+"Sleep(") {
				t.Errorf("%s:%d sleeps: %s", rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
