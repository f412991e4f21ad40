package metrics_test

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// docsFile is the metrics contract this test holds the code to.
var docsFile = filepath.Join("..", "..", "docs", "metrics.md")

// groupByMark stands in docs/metrics.md for a market's group_by labels.
const groupByMark = "*group_by*"

// docMetric is one row of a metric table of docs/metrics.md.
type docMetric struct {
	typ     string
	labels  []string // label names as written, groupByMark included
	line    int
	grouped bool // labels include the market's group_by labels
}

// metricsDoc is what docs/metrics.md lists.
type metricsDoc struct {
	metrics map[string]docMetric
	// values holds, per section heading ("Decisions", "Reasons", …), the label values of its
	// table with their line numbers.
	values map[string]map[string]int
}

// readMetricsDoc parses docs/metrics.md: the rows of its tables whose first cell is a
// backquoted name, by section.
func readMetricsDoc(t *testing.T) metricsDoc {
	t.Helper()
	b, err := os.ReadFile(docsFile)
	require.NoError(t, err)
	doc := metricsDoc{metrics: map[string]docMetric{}, values: map[string]map[string]int{}}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = strings.TrimSpace(h)
			continue
		}
		cells := tableCells(line)
		if len(cells) < 2 || !isCode(cells[0]) {
			continue
		}
		name := strings.Trim(cells[0], "`")
		if strings.HasPrefix(name, "vast_") || strings.HasPrefix(name, "vastwatch_") {
			if _, dup := doc.metrics[name]; dup {
				t.Errorf("%s:%d: %s is listed twice", docsFile, n, name)
			}
			require.GreaterOrEqual(t, len(cells), 3, "%s:%d: a metric row needs name, type and labels", docsFile, n)
			m := docMetric{typ: cells[1], line: n}
			for l := range strings.SplitSeq(cells[2], ",") {
				switch l = strings.TrimSpace(l); {
				case l == "—" || l == "":
				case l == groupByMark:
					m.grouped = true
				case isCode(l):
					m.labels = append(m.labels, strings.Trim(l, "`"))
				default:
					t.Errorf("%s:%d: label %q of %s is neither `name` nor %s", docsFile, n, l, name, groupByMark)
				}
			}
			doc.metrics[name] = m
			continue
		}
		if doc.values[section] == nil {
			doc.values[section] = map[string]int{}
		}
		doc.values[section][name] = n
	}
	require.NoError(t, sc.Err())
	return doc
}

func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	cells := strings.Split(line[1:len(line)-1], "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

func isCode(s string) bool { return len(s) > 2 && s[0] == '`' && s[len(s)-1] == '`' }

// sourceMetricNames are the metric names the metrics package's non-test code registers: the
// names given to prometheus.NewDesc and to the Name of every *Opts literal. A new metric shows
// up here even when no test fixture emits it.
func sourceMetricNames(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	names := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			var lit ast.Expr
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewDesc" && len(n.Args) > 0 {
					lit = n.Args[0]
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Name" {
					lit = n.Value
				}
			}
			if bl, ok := lit.(*ast.BasicLit); ok && bl.Kind == token.STRING {
				s, err := strconv.Unquote(bl.Value)
				require.NoError(t, err)
				names[s] = fset.Position(bl.Pos()).String()
			}
			return true
		})
	}
	require.NotEmpty(t, names, "no metric names found in the package's source")
	return names
}

// scalerLabelValues are the string constants of internal/scaler's non-test code whose names
// start with prefix (Decision, Reason, Kind, Result) followed by an upper-case letter, by value,
// with where each is declared. The package is parsed rather than imported, so that this test
// sees every constant whatever file holds it.
func scalerLabelValues(t *testing.T, prefix string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "scaler", "*.go"))
	require.NoError(t, err)
	named := regexp.MustCompile(`^` + prefix + `[A-Z]`)
	consts := map[string]string{} // name → value, for constants defined by another constant
	where := map[string]string{}
	var refs [][2]string
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					where[id.Name] = fset.Position(id.Pos()).String()
					switch v := vs.Values[i].(type) {
					case *ast.BasicLit:
						if v.Kind == token.STRING {
							s, err := strconv.Unquote(v.Value)
							require.NoError(t, err)
							consts[id.Name] = s
						}
					case *ast.Ident:
						refs = append(refs, [2]string{id.Name, v.Name})
					}
				}
			}
		}
	}
	for _, r := range refs {
		if v, ok := consts[r[1]]; ok {
			consts[r[0]] = v
		}
	}
	out := map[string]string{}
	for name, v := range consts {
		if named.MatchString(name) {
			out[v] = name + " (" + where[name] + ")"
		}
	}
	require.NotEmpty(t, out, "no %s* constants found in internal/scaler", prefix)
	return out
}

// TestMetricsDocMatchesTheCode holds docs/metrics.md to the code in both directions: every
// metric the package registers is listed with its type and labels, and nothing else is; every
// decision, reason, action kind and result constant of internal/scaler is listed, and nothing
// else is.
func TestMetricsDocMatchesTheCode(t *testing.T) {
	doc := readMetricsDoc(t)

	t.Run("metric names", func(t *testing.T) {
		src := sourceMetricNames(t)
		for name, at := range src {
			if _, ok := doc.metrics[name]; !ok {
				t.Errorf("%s (registered at %s) is not in %s", name, at, docsFile)
			}
		}
		for name, m := range doc.metrics {
			if _, ok := src[name]; !ok {
				t.Errorf("%s:%d: %s is documented but not registered by internal/metrics", docsFile, m.line, name)
			}
		}
	})

	t.Run("types and labels as served", func(t *testing.T) {
		// An exporter that has seen every kind of event and a snapshot with every kind of row,
		// scraped as Prometheus would.
		e, _ := selfExporter()
		snap := fixedSnapshot()
		require.NoError(t, e.Publish(snap))
		parser := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := parser.TextToMetricFamilies(bytes.NewReader(plainBody(t, e.Handler())))
		require.NoError(t, err)
		groupBy := map[string][]string{}
		for _, m := range snap.Markets {
			groupBy[m.Name] = m.GroupBy
		}
		for name := range sourceMetricNames(t) {
			if _, ok := mfs[name]; !ok {
				t.Errorf("%s is registered but the test's exporter does not serve it: extend the fixture so its type and labels are checked", name)
			}
		}
		for name, mf := range mfs {
			d, ok := doc.metrics[name]
			if !ok {
				t.Errorf("%s is served but not in %s", name, docsFile)
				continue
			}
			if got := strings.ToLower(mf.GetType().String()); got != d.typ {
				t.Errorf("%s:%d: %s is documented as %s but is a %s", docsFile, d.line, name, d.typ, got)
			}
			for _, m := range mf.GetMetric() {
				want := slices.Clone(d.labels)
				if d.grouped {
					want = append(want, groupBy[labelValue(m, "market")]...)
				}
				if got := labelNames(m); !sameSet(got, want) {
					t.Errorf("%s:%d: %s is documented with labels %v but is served with %v", docsFile, d.line, name, want, got)
					break
				}
			}
		}
	})

	for _, v := range []struct{ section, prefix string }{
		{"Decisions", "Decision"},
		{"Reasons", "Reason"},
		{"Action kinds", "Kind"},
		{"Action results", "Result"},
	} {
		t.Run(v.section, func(t *testing.T) {
			documented := doc.values[v.section]
			require.NotEmpty(t, documented, "%s has no table under \"## %s\"", docsFile, v.section)
			code := scalerLabelValues(t, v.prefix)
			for value, decl := range code {
				if _, ok := documented[value]; !ok {
					t.Errorf("%q (%s) is not in the %s table of %s", value, decl, v.section, docsFile)
				}
			}
			for value, line := range documented {
				if _, ok := code[value]; !ok {
					t.Errorf("%s:%d: %q is documented under %s but no %s* constant of internal/scaler has that value",
						docsFile, line, value, v.section, v.prefix)
				}
			}
		})
	}
}

func labelNames(m *dto.Metric) []string {
	var out []string
	for _, l := range m.GetLabel() {
		out = append(out, l.GetName())
	}
	return out
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
