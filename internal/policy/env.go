package policy

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Env is vastwatch's environment. Set values override the config file and the flags'
// defaults; empty strings and nil pointers mean "not set".
type Env struct {
	APIKey        vastapi.Secret // VAST_API_KEY, or the content of VAST_API_KEY_FILE
	APIURL        string         // VASTWATCH_API_URL, e.g. https://console.vast.ai
	DryRun        *bool          // VASTWATCH_DRY_RUN
	ConfigFile    string         // VASTWATCH_CONFIG_FILE
	ListenAddress string         // VASTWATCH_WEB_LISTEN_ADDRESS
	TelemetryPath string         // VASTWATCH_WEB_TELEMETRY_PATH
	WebConfigFile string         // VASTWATCH_WEB_CONFIG_FILE
	LogLevel      string         // VASTWATCH_LOG_LEVEL: debug|info|warn|error
	LogFormat     string         // VASTWATCH_LOG_FORMAT: logfmt|json
	StateDir      string         // VASTWATCH_STATE_DIR
	PollInterval  time.Duration  // VASTWATCH_POLL_INTERVAL; 0 = the file's
	LeaderElect   *bool          // VASTWATCH_LEADER_ELECT
	Simulate      *bool          // VASTWATCH_SIMULATE
}

// rawEnv is what go-envconfig decodes; Env is built from it with checks that never echo the key.
type rawEnv struct {
	APIKey        string `env:"VAST_API_KEY"`
	APIKeyFile    string `env:"VAST_API_KEY_FILE"`
	APIURL        string `env:"VASTWATCH_API_URL"`
	DryRun        string `env:"VASTWATCH_DRY_RUN"`
	ConfigFile    string `env:"VASTWATCH_CONFIG_FILE"`
	ListenAddress string `env:"VASTWATCH_WEB_LISTEN_ADDRESS"`
	TelemetryPath string `env:"VASTWATCH_WEB_TELEMETRY_PATH"`
	WebConfigFile string `env:"VASTWATCH_WEB_CONFIG_FILE"`
	LogLevel      string `env:"VASTWATCH_LOG_LEVEL"`
	LogFormat     string `env:"VASTWATCH_LOG_FORMAT"`
	StateDir      string `env:"VASTWATCH_STATE_DIR"`
	PollInterval  string `env:"VASTWATCH_POLL_INTERVAL"`
	LeaderElect   string `env:"VASTWATCH_LEADER_ELECT"`
	Simulate      string `env:"VASTWATCH_SIMULATE"`
}

// LoadEnv reads the environment through getenv (an empty value counts as unset). Every problem
// is reported at once; none of the messages contains the API key.
func LoadEnv(ctx context.Context, getenv func(string) string) (Env, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var raw rawEnv
	lookup := envconfig.LookuperFunc(func(key string) (string, bool) {
		v := getenv(key)
		return v, v != ""
	})
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &raw, Lookuper: lookup}); err != nil {
		return Env{}, fmt.Errorf("environment: %w", err)
	}
	var c envCheck
	e := Env{
		APIKey:        c.apiKey(raw.APIKey, raw.APIKeyFile),
		APIURL:        c.apiURL(raw.APIURL),
		ConfigFile:    raw.ConfigFile,
		ListenAddress: raw.ListenAddress,
		TelemetryPath: raw.TelemetryPath,
		WebConfigFile: raw.WebConfigFile,
		StateDir:      raw.StateDir,
	}
	e.DryRun = c.boolean("VASTWATCH_DRY_RUN", raw.DryRun)
	e.LeaderElect = c.boolean("VASTWATCH_LEADER_ELECT", raw.LeaderElect)
	e.Simulate = c.boolean("VASTWATCH_SIMULATE", raw.Simulate)
	e.LogLevel, e.LogFormat = c.logging(raw.LogLevel, raw.LogFormat)
	e.PollInterval = c.pollInterval(raw.PollInterval)
	if len(c.problems) > 0 {
		return Env{}, fmt.Errorf("environment: %s", strings.Join(c.problems, "\n"))
	}
	return e, nil
}

// envCheck collects every problem with the environment, in a fixed order. No message may
// contain the API key: the key's checks name the variable, never the value.
type envCheck struct{ problems []string }

func (c *envCheck) bad(format string, a ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, a...))
}

// apiKey is the key from VAST_API_KEY or the file VAST_API_KEY_FILE names (one of them).
func (c *envCheck) apiKey(key, file string) vastapi.Secret {
	switch {
	case key != "" && file != "":
		c.bad("VAST_API_KEY and VAST_API_KEY_FILE are both set; allowed: one of them")
	case key != "":
		return vastapi.NewSecret(strings.TrimSpace(key))
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			c.bad("VAST_API_KEY_FILE %q cannot be read (%s); allowed: a readable file holding the key", file, errReason(err))
		} else if k := strings.TrimSpace(string(b)); k == "" {
			c.bad("VAST_API_KEY_FILE %q is empty; allowed: a file holding the key", file)
		} else {
			return vastapi.NewSecret(k)
		}
	}
	return vastapi.Secret{}
}

// apiURL checks VASTWATCH_API_URL: an http(s) URL without credentials or a query.
func (c *envCheck) apiURL(s string) string {
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		c.bad("VASTWATCH_API_URL %q is not an http(s) URL; allowed: e.g. https://console.vast.ai", s)
	case u.User != nil || u.RawQuery != "":
		// a key put here would end up in logs; the key goes in VAST_API_KEY only
		c.bad("VASTWATCH_API_URL must not carry credentials or a query; allowed: scheme://host[:port][/path], the key in VAST_API_KEY")
	}
	return s
}

// boolean reads the variable name's value v; nil when unset or not a boolean.
func (c *envCheck) boolean(name, v string) *bool {
	if v == "" {
		return nil
	}
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		b := true
		return &b
	case "0", "false", "no", "off":
		b := false
		return &b
	}
	c.bad("%s %q is not a boolean; allowed: true or false", name, v)
	return nil
}

// logging checks VASTWATCH_LOG_LEVEL and VASTWATCH_LOG_FORMAT.
func (c *envCheck) logging(level, format string) (string, string) {
	switch level {
	case "", "debug", "info", "warn", "error":
	default:
		c.bad("VASTWATCH_LOG_LEVEL %q; allowed: debug, info, warn or error", level)
	}
	switch format {
	case "", "logfmt", "json":
	default:
		c.bad("VASTWATCH_LOG_FORMAT %q; allowed: logfmt or json", format)
	}
	return level, format
}

// pollInterval reads VASTWATCH_POLL_INTERVAL; 0 when unset or invalid.
func (c *envCheck) pollInterval(s string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := parseDuration(s)
	if err != nil || d < MinPollInterval {
		c.bad("VASTWATCH_POLL_INTERVAL %q; allowed: a duration of %s or more, such as 60s", s, MinPollInterval)
		return 0
	}
	return d
}

// ApplyTo returns a copy of c with the environment's overrides (dry run, poll interval)
// applied; c itself is never modified. The pacing warning is recomputed for the new interval.
func (e Env) ApplyTo(c *Config) *Config {
	out := *c
	if e.DryRun != nil {
		out.DryRun = *e.DryRun
	}
	if e.PollInterval > 0 && e.PollInterval != c.PollInterval {
		out.PollInterval = e.PollInterval
		var ws []string
		for _, w := range c.Warnings {
			if !strings.HasPrefix(w, configPollInterval) {
				ws = append(ws, w)
			}
		}
		v := &validator{d: &decoder{lines: map[string]int{}, set: map[string]bool{}}}
		v.pacing(&out)
		out.Warnings = append(ws, v.warnings...)
	}
	return &out
}
