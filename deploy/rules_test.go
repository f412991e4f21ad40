package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/deploy"
)

func TestRuleFileIsEmbedded(t *testing.T) {
	b, err := os.ReadFile(ruleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, deploy.RuleFile) {
		t.Fatal("deploy.RuleFile differs from the file on disk")
	}
}

func TestRuleFileWithFor(t *testing.T) {
	orig := loadRules(t)
	for _, tc := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{name: "seconds", d: 5 * time.Second, want: "5s"},
		{name: "milliseconds", d: 1500 * time.Millisecond, want: "1500ms"},
		{name: "hours", d: 2 * time.Hour, want: "2h"},
		{name: "zero removes the hold", d: 0, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := deploy.RuleFileWithFor(tc.d)
			if err != nil {
				t.Fatal(err)
			}
			var got ruleFileSpec
			if err := decodeStrictBytes(b, &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Groups) != len(orig.Groups) {
				t.Fatalf("%d groups, want %d", len(got.Groups), len(orig.Groups))
			}
			for gi, g := range got.Groups {
				if len(g.Rules) != len(orig.Groups[gi].Rules) {
					t.Fatalf("group %s: %d rules, want %d", g.Name, len(g.Rules), len(orig.Groups[gi].Rules))
				}
				for ri, r := range g.Rules {
					if r.For != tc.want {
						t.Errorf("%s: for %q, want %q", r.Alert, r.For, tc.want)
					}
					o := orig.Groups[gi].Rules[ri]
					r.For, o.For = "", ""
					if !reflect.DeepEqual(r, o) {
						t.Errorf("%s: changed beyond for:\n got %+v\nwant %+v", r.Alert, r, o)
					}
				}
			}
		})
	}
	t.Run("promtool accepts the rewritten file", func(t *testing.T) {
		promtool := needTool(t, "promtool", "prometheus")
		b, err := deploy.RuleFileWithFor(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "fast.rules.yml")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "", nil, promtool, "check", "rules", f)
	})
}

// TestThresholdsComeFromTheDaemon holds the alerts on money the daemon enforces to the metrics
// it exports from its config (docs/metrics.md): a literal threshold drifts from the config
// (the credit floor was once 20 in the rules and 10 in config.example.yaml).
func TestThresholdsComeFromTheDaemon(t *testing.T) {
	number := regexp.MustCompile(`(^|[^\w.])[0-9]+(\.[0-9]+)?([^\w.]|$)`)
	for alert, threshold := range map[string]string{
		"VastCreditBelowFloor":                  "vastwatch_account_credit_floor_dollars",
		"VastwatchMonthForecastOverBudget":      "vastwatch_account_budget_dollars_per_month",
		"VastChargesOverMonthlyBudget":          "vastwatch_account_budget_dollars_per_month",
		"VastwatchFleetMonthForecastOverBudget": "vastwatch_fleet_budget_dollars_per_month",
		"VastwatchFleetSpendOverBudget":         "vastwatch_fleet_budget_dollars_per_hour",
	} {
		expr := ruleExpr(t, alert)
		refs, err := deploy.ParseRefs(expr)
		if err != nil {
			t.Fatalf("%s: %v", alert, err)
		}
		if !slices.Contains(refs.Metrics(), threshold) {
			t.Errorf("%s does not compare against %s: %q", alert, threshold, expr)
		}
		// A zero (budget > 0) is a test for "set", not a threshold.
		if m := number.FindString(strings.ReplaceAll(expr, "> 0", "")); m != "" {
			t.Errorf("%s has the literal %q; its threshold is %s", alert, strings.TrimSpace(m), threshold)
		}
	}
}
