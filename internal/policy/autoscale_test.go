package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// autoscaled is base with an autoscale section at line 12 and a cold pool; cases edit it, so
// line numbers refer to it.
const autoscaled = base + `    autoscale:
      demand:
        prometheus: {url: "http://prometheus:9090"}
        query: 'sum(queue_depth)'
        per_instance: 10
      price_curve:
        - {instances: 2, max_price_dollars_per_hour: 0.60}
        - {instances: 6, max_price_dollars_per_hour: 0.35}
      stabilization: {scale_up: 0s, scale_down: 10m}
    cold: {instances: 1}
`

func editAuto(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(autoscaled, old) {
		t.Fatalf("autoscaled has no %q", old)
	}
	return strings.Replace(autoscaled, old, new, 1)
}

func TestAutoscaleConfigIsReadIntoTheModel(t *testing.T) {
	cfg, err := Parse([]byte(autoscaled), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Fleets[0]
	a := f.Autoscale
	if a == nil || a.Demand == nil || f.Cold != 1 {
		t.Fatalf("autoscale %+v, cold %d", a, f.Cold)
	}
	d := a.Demand
	if d.URL.Reveal() != "http://prometheus:9090" || d.Query != "sum(queue_depth)" || d.PerInstance != 10 || d.StaleAfter != DefaultStaleAfter {
		t.Fatalf("demand %+v", d)
	}
	if len(a.PriceCurve) != 2 || a.PriceCurve[1] != (CurvePoint{Instances: 6, MaxPrice: 0.35}) ||
		a.StabilizeUp != 0 || a.StabilizeDown != 10*time.Minute {
		t.Fatalf("curve %+v, windows %v %v", a.PriceCurve, a.StabilizeUp, a.StabilizeDown)
	}
	for k, want := range map[int]float64{1: 0.60, 2: 0.60, 3: 0.35, 6: 0.35} {
		if got, ok := a.CurvePrice(k); !ok || got != want {
			t.Errorf("rank %d: %v %v, want %v", k, got, ok, want)
		}
	}
	if _, ok := a.CurvePrice(7); ok {
		t.Error("rank 7 is beyond the curve's last point")
	}
}

func TestAutoscaleDefaultsAndTheFloorSchedule(t *testing.T) {
	yml := editAuto(t, "      stabilization: {scale_up: 0s, scale_down: 10m}\n", "")
	yml = strings.Replace(yml, "    max_price_dollars_per_hour: 0.5\n",
		"    schedule: [{cron: \"0 9 * * *\", min: 2}]\n    max_price_dollars_per_hour: 0.5\n", 1)
	cfg, err := Parse([]byte(yml), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Fleets[0]
	if f.Autoscale.StabilizeDown != DefaultStabilizeDown || f.Autoscale.StabilizeUp != 0 {
		t.Fatalf("default windows %v %v", f.Autoscale.StabilizeUp, f.Autoscale.StabilizeDown)
	}
	morning := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	if f.MinAt(morning) != 2 || f.MinAt(morning.Add(-2*time.Hour)) != 2 {
		t.Fatalf("the schedule sets the floor: %d", f.MinAt(morning))
	}
	if f.TargetAt(morning) != 2 {
		t.Fatalf("the fallback target is size.target (2) within the floor: %d", f.TargetAt(morning))
	}
}

func TestHTTPConfigIsPrometheusOwn(t *testing.T) {
	yml := editAuto(t, `prometheus: {url: "http://prometheus:9090"}`,
		`prometheus: {url: "http://prometheus:9090", http_config: {basic_auth: {username: u, password: p}, tls_config: {insecure_skip_verify: true}}}`)
	cfg, err := Parse([]byte(yml), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Fleets[0].Autoscale.Demand.HTTP
	if h.BasicAuth == nil || h.BasicAuth.Username != "u" || string(h.BasicAuth.Password) != "p" || !h.TLSConfig.InsecureSkipVerify {
		t.Fatalf("http_config %+v", h)
	}
}

func TestBadAutoscaleConfigs(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"no source", editAuto(t, autoscaled[len(base)+len("    autoscale:\n"):strings.Index(autoscaled, "      stabilization")], ""),
			[]string{`fleets[0].autoscale (line 12): sets no source; allowed: demand, price_curve or both`}},
		{"no url", editAuto(t, `prometheus: {url: "http://prometheus:9090"}`, `prometheus: {}`),
			[]string{`fleets[0].autoscale.demand.prometheus.url (line 14): required; allowed: the Prometheus server's base URL, e.g. http://prometheus:9090, or {env: NAME} or {file: PATH}`}},
		{"url without a scheme", editAuto(t, `"http://prometheus:9090"`, `"prometheus:9090?token=abc"`),
			[]string{`fleets[0].autoscale.demand.prometheus.url (line 14): not an http(s) URL with a host; allowed: the Prometheus server's base URL, e.g. http://prometheus:9090`}},
		{"unknown http_config key", editAuto(t, `{url: "http://prometheus:9090"}`, `{url: "http://prometheus:9090", http_config: {bearer: x}}`),
			[]string{`fleets[0].autoscale.demand.prometheus.http_config (line 14): unmarshal errors:
  line 1: field bearer not found in type config.plain; allowed: Prometheus' http_config keys (authorization, basic_auth, oauth2, tls_config, proxy_url, ...)`}},
		{"no query", editAuto(t, "        query: 'sum(queue_depth)'\n", ""),
			[]string{`fleets[0].autoscale.demand.query (line 13): required; allowed: a PromQL expression whose one sample is the load, e.g. sum(vllm:num_requests_waiting)`}},
		{"per_instance zero", editAuto(t, "per_instance: 10", "per_instance: 0"),
			[]string{`fleets[0].autoscale.demand.per_instance (line 16): 0 is not positive; allowed: how much of the query's value one instance serves, e.g. 10`}},
		{"per_instance missing", editAuto(t, "        per_instance: 10\n", ""),
			[]string{`fleets[0].autoscale.demand.per_instance (line 13): required; allowed: how much of the query's value one instance serves, e.g. 10`}},
		{"stale_after too long", editAuto(t, "per_instance: 10\n", "per_instance: 10\n        stale_after: 48h\n"),
			[]string{`fleets[0].autoscale.demand.stale_after (line 17): 48h0m0s is outside (0s, 24h0m0s]; allowed: how long the last good value holds, e.g. 5m`}},
		{"curve counts that do not rise", editAuto(t, "{instances: 6,", "{instances: 2,"),
			[]string{`fleets[0].autoscale.price_curve[1].instances (line 19): 2 does not rise above the previous point's 2; allowed: instance counts that rise along the curve`}},
		{"curve prices that do not fall", editAuto(t, "max_price_dollars_per_hour: 0.35}", "max_price_dollars_per_hour: 0.70}"),
			[]string{`fleets[0].autoscale.price_curve[1].max_price_dollars_per_hour (line 19): 0.7 does not fall below the previous point's 0.6; allowed: prices that fall as instances rise`}},
		{"curve point without a price", editAuto(t, "{instances: 2, max_price_dollars_per_hour: 0.60}", "{instances: 2}"),
			[]string{`fleets[0].autoscale.price_curve[0].max_price_dollars_per_hour (line 18): required; allowed: the most each of these instances may cost in whole-instance $/h, e.g. 0.35`}},
		{"negative window", editAuto(t, "scale_up: 0s", "scale_up: -1m"),
			[]string{`fleets[0].autoscale.stabilization.scale_up (line 20): -1m0s is outside [0s, 24h0m0s]; allowed: how long a scale-up waits for the demand to hold, e.g. 0s`}},
		{"cold above max", editAuto(t, "cold: {instances: 1}", "cold: {instances: 4}"),
			[]string{`fleets[0].cold.instances (line 21): 4 is above size.max 3; allowed: at most size.max stopped instances`}},
		{"cold with scale_down stop", editAuto(t, "    cold: {instances: 1}\n", "    cold: {instances: 1}\n    scale_down: stop\n"),
			[]string{`fleets[0].cold.instances (line 21): a cold pool with scale_down: stop; allowed: one of them (stop keeps every stopped instance, cold keeps up to 1)`}},
		{"target in an autoscaled fleet's schedule", editAuto(t, "    max_price_dollars_per_hour: 0.5\n", "    schedule: [{cron: \"0 9 * * *\", target: 2}]\n    max_price_dollars_per_hour: 0.5\n"),
			[]string{`fleets[0].schedule[0].target (line 9): an autoscaled fleet's schedule sets min, not target; allowed: min, a floor from size.min to size.max`}},
		{"min in a plain fleet's schedule", edit(t, "    max_price_dollars_per_hour: 0.5\n", "    schedule: [{cron: \"0 9 * * *\", min: 2}]\n    max_price_dollars_per_hour: 0.5\n"),
			[]string{`fleets[0].schedule[0].min (line 9): only an autoscaled fleet's schedule sets min; allowed: target, from size.min to size.max`}},
		{"floor outside the size", editAuto(t, "    max_price_dollars_per_hour: 0.5\n", "    schedule: [{cron: \"0 9 * * *\", min: 5}]\n    max_price_dollars_per_hour: 0.5\n"),
			[]string{`fleets[0].schedule[0].min (line 9): 5 is outside size 1..3; allowed: a min from 1 to 3`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), "", noEnv)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *ValidationError, got %v", err)
			}
			got := make([]string, len(ve.Problems))
			for i, p := range ve.Problems {
				got[i] = p.String()
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("problems\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// The demand URL may carry a token: a bad one is never echoed.
func TestABadDemandURLIsNotEchoed(t *testing.T) {
	yml := editAuto(t, `"http://prometheus:9090"`, `"ftp://user:s3cr3t@prometheus:9090"`)
	_, err := Parse([]byte(yml), "", noEnv)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %v", err)
	}
}
