package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadEnv(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("file-key-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("everything set", func(t *testing.T) {
		e, err := LoadEnv(context.Background(), envOf(map[string]string{
			"VAST_API_KEY": "abc-key", "VASTWATCH_API_URL": "http://127.0.0.1:9999", "VASTWATCH_DRY_RUN": "true",
			"VASTWATCH_LOG_LEVEL": "debug", "VASTWATCH_LOG_FORMAT": "json", "VASTWATCH_POLL_INTERVAL": "30s",
			"VASTWATCH_STATE_DIR": "/tmp/s", "VASTWATCH_CONFIG_FILE": "c.yaml", "VASTWATCH_LEADER_ELECT": "false",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if e.APIKey.Reveal() != "abc-key" || e.APIURL != "http://127.0.0.1:9999" || e.DryRun == nil || !*e.DryRun ||
			e.LogLevel != "debug" || e.LogFormat != "json" || e.PollInterval != 30*time.Second || e.StateDir != "/tmp/s" ||
			e.ConfigFile != "c.yaml" || e.LeaderElect == nil || *e.LeaderElect || e.Simulate != nil {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("go-envconfig's booleans, durations and lists", func(t *testing.T) {
		e, err := LoadEnv(context.Background(), envOf(map[string]string{
			"VASTWATCH_DRY_RUN": "1", "VASTWATCH_SIMULATE": "F", "VASTWATCH_POLL_INTERVAL": "1m30s",
			"VASTWATCH_WEB_LISTEN_ADDRESS": ":9861,[::1]:9862",
		}))
		if err != nil || e.DryRun == nil || !*e.DryRun || e.Simulate == nil || *e.Simulate || e.LeaderElect != nil ||
			e.PollInterval != 90*time.Second || strings.Join(e.ListenAddress, " ") != ":9861 [::1]:9862" {
			t.Fatalf("%+v %v", e, err)
		}
		_, err = LoadEnv(context.Background(), envOf(map[string]string{"VASTWATCH_POLL_INTERVAL": "500ms"}))
		if err == nil || !strings.Contains(err.Error(), `VASTWATCH_POLL_INTERVAL "500ms"; allowed: a duration of`) {
			t.Fatalf("a poll interval under the minimum: %v", err)
		}
	})
	t.Run("key from a file, trimmed", func(t *testing.T) {
		e, err := LoadEnv(context.Background(), envOf(map[string]string{"VAST_API_KEY_FILE": keyFile}))
		if err != nil || e.APIKey.Reveal() != "file-key-123" {
			t.Fatalf("%v %v", e, err)
		}
	})
	t.Run("nothing set", func(t *testing.T) {
		e, err := LoadEnv(context.Background(), envOf(nil))
		if err != nil || !e.APIKey.Empty() || e.DryRun != nil {
			t.Fatalf("%+v %v", e, err)
		}
	})
	t.Run("every problem at once and never the key", func(t *testing.T) {
		_, err := LoadEnv(context.Background(), envOf(map[string]string{
			"VAST_API_KEY": "sekrit-key", "VAST_API_KEY_FILE": keyFile, "VASTWATCH_DRY_RUN": "maybe",
			"VASTWATCH_API_URL": "https://user:sekrit-key@console.vast.ai", "VASTWATCH_LOG_FORMAT": "xml",
			"VASTWATCH_POLL_INTERVAL": "90", "VASTWATCH_SIMULATE": "perhaps",
		}))
		if err == nil {
			t.Fatal("no error")
		}
		msg := err.Error()
		for _, want := range []string{"both set", `VASTWATCH_DRY_RUN "maybe" is not a boolean`, "must not carry credentials",
			`VASTWATCH_LOG_FORMAT "xml"`, `VASTWATCH_POLL_INTERVAL "90" is not a duration`, `VASTWATCH_SIMULATE "perhaps" is not a boolean`} {
			if !strings.Contains(msg, want) {
				t.Errorf("missing %q in %s", want, msg)
			}
		}
		if strings.Contains(msg, "sekrit-key") {
			t.Errorf("key leaked: %s", msg)
		}
	})
}

func TestEnvApplyToOverridesWithoutMutating(t *testing.T) {
	cfg, err := Parse([]byte(base), "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	out := Env{DryRun: &yes, PollInterval: 6 * time.Second}.ApplyTo(cfg)
	if !out.DryRun || out.PollInterval != 6*time.Second || cfg.DryRun || cfg.PollInterval != time.Minute {
		t.Fatalf("out %+v cfg %+v", out, cfg)
	}
	if len(out.Warnings) != 0 {
		t.Fatalf("one search fits 6s: warnings %q", out.Warnings)
	}
	out = Env{PollInterval: time.Second}.ApplyTo(cfg)
	if len(out.Warnings) != 1 || !strings.HasPrefix(out.Warnings[0], "poll_interval: 1 distinct searches need 6s per poll") {
		t.Fatalf("warnings %q", out.Warnings)
	}
}

func TestEnvFlagsNameTheVariableAndItsValue(t *testing.T) {
	yes := false
	e := Env{StateDir: "/s", DryRun: &yes, ListenAddress: []string{":1", ":2"}, PollInterval: time.Minute}
	got := e.Flags()
	want := map[string]EnvFlag{
		"state.dir": {"VASTWATCH_STATE_DIR", []string{"/s"}}, "dry-run": {"VASTWATCH_DRY_RUN", []string{"false"}},
		"web.listen-address": {"VASTWATCH_WEB_LISTEN_ADDRESS", []string{":1", ":2"}}, "simulate": {"VASTWATCH_SIMULATE", nil},
		"api.url": {"VASTWATCH_API_URL", nil},
	}
	for flag, w := range want {
		if g := got[flag]; g.Var != w.Var || strings.Join(g.Values, ",") != strings.Join(w.Values, ",") || (g.Values == nil) != (w.Values == nil) {
			t.Errorf("--%s: %+v, want %+v", flag, g, w)
		}
	}
	if len(got) != 11 {
		t.Errorf("%d flags have a variable, want 11: %v", len(got), got)
	}
}
