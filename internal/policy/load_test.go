package policy

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// base is a minimal valid config; bad-config cases edit it, so line numbers refer to it.
const base = `owner: t
markets:
  - name: m
    query: "num_gpus=1"
fleets:
  - name: f
    market: m
    size: {min: 1, target: 2, max: 3}
    max_price_dollars_per_hour: 0.5
    budget_dollars_per_hour: 1.5
    instance: {image: img}
`

func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(base, old) {
		t.Fatalf("base has no %q", old)
	}
	return strings.Replace(base, old, new, 1)
}

func noEnv(string) string { return "" }

func TestParseMinimalConfigAppliesDefaults(t *testing.T) {
	cfg, err := Parse([]byte(base), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PollInterval != time.Minute || cfg.Orphans != OrphansKeep || cfg.DryRun {
		t.Fatalf("top-level defaults: %+v", cfg)
	}
	m := cfg.Markets[0]
	if m.Type != vastapi.OnDemand || m.StorageGB != 5 || m.Query.Type != vastapi.OnDemand || !m.Query.AllocatedStorage.Valid || m.Query.AllocatedStorage.V != 5 {
		t.Fatalf("market defaults: %+v", m)
	}
	want, _ := ParseQuery("num_gpus=1", SearchOptions{})
	if m.Query.Key() != want.Key() {
		t.Fatalf("market query %s, want %s", m.Query.Key(), want.Key())
	}
	f := cfg.Fleets[0]
	if f.Market != m || f.BootTimeout != 15*time.Minute || f.CooldownUp != time.Minute || f.CooldownDown != 10*time.Minute ||
		f.MaxActionsPerCycle != 2 || f.ScaleDown != ScaleDownDestroy || f.StoppedTTL != 24*time.Hour ||
		f.Instance.DiskGB != 10 || f.Instance.Runtype != "ssh" || f.Rebalance != nil || f.Bid != nil {
		t.Fatalf("fleet defaults: %+v", f)
	}
	if len(cfg.Warnings) != 0 {
		t.Fatalf("warnings: %q", cfg.Warnings)
	}
}

func TestBadConfigs(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown top-level key", edit(t, "owner: t\n", "owner: t\npoll_intervall: 30s\n"),
			[]string{`poll_intervall (line 2): unknown field "poll_intervall" (did you mean "poll_interval"?); allowed: poll_interval, dry_run, owner, account, markets, fleets, orphans, allow_private_addresses, orphan_drain, ssh_keys`}},
		{"unknown nested key", edit(t, "    max_price_dollars_per_hour: 0.5\n", "    max_price_dollar_per_hour: 0.5\n"),
			[]string{
				`fleets[0].max_price_dollars_per_hour (line 6): required; allowed: the most one instance may cost in whole-instance $/h (dph_total), e.g. 0.60`,
				`fleets[0].max_price_dollar_per_hour (line 9): unknown field "max_price_dollar_per_hour" (did you mean "max_price_dollars_per_hour"?); allowed: name, market, size, schedule, max_price_dollars_per_hour, budget_dollars_per_hour, budget_dollars_per_month, instance, boot_timeout, cooldown, max_actions_per_cycle, scale_down, stopped_ttl, min_duration, rebalance, bid, discovery, spread, readiness, drain, autoscale, cold, ssh_keys, avoid`,
			}},
		{"duplicate key", edit(t, "    market: m\n", "    market: m\n    market: m\n"),
			[]string{`fleets[0].market (line 8): duplicate key (first at line 7); allowed: each key once`}},
		{"min above target", edit(t, "{min: 1, target: 2, max: 3}", "{min: 3, target: 2, max: 3}"),
			[]string{`fleets[0].size (line 8): min 3 is above target 2; allowed: min ≤ target ≤ max`}},
		{"target above max", edit(t, "{min: 1, target: 2, max: 3}", "{min: 1, target: 5, max: 3}"),
			[]string{`fleets[0].size (line 8): target 5 is above max 3; allowed: min ≤ target ≤ max`}},
		{"negative min", edit(t, "{min: 1, target: 2, max: 3}", "{min: -1, target: 2, max: 3}"),
			[]string{`fleets[0].size.min (line 8): -1 is negative; allowed: 0 or more instances`}},
		{"target missing", edit(t, "{min: 1, target: 2, max: 3}", "{min: 1, max: 3}"),
			[]string{`fleets[0].size.target (line 8): required; allowed: a whole number of instances from min to max`}},
		{"size not a number", edit(t, "target: 2,", "target: two,"),
			[]string{`fleets[0].size.target (line 8): "two" is not a whole number; allowed: an integer such as 3`}},
		{"fleet market missing", edit(t, "    market: m\n", "    market: x\n"),
			[]string{`fleets[0].market (line 7): no market named "x"; allowed: one of m`}},
		{"reserved market", edit(t, "    query: \"num_gpus=1\"\n", "    query: \"num_gpus=1\"\n    type: reserved\n"),
			[]string{`fleets[0].market (line 8): market "m" is of type reserved, which is watched, not rented; allowed: a market of type on-demand or bid`}},
		{"bad market type", edit(t, "    query: \"num_gpus=1\"\n", "    query: \"num_gpus=1\"\n    type: spot\n"),
			[]string{
				`markets[0].type (line 5): "spot" is not a market type; allowed: on-demand, bid or reserved`,
				`fleets[0].market (line 8): market "m" has problems of its own (listed with it); allowed: a valid market`,
			}},
		{"budget below one instance", edit(t, "budget_dollars_per_hour: 1.5", "budget_dollars_per_hour: 0.4"),
			[]string{`fleets[0].budget_dollars_per_hour (line 10): 0.4 is less than one instance at max_price_dollars_per_hour 0.5; allowed: at least 0.5`}},
		{"zero max price", edit(t, "max_price_dollars_per_hour: 0.5", "max_price_dollars_per_hour: 0"),
			[]string{`fleets[0].max_price_dollars_per_hour (line 9): 0 is not positive; allowed: the most one instance may cost in whole-instance $/h (dph_total), e.g. 0.60`}},
		{"bid settings on an on-demand market", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    bid: {multiplier: 1.1, max_dollars_per_hour: 0.4}\n"),
			[]string{`fleets[0].bid (line 12): set, but market "m" is of type on-demand; allowed: bid settings only on fleets of bid markets`}},
		{"bid market without bid settings", edit(t, "    query: \"num_gpus=1\"\n", "    query: \"num_gpus=1\"\n    type: bid\n"),
			[]string{`fleets[0].bid (line 7): required because market "m" is of type bid; allowed: {multiplier: 1.1, max_dollars_per_hour: 0.40}`}},
		{"bid multiplier below 1", edit(t, "    query: \"num_gpus=1\"\n", "    query: \"num_gpus=1\"\n    type: bid\n") + "    bid: {multiplier: 0.9, max_dollars_per_hour: 0.4}\n",
			[]string{`fleets[0].bid.multiplier (line 13): 0.9 is outside 1..10; allowed: from 1 to 10 (the bid is min_bid × multiplier)`}},
		{"duplicate market names", edit(t, "fleets:\n", "  - name: m\n    query: \"\"\nfleets:\n"),
			[]string{`markets[1].name (line 5): duplicate market name "m" (first at line 3); allowed: unique names`}},
		{"duplicate fleet names", base + "  - name: f\n    market: m\n    size: {target: 1}\n    max_price_dollars_per_hour: 0.5\n    budget_dollars_per_hour: 1\n    instance: {image: img}\n",
			[]string{`fleets[1].name (line 12): duplicate fleet name "f" (first at line 6); allowed: unique names`}},
		{"owner with capitals", edit(t, "owner: t\n", "owner: Prod\n"),
			[]string{`owner (line 1): "Prod" is not a valid owner tag; allowed: 1-32 characters of a-z, 0-9 and -, starting and ending with a letter or digit`}},
		{"owner missing with fleets", strings.Replace(base, "owner: t\n", "dry_run: true\n", 1),
			[]string{`owner: required when fleets are configured; allowed: 1-32 characters of a-z, 0-9 and -, starting and ending with a letter or digit (it goes into instance labels vastwatch:<owner>:<fleet>:<nonce>)`}},
		{"orphans destroy without an owner", "orphans: destroy\nmarkets: []\n",
			[]string{`owner: required with orphans: destroy (only instances carrying the owner tag are ever destroyed); allowed: 1-32 characters of a-z, 0-9 and -, starting and ending with a letter or digit`}},
		{"fleet name with a colon", edit(t, "  - name: f\n", "  - name: \"a:b\"\n"),
			[]string{`fleets[0].name (line 6): "a:b" is not a valid fleet name; allowed: 1-32 characters of a-z, 0-9 and -, starting and ending with a letter or digit`}},
		{"rebalance savings as a percentage", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    rebalance: {min_savings: 25}\n"),
			[]string{`fleets[0].rebalance.min_savings (line 12): 25 is not a fraction in (0, 1); allowed: more than 0 and less than 1, e.g. 0.25 for at least 25 % cheaper`}},
		{"duration without unit", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    boot_timeout: 900\n"),
			[]string{`fleets[0].boot_timeout (line 12): "900" is not a duration; allowed: a number with a unit, such as 90s, 15m, 2h or 1d`}},
		{"poll interval too short", edit(t, "owner: t\n", "owner: t\npoll_interval: 100ms\n"),
			[]string{`poll_interval (line 2): 100ms is too short; allowed: 1s or more`}},
		{"discovery port out of range and repeated", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    discovery: {ports: [9100, 70000, 9100]}\n"),
			[]string{`fleets[0].discovery.ports[1] (line 12): 70000 is not a port; allowed: a container port from 1 to 65535, e.g. 9100`,
				`fleets[0].discovery.ports[2] (line 12): 9100 is listed twice; allowed: each port once`}},
		{"readiness without a port", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    readiness: {path: /healthz}\n"),
			[]string{`fleets[0].readiness.port (line 12): required; allowed: the container port to probe, from 1 to 65535, e.g. 8080`}},
		{"readiness path not absolute and port out of range", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    readiness: {port: 0, path: healthz}\n"),
			[]string{`fleets[0].readiness.port (line 12): 0 is not a port; allowed: a container port from 1 to 65535, e.g. 8080`,
				`fleets[0].readiness.path (line 12): "healthz" is not an absolute URL path; allowed: a path such as /healthz (omit it for a TCP connect)`}},
		{"readiness timeout too long", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    readiness: {port: 8080, timeout: 5m}\n"),
			[]string{`fleets[0].readiness.timeout (line 12): 5m0s is outside (0, 1m]; allowed: how long one probe may take, e.g. 5s`}},
		{"drain with nothing to do", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    drain: {timeout: 1m}\n"),
			[]string{`fleets[0].drain (line 12): has neither webhook nor delay; allowed: a webhook to call, a delay to wait, or both`}},
		{"drain webhook not a URL, without echoing it", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    drain: {webhook: \"lb.example/drain?token=s3cret\"}\n"),
			[]string{`fleets[0].drain.webhook (line 12): is not an absolute http or https URL; allowed: a URL such as https://lb.example/drain, or {env: NAME} / {file: PATH} holding one`}},
		{"drain webhook with credentials", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    drain: {webhook: \"https://u:p@lb.example/drain\", delay: -1s}\n"),
			[]string{`fleets[0].drain.webhook (line 12): carries user:password; allowed: a URL without credentials (put a token in the path or query, and the URL in {env: NAME} or {file: PATH})`,
				`fleets[0].drain.delay (line 12): -1s is negative; allowed: 0 or the least time between the drain and the removal, e.g. 2m`}},
		{"avoid share of the whole market", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    avoid: {max_share: 1}\n"),
			[]string{`fleets[0].avoid.max_share (line 12): 1 is not a fraction in (0, 1); allowed: more than 0 and less than 1, e.g. 0.5 to avoid at most half of the machines the fleet could rent on (avoidance never takes the whole market)`}},
		{"avoid share as a percentage", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    avoid: {max_share: 50}\n"),
			[]string{`fleets[0].avoid.max_share (line 12): 50 is not a fraction in (0, 1); allowed: more than 0 and less than 1, e.g. 0.5 to avoid at most half of the machines the fleet could rent on (avoidance never takes the whole market)`}},
		{"avoid share zero", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    avoid:\n      max_share: 0\n"),
			[]string{`fleets[0].avoid.max_share (line 13): 0 is not a fraction in (0, 1); allowed: more than 0 and less than 1, e.g. 0.5 to avoid at most half of the machines the fleet could rent on (avoidance never takes the whole market)`}},
		{"unknown avoid key", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    avoid: {max_shares: 0.3}\n"),
			[]string{`fleets[0].avoid.max_shares (line 12): unknown field "max_shares" (did you mean "max_share"?); allowed: max_share`}},
		{"negative spread limit", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    spread: {max_per_host: -1}\n"),
			[]string{`fleets[0].spread.max_per_host (line 12): -1 is negative; allowed: 0 (no limit) or a positive number of the fleet's instances`}},
		{"negative cooldown", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    cooldown: {scale_down: -1m}\n"),
			[]string{`fleets[0].cooldown.scale_down (line 12): -1m0s is negative; allowed: 0 or a positive duration`}},
		{"group_by outside the fixed set", edit(t, "    query: \"num_gpus=1\"\n", "    query: \"num_gpus=1\"\n    group_by: [gpu_name, region]\n"),
			[]string{`markets[0].group_by[1] (line 5): "region" is not a group_by label; allowed: gpu_name, num_gpus, gpu_arch, country, verification, datacenter`,
				`fleets[0].market (line 8): market "m" has problems of its own (listed with it); allowed: a valid market`}},
		{"query the CLI refuses", edit(t, "query: \"num_gpus=1\"", "query: \"num_gpus>any\""),
			[]string{`markets[0].query (line 4): Wildcard only makes sense with equals; allowed: the vast CLI search offers syntax, e.g. "gpu_name=RTX_4090 num_gpus>=1"`,
				`fleets[0].market (line 7): market "m" has problems of its own (listed with it); allowed: a valid market`}},
		{"query missing", edit(t, "    query: \"num_gpus=1\"\n", ""),
			[]string{`markets[0].query (line 3): required; allowed: a search in the vast CLI syntax, e.g. "gpu_name=RTX_4090 num_gpus=1" ("" for every offer)`,
				`fleets[0].market (line 6): market "m" has problems of its own (listed with it); allowed: a valid market`}},
		{"every in a schedule", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    schedule:\n      - {cron: \"@every 1h\", target: 2}\n"),
			[]string{`fleets[0].schedule[0].cron (line 13): @every is not allowed: a target needs fixed firing times, use a 5-field spec such as "*/30 * * * *"; allowed: 5 fields (minute hour day-of-month month day-of-week) with an optional CRON_TZ=Area/City prefix, or @hourly, @daily, @weekly, @monthly, @yearly`}},
		{"schedule target outside size", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    schedule:\n      - {cron: \"0 9 * * *\", target: 9}\n"),
			[]string{`fleets[0].schedule[0].target (line 13): 9 is outside size 1..3; allowed: a target from 1 to 3`}},
		{"image missing", edit(t, "    instance: {image: img}\n", "    instance: {disk_gb: 4}\n"),
			[]string{`fleets[0].instance.image (line 11): required unless instance.template_hash_id is set; allowed: a container image such as pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime`,
				`fleets[0].instance.disk_gb (line 11): 4 GB is below the API's minimum; allowed: 8 GB or more`}},
		{"bad runtype", edit(t, "{image: img}", "{image: img, runtype: ssh_direc}"),
			[]string{`fleets[0].instance.runtype (line 11): "ssh_direc" is not a runtype; allowed: ssh, ssh_proxy, ssh_direct, jupyter, jupyter_proxy, jupyter_direct, args`}},
		{"secret from an unset variable", edit(t, "{image: img}", "{image: img, env: {HF_TOKEN: {env: NOT_SET_ANYWHERE}}}"),
			[]string{`fleets[0].instance.env.HF_TOKEN.env (line 11): environment variable NOT_SET_ANYWHERE is unset or empty; allowed: a variable holding the value`}},
		{"secret file missing", edit(t, "{image: img}", "{image: img, image_login: {file: /nonexistent/login}}"),
			[]string{`fleets[0].instance.image_login.file (line 11): secret file "/nonexistent/login" cannot be read (no such file or directory); allowed: a readable file holding the value`}},
		{"scale_down mode", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    scale_down: pause\n"),
			[]string{`fleets[0].scale_down (line 12): "pause" is not a scale-down mode; allowed: destroy or stop`}},
		{"orphans policy", edit(t, "owner: t\n", "owner: t\norphans: delete\n"),
			[]string{`orphans (line 2): "delete" is not an orphan policy; allowed: keep or destroy`}},
		{"list where a mapping belongs", edit(t, "{min: 1, target: 2, max: 3}", "[1, 2, 3]"),
			[]string{`fleets[0].size (line 8): want a mapping of keys; allowed keys: min, target, max`}},
		{"scalar where a list belongs", edit(t, "{image: img}", "{image: img, args: --port}"),
			[]string{`fleets[0].instance.args (line 11): "--port" is not a list; allowed: a YAML list such as [a, b]`}},
		{"mapping where a string belongs", edit(t, "{image: img}", "{image: {name: img}}"),
			[]string{`fleets[0].instance.image (line 11): a mapping is not a string; allowed: a plain string`}},
		{"boolean spelt yes", edit(t, "owner: t\n", "owner: t\ndry_run: yes\n"),
			[]string{`dry_run (line 2): "yes" is not a boolean; allowed: true or false`}},
		{"YAML syntax error", "owner: t\nmarkets:\n  - name: m\n   query: x\n",
			[]string{`line 2: did not find expected '-' indicator; allowed: valid YAML`}},
		{"empty file", "", []string{`the file is empty; allowed: a YAML mapping with markets and fleets (see config.example.yaml)`}},
		{"two documents", base + "---\nowner: u\n", []string{`line 12: a second YAML document; allowed: exactly one document per file`}},
		{"a key where a list belongs", strings.Replace(base, "owner: t\n", "owner: t\nssh_keys: "+opsKey+"\n", 1),
			[]string{`ssh_keys (line 2): "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAuw..." is not a list; allowed: a list of keys, each an OpenSSH public key line such as "ssh-ed25519 AAAAC3Nza... you@laptop" (a .pub file's content), or {file: PATH} of a file holding such lines`}},
		{"a private key", withTopKeys(`  - "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA"`),
			[]string{`ssh_keys[0] (line 3): that is a private ssh key: give the public one (the .pub file); ` + sshKeyAllowed}},
		{"not a key", withTopKeys(`  - "ecdsa AAAA me"`),
			[]string{`ssh_keys[0] (line 3): ssh public key is not "TYPE BASE64 [COMMENT]" with a type such as ssh-ed25519 or ssh-rsa; ` + sshKeyAllowed}},
		{"a blob of another type", withTopKeys(`  - "ssh-rsa ` + strings.Fields(opsKey)[1] + `"`),
			[]string{`ssh_keys[0] (line 3): ssh public key's blob is not a ssh-rsa key; ` + sshKeyAllowed}},
		{"two keys in one item", withTopKeys("  - |\n    " + testKey(1, "") + "\n    " + testKey(2, "")),
			[]string{`ssh_keys[0] (line 3): ssh public key must be a single line; ` + sshKeyAllowed}},
		{"env instead of file", withTopKeys("  - {env: MY_KEY}"), []string{`ssh_keys[0] (line 3): a mapping is not a key; ` + sshKeyAllowed}},
		{"the same key twice", withTopKeys("  - "+opsKey, "  - "+strings.TrimSuffix(opsKey, " ops@laptop")+" ops@desktop"),
			[]string{`ssh_keys[1] (line 4): the same key as ssh_keys[0] (line 3); allowed: each key once`}},
		{"a fleet repeating a top-level key", withTopKeys("  - "+opsKey) + "    ssh_keys: [\"" + opsKey + "\"]\n",
			[]string{`fleets[0].ssh_keys[0] (line 14): the same key as ssh_keys[0] (line 3), which every fleet gets already; allowed: each key once`}},
		{"too many keys", strings.Replace(base, "owner: t\n", "owner: t\nssh_keys:\n"+manyKeys(0, 11), 1),
			[]string{`ssh_keys (line 2): 11 keys; allowed: at most 10 for a fleet's instances (each is one request per new instance)`}},
		{"too many with the top-level ones", strings.Replace(base, "owner: t\n", "owner: t\nssh_keys:\n"+manyKeys(0, 6), 1) + "    ssh_keys:\n" + strings.ReplaceAll(manyKeys(6, 5), "  - ", "      - "),
			[]string{`fleets[0].ssh_keys (line 19): 11 keys with the 6 top-level ones; allowed: at most 10 for a fleet's instances (each is one request per new instance)`}},
		{"several problems at once, in file order", edit(t, "{min: 1, target: 2, max: 3}", "{min: 3, target: 2, max: 3}") + "    stopped_ttl: 0s\n    max_actions_per_cycle: 0\n",
			[]string{
				`fleets[0].size (line 8): min 3 is above target 2; allowed: min ≤ target ≤ max`,
				`fleets[0].stopped_ttl (line 12): 0s is not positive; allowed: a duration such as 24h`,
				`fleets[0].max_actions_per_cycle (line 13): 0 is below 1; allowed: 1 or more actions per cycle`,
			}},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d bad configs", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.yaml), "", noEnv)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *ValidationError, got %v (config %+v)", err, cfg)
			}
			got := make([]string, len(ve.Problems))
			for i, p := range ve.Problems {
				got[i] = p.String()
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("problems\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if ve.Error() != strings.Join(c.want, "\n") {
				t.Fatalf("Error() %q", ve.Error())
			}
		})
	}
}

func TestSecretsResolveAndRedact(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "login"), []byte("-u me -p s3cr3t-file registry\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "vastwatch.yaml")
	yml := edit(t, "{image: img}", "{image: img, image_login: {file: login}, env: {PLAIN: hello, TOKEN: {env: MY_TOKEN}}}")
	getenv := func(k string) string {
		if k == "MY_TOKEN" {
			return "s3cr3t-env"
		}
		return ""
	}
	if err := os.WriteFile(src, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(src, getenv)
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Fleets[0].Instance
	if in.ImageLogin.Reveal() != "-u me -p s3cr3t-file registry" || !in.ImageLogin.IsSecret() {
		t.Fatalf("image_login not resolved from the file next to the config")
	}
	if len(in.Env) != 2 || in.Env[0].Name != "PLAIN" || in.Env[0].Value.IsSecret() || in.Env[0].Value.String() != "hello" ||
		in.Env[1].Name != "TOKEN" || in.Env[1].Value.Reveal() != "s3cr3t-env" {
		t.Fatalf("env: %+v", in.Env)
	}
	for _, s := range []string{in.ImageLogin.String(), in.Env[1].Value.String()} {
		if s != "<redacted>" {
			t.Fatalf("secret printed as %q", s)
		}
	}
	if b, _ := in.Env[1].Value.MarshalJSON(); strings.Contains(string(b), "s3cr3t") {
		t.Fatalf("secret in JSON: %s", b)
	}
}

func TestProblemMessagesNeverContainSecrets(t *testing.T) {
	// A secret resolved fine while something else is wrong must not leak into the error.
	yml := edit(t, "{image: img}", "{image: img, env: {T: {env: TOK}}, runtype: nope}")
	_, err := Parse([]byte(yml), "", func(string) string { return "tok-s3cr3t" })
	if err == nil || strings.Contains(err.Error(), "tok-s3cr3t") {
		t.Fatalf("err %v", err)
	}
}

func TestPacingWarning(t *testing.T) {
	var b strings.Builder
	b.WriteString("poll_interval: 15s\nmarkets:\n")
	for _, q := range []string{"num_gpus=1", "num_gpus=2", "num_gpus=1", "num_gpus=4"} {
		b.WriteString("  - {name: m" + strings.TrimPrefix(q, "num_gpus=") + "x" + string(rune('a'+b.Len()%26)) + ", query: \"" + q + "\"}\n")
	}
	cfg, err := Parse([]byte(b.String()), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DistinctSearches() != 3 {
		t.Fatalf("distinct searches %d, want 3 (identical queries count once)", cfg.DistinctSearches())
	}
	want := "poll_interval (line 1): 3 distinct searches need 18s per poll at the published pacing of one search every 6s, more than the poll interval 15s; polls will run late (raise poll_interval to 18s or more, or share identical queries between markets)"
	if len(cfg.Warnings) != 1 || cfg.Warnings[0] != want {
		t.Fatalf("warnings %q", cfg.Warnings)
	}
}

func TestReadinessAndDrainAreParsed(t *testing.T) {
	y := edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    readiness: {port: 8080, path: /healthz}\n    drain: {webhook: {env: HOOK}, delay: 30s}\n")
	env := func(k string) string {
		if k == "HOOK" {
			return "https://lb.example/drain?token=s3cret"
		}
		return ""
	}
	cfg, err := Parse([]byte(y), "", env)
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Fleets[0]
	if want := (Readiness{Port: 8080, Path: "/healthz", Timeout: DefaultProbeTimeout}); f.Readiness == nil || *f.Readiness != want {
		t.Fatalf("readiness %+v, want %+v", f.Readiness, want)
	}
	if f.Drain == nil || f.Drain.Webhook.Reveal() != "https://lb.example/drain?token=s3cret" || !f.Drain.Webhook.IsSecret() ||
		f.Drain.Timeout != DefaultDrainTimeout || f.Drain.Delay != 30*time.Second {
		t.Fatalf("drain %+v", f.Drain)
	}
	cfg, err = Parse([]byte(edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    readiness: {port: 22, timeout: 2s}\n    drain: {delay: 1m}\n")), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if f := cfg.Fleets[0]; f.Readiness.Path != "" || f.Readiness.Timeout != 2*time.Second || f.Drain.Webhook.Reveal() != "" || f.Drain.Delay != time.Minute {
		t.Fatalf("tcp readiness %+v, delay-only drain %+v", f.Readiness, f.Drain)
	}
	cfg, err = Parse([]byte(base), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Fleets[0].Readiness != nil || cfg.Fleets[0].Drain != nil {
		t.Fatalf("readiness or drain without their keys: %+v %+v", cfg.Fleets[0].Readiness, cfg.Fleets[0].Drain)
	}
}

func TestSpreadAndMonthlyBudgetsAreParsed(t *testing.T) {
	y := edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    budget_dollars_per_month: 900\n    spread: {max_per_machine: 1, max_per_country: 2}\n")
	y = strings.Replace(y, "owner: t\n", "owner: t\naccount: {max_spend_dollars_per_month: 2500}\n", 1)
	cfg, err := Parse([]byte(y), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Fleets[0]
	if want := (Spread{MaxPerMachine: 1, MaxPerCountry: 2}); f.Spread != want || !f.Spread.Any() {
		t.Fatalf("spread %+v, want %+v", f.Spread, want)
	}
	if f.Monthly != 900 || cfg.Account.MonthlyBudget != 2500 {
		t.Fatalf("monthly budgets: fleet %v, account %v", f.Monthly, cfg.Account.MonthlyBudget)
	}
	cfg, err = Parse([]byte(base), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Fleets[0].Spread.Any() {
		t.Fatalf("spread without a spread key: %+v", cfg.Fleets[0].Spread)
	}
}

func TestAvoidShareIsParsed(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       float64
	}{
		{"absent: the default", base, DefaultAvoidMaxShare},
		{"empty section: the default", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    avoid: {}\n"), DefaultAvoidMaxShare},
		{"set", edit(t, "    instance: {image: img}\n", "    instance: {image: img}\n    avoid: {max_share: 0.25}\n"), 0.25},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.yaml), "", noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Fleets[0].Avoid; got.MaxShare != c.want || got.Share() != c.want {
				t.Fatalf("avoid %+v (share %v), want max_share %v", got, got.Share(), c.want)
			}
		})
	}
	if (Avoid{}).Share() != DefaultAvoidMaxShare {
		t.Fatalf("a fleet built without the config avoids at most %v, want the default %v", (Avoid{}).Share(), DefaultAvoidMaxShare)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := Load("../../config.example.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Markets) < 2 || len(cfg.Fleets) < 1 {
		t.Fatalf("example has %d markets, %d fleets", len(cfg.Markets), len(cfg.Fleets))
	}
	f := cfg.Fleets[0]
	if f.Target < 2 || f.Budget < 2*f.MaxPrice && f.Budget < float64(f.Target)*f.MaxPrice {
		t.Fatalf("example fleet target %d budget %v max price %v", f.Target, f.Budget, f.MaxPrice)
	}
	for _, w := range cfg.Warnings {
		if strings.HasPrefix(w, "poll_interval") {
			t.Fatalf("example config overruns its poll interval: %s", w)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(base))
	if b, err := os.ReadFile("../../config.example.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("fleets: [{name: x, size: {target: 1}}]\n"))
	f.Add([]byte("markets:\n  - name: m\n    query: 'gpu_name in [A,B]'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse(data, "", noEnv, func(string) ([]byte, error) { return []byte("secret"), nil })
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		for _, fl := range cfg.Fleets {
			if fl.Market == nil || fl.Min > fl.Target || fl.Target > fl.Max || fl.Budget < fl.MaxPrice {
				t.Fatalf("invalid fleet accepted: %+v", fl)
			}
			if (fl.Market.Type == vastapi.Bid) != (fl.Bid != nil) {
				t.Fatalf("bid settings mismatch accepted: %+v", fl)
			}
		}
	})
}

func TestQueryWarningsBecomeConfigWarnings(t *testing.T) {
	cfg, err := Parse([]byte(edit(t, `query: "num_gpus=1"`, `query: "num_gpu=1 cluster_id=7"`)), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"markets[0].query (line 4): Unrecognized field: num_gpu; it is still sent, as the vast CLI does",
		"markets[0].query (line 4): field cluster_id is sent to the API but vastwatch cannot re-check it in replies",
	}
	if strings.Join(cfg.Warnings, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings\n%s", strings.Join(cfg.Warnings, "\n"))
	}
}

func TestValueRedactsEveryForm(t *testing.T) {
	v := SecretValue("hunter2")
	var lb strings.Builder
	logger := slog.New(slog.NewTextHandler(&lb, nil))
	logger.Info("x", "v", v)
	for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%v %s %q %#v %+v %x", v, v, v, v, v, v), fmt.Sprintf("%#v", InstanceTemplate{ImageLogin: v}), lb.String()} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("leaked: %s", s)
		}
	}
	if v.Reveal() != "hunter2" || PlainValue("x").String() != "x" {
		t.Fatal("Reveal/plain")
	}
}
