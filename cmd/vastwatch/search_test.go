package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	vastwatch "github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/policy"
)

func TestSearchPrintQuery(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"an underscored name, a count and a threshold", []string{"gpu_name=RTX_4090 num_gpus>=2 reliability>0.98"},
			`{"verified": {"eq": true}, "external": {"eq": false}, "rentable": {"eq": true}, "gpu_name": {"eq": "RTX 4090"}, "num_gpus": {"gte": "2"}, "reliability": {"gt": "0.98"}, "order": [["score", "desc"]], "type": "on-demand", "allocated_storage": 5}`},
		{"flags after the query words", []string{"gpu_name=RTX_4090", "num_gpus=1", "-o", "dph_total", "--limit", "20"},
			`{"verified": {"eq": true}, "external": {"eq": false}, "rentable": {"eq": true}, "gpu_name": {"eq": "RTX 4090"}, "num_gpus": {"eq": "1"}, "order": [["dph_total", "asc"]], "type": "on-demand", "limit": 20, "allocated_storage": 5}`},
		{"type, storage and no defaults", []string{"-n", "--type", "interruptible", "--storage", "40", "gpu_ram>=24"},
			`{"gpu_ram": {"gte": 24000}, "order": [["score", "desc"]], "type": "bid", "allocated_storage": 40}`},
		{"a market of the config", []string{"--config.file", "../../config.example.yaml", "--market", "rtx4090"},
			`{"verified": {"eq": true}, "external": {"eq": false}, "rentable": {"eq": true}, "gpu_name": {"eq": "RTX 4090"}, "num_gpus": {"eq": "1"}, "reliability": {"gt": "0.95"}, "inet_down": {"gte": "100"}, "order": [["dph_total", "asc"]], "type": "on-demand", "limit": 500, "allocated_storage": 20}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// No key, no URL, no --simulate: printing must not touch the network.
			code, out, errs := runMain(t, nil, append([]string{"search", "--print-query"}, c.args...)...)
			if code != 0 || out != c.want+"\n" {
				t.Fatalf("exit %d\n got: %s\nwant: %s\nstderr: %s", code, out, c.want, errs)
			}
		})
	}
}

func TestSearchRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"a query the CLI refuses", []string{"search", "--print-query", "num_gpus>"}, 1,
			"Error: Value cannot be blank. Did you forget to quote your query? ('num_gpus', '>', '')\n"},
		{"an operator word with no value", []string{"search", "--print-query", "num_gpus==2 gpu_name in"}, 1,
			"Error: Unknown operator. Did you forget to quote your query? ''\n"},
		{"bad output", []string{"search", "--output", "xml", "num_gpus=1"}, 2, "vastwatch search: --output \"xml\"; allowed: table, json or csv\n"},
		{"market with query flags", []string{"search", "--market", "rtx4090", "--config.file", "../../config.example.yaml", "-o", "dph"}, 2,
			"vastwatch search: -o cannot be combined with --market: the market's own order, limit, type and storage_gb apply\n"},
		{"unknown market", []string{"search", "--print-query", "--market", "nope", "--config.file", "../../config.example.yaml"}, 1,
			"vastwatch search: no market \"nope\" in ../../config.example.yaml; markets: rtx4090, datacenter-big\n"},
		{"bad type", []string{"search", "--print-query", "--type", "spot", "num_gpus=1"}, 1,
			"Error: invalid type 'spot'; allowed: on-demand, bid, reserved, interruptible\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runMain(t, nil, c.args...)
			if code != c.code || errs != c.err || out != "" {
				t.Fatalf("exit %d (want %d)\nstderr %q\nwant   %q\nstdout %q", code, c.code, errs, c.err, out)
			}
		})
	}
}

func TestSearchSimulatedMarketSatisfiesTheExampleFleet(t *testing.T) {
	cfg, err := policy.Parse(vastwatch.ExampleConfig, "embedded", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Fleets[0]
	code, out, errs := runMain(t, nil, "search", "--simulate", "--output", "csv", "--market", f.Market.Name, "--config.file", "../../config.example.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "id,gpu,n,$/h,$/gpu/h,dlperf/$,reliability,location,verified" {
		t.Fatalf("header %v", rows[0])
	}
	// The market's storage_gb equals the fleet's disk_gb, so dph_total is the fleet's price.
	if f.Market.StorageGB != f.Instance.DiskGB {
		t.Fatalf("example market storage %v != fleet disk %v", f.Market.StorageGB, f.Instance.DiskGB)
	}
	affordable, spend := 0, 0.0
	for _, r := range rows[1:] {
		p, err := strconv.ParseFloat(r[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		if p <= f.MaxPrice && spend+p <= f.Budget && affordable < f.Max {
			affordable++
			spend += p
		}
	}
	if affordable < f.Target || f.Target < 2 {
		t.Fatalf("the simulated market offers %d instances within max price %v and budget %v; the example fleet needs %d", affordable, f.MaxPrice, f.Budget, f.Target)
	}
}

func TestSearchSimulatedTableAndJSON(t *testing.T) {
	code, out, errs := runMain(t, nil, "search", "--simulate", "--limit", "3", "-o", "dph_total", "gpu_name=RTX_4090")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "id ") || !strings.Contains(lines[0], "dlperf/$") ||
		lines[4] != "3 offers by dph_total (lowest first); prices include 5 GB of storage" || !strings.Contains(lines[1], "RTX 4090") {
		t.Fatalf("table:\n%s", out)
	}
	code, out, errs = runMain(t, nil, "search", "--simulate", "--limit", "2", "--output", "json", "gpu_name=RTX_4090")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var offers []map[string]any
	if err := json.Unmarshal([]byte(out), &offers); err != nil || len(offers) != 2 || offers[0]["gpu_name"] != "RTX 4090" {
		t.Fatalf("json: %v %s", err, out)
	}
}

// An operator inside a value (`gpu_name= num_gpus>>2`: one value, as the vast CLI reads it) is
// warned about before the offers, whether the query is typed or a market of the config.
func TestSearchWarnsAboutAnOperatorInsideAValue(t *testing.T) {
	const warning = "the value of gpu_name, 'num_gpus>>2', holds an operator (>)"
	code, _, errs := runMain(t, nil, "search", "--simulate", "--limit", "1", "gpu_name=", "num_gpus>>2")
	if code != 0 || !strings.Contains(errs, warning) {
		t.Fatalf("typed query: exit %d, stderr:\n%s", code, errs)
	}
	p := filepath.Join(t.TempDir(), "typo.yaml")
	yml := "markets:\n  - {name: fine, query: \"num_gpus>=1\"}\n  - {name: typo, query: \"gpu_name= num_gpus>>2\"}\n"
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runMain(t, nil, "search", "--simulate", "--config.file", p, "--market", "typo")
	if code != 0 || !strings.Contains(errs, "warning: markets[1].query (line 3): "+warning) {
		t.Fatalf("--market typo: exit %d, stderr:\n%s", code, errs)
	}
	code, _, errs = runMain(t, nil, "search", "--simulate", "--config.file", p, "--market", "fine")
	if code != 0 || strings.Contains(errs, "warning") {
		t.Fatalf("--market fine warns about another market: exit %d, stderr:\n%s", code, errs)
	}
}
