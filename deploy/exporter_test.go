package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// goldenExpositions are the metrics package's golden files: what the exporter really writes
// for a fixed snapshot. Comparing them with the contract table here catches a rename on either
// side before a dashboard or alert silently goes blank.
const goldenExpositions = "../internal/metrics/testdata/*.prom"

func TestContractMatchesTheExporter(t *testing.T) {
	files, err := filepath.Glob(goldenExpositions)
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden expositions match %s (%v)", goldenExpositions, err)
	}
	exported := map[string][]string{} // series name → label names seen
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, fam := range fams {
			series := []string{name}
			if fam.GetType().String() == "HISTOGRAM" {
				series = []string{name + "_bucket", name + "_sum", name + "_count"}
			}
			for _, m := range fam.GetMetric() {
				for _, s := range series {
					for _, lp := range m.GetLabel() {
						if !slices.Contains(exported[s], lp.GetName()) {
							exported[s] = append(exported[s], lp.GetName())
						}
					}
					if strings.HasSuffix(s, "_bucket") && !slices.Contains(exported[s], "le") {
						exported[s] = append(exported[s], "le")
					}
					if _, ok := exported[s]; !ok {
						exported[s] = nil
					}
				}
			}
		}
	}
	for name, c := range contract {
		labels, ok := exported[name]
		if !ok {
			t.Errorf("contract metric %s is not in the exporter's golden output", name)
			continue
		}
		for _, l := range labels {
			if !slices.Contains(c.labels, l) {
				t.Errorf("%s: the exporter writes label %q, which the contract does not list (%v)", name, l, c.labels)
			}
		}
	}
}
