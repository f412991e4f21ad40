package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

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

// TestCreditFloorThresholdMatchesTheShippedConfig keeps the literal of VastCreditBelowFloor
// equal to the credit floor of the config the Kubernetes ConfigMap ships.
func TestCreditFloorThresholdMatchesTheShippedConfig(t *testing.T) {
	m := regexp.MustCompile(`vast_account_credit_dollars < ([0-9.]+)`).FindStringSubmatch(ruleExpr(t, "VastCreditBelowFloor"))
	if m == nil {
		t.Fatal("VastCreditBelowFloor has no `vast_account_credit_dollars < N` threshold")
	}
	threshold, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Account struct {
			CreditFloor float64 `yaml:"credit_floor_dollars"`
		} `yaml:"account"`
	}
	if err := yaml.Unmarshal([]byte(loadManifests(t).configMap.Data["config.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Account.CreditFloor != threshold {
		t.Errorf("VastCreditBelowFloor fires below $%g, the ConfigMap's credit_floor_dollars is $%g", threshold, cfg.Account.CreditFloor)
	}
}
