package policy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Env is vastwatch's environment (docs/design.md §2), decoded by go-envconfig: booleans as
// strconv.ParseBool reads them (true, false, 1, 0, t, f), durations as time.ParseDuration does,
// lists split at commas. An unset or empty variable leaves its field nil or zero. A set variable
// overrides the config file; a flag given on the command line overrides the variable. The flag
// tag names the flag a variable stands in for: the command line makes the variable's value that
// flag's default and names the variable in the flag's help.
type Env struct {
	// APIKey is VAST_API_KEY, or the content of the file VAST_API_KEY_FILE names (not both). It
	// is read apart from the tagged fields, so no decoding error can carry it.
	APIKey vastapi.Secret

	APIURL        string        `env:"VASTWATCH_API_URL" flag:"api.url"` // e.g. https://console.vast.ai
	ConfigFile    string        `env:"VASTWATCH_CONFIG_FILE" flag:"config.file"`
	StateDir      string        `env:"VASTWATCH_STATE_DIR" flag:"state.dir"`
	ListenAddress []string      `env:"VASTWATCH_WEB_LISTEN_ADDRESS" flag:"web.listen-address"` // comma-separated
	TelemetryPath string        `env:"VASTWATCH_WEB_TELEMETRY_PATH" flag:"web.telemetry-path"`
	WebConfigFile string        `env:"VASTWATCH_WEB_CONFIG_FILE" flag:"web.config.file"`
	LogLevel      string        `env:"VASTWATCH_LOG_LEVEL" flag:"log.level"`   // debug|info|warn|error
	LogFormat     string        `env:"VASTWATCH_LOG_FORMAT" flag:"log.format"` // logfmt|json
	DryRun        *bool         `env:"VASTWATCH_DRY_RUN,noinit" flag:"dry-run"`
	Simulate      *bool         `env:"VASTWATCH_SIMULATE,noinit" flag:"simulate"`
	LeaderElect   *bool         `env:"VASTWATCH_LEADER_ELECT,noinit" flag:"leader-elect"`
	PollInterval  time.Duration `env:"VASTWATCH_POLL_INTERVAL"` // 0 = the file's
}

// EnvFlag is a variable that stands in for a flag: its name, and its value as the flag's
// arguments (nil when it is not set).
type EnvFlag struct {
	Var    string
	Values []string
}

// Flags maps each flag a variable of Env stands in for (its flag tag) to that variable.
func (e Env) Flags() map[string]EnvFlag {
	out := map[string]EnvFlag{}
	v := reflect.ValueOf(e)
	for _, f := range reflect.VisibleFields(v.Type()) {
		flag := f.Tag.Get("flag")
		if flag == "" {
			continue
		}
		ef := EnvFlag{}
		ef.Var, _, _ = strings.Cut(f.Tag.Get("env"), ",")
		switch x := v.FieldByIndex(f.Index).Interface().(type) {
		case string:
			if x != "" {
				ef.Values = []string{x}
			}
		case *bool:
			if x != nil {
				ef.Values = []string{strconv.FormatBool(*x)}
			}
		case []string:
			ef.Values = x
		}
		out[flag] = ef
	}
	return out
}

// envVars is what go-envconfig decodes: Env's tagged fields and the key's two sources.
type envVars struct {
	Env
	Key     string `env:"VAST_API_KEY"`
	KeyFile string `env:"VAST_API_KEY_FILE"`
}

// LoadEnv reads the environment through getenv (an empty value counts as unset). Every problem
// is reported at once; none of the messages contains the API key.
func LoadEnv(ctx context.Context, getenv func(string) string) (Env, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var c envCheck
	v, err := c.decode(ctx, getenv)
	if err != nil {
		return Env{}, fmt.Errorf("environment: %w", err)
	}
	e := v.Env
	e.APIKey = c.apiKey(v.Key, v.KeyFile)
	c.apiURL(e.APIURL)
	c.logging(e.LogLevel, e.LogFormat)
	if e.PollInterval != 0 && e.PollInterval < MinPollInterval {
		c.bad("VASTWATCH_POLL_INTERVAL %q; allowed: a duration of %s or more, such as 60s", getenv("VASTWATCH_POLL_INTERVAL"), MinPollInterval)
	}
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

// decode runs go-envconfig until it accepts what is left. go-envconfig stops at the first value
// it cannot parse; that variable is the last one it looked up, so it is reported and then read
// as unset, and every problem shows at once. Each round drops one variable, so it ends.
func (c *envCheck) decode(ctx context.Context, getenv func(string) string) (envVars, error) {
	dropped := map[string]bool{}
	for {
		var v envVars
		last := ""
		lookup := envconfig.LookuperFunc(func(key string) (string, bool) {
			val := getenv(key)
			if val == "" || dropped[key] {
				return "", false
			}
			last = key
			return val, true
		})
		err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &v, Lookuper: lookup})
		if err == nil || last == "" || dropped[last] || strings.HasPrefix(last, "VAST_API_KEY") {
			return v, err
		}
		dropped[last] = true
		c.bad("%s %q is not %s", last, getenv(last), expected(err))
	}
}

// expected says what a variable go-envconfig refused should hold.
func expected(err error) string {
	var ne *strconv.NumError
	if errors.As(err, &ne) && ne.Func == "ParseBool" {
		return "a boolean; allowed: true or false (or 1, 0)"
	}
	return "a duration; allowed: e.g. 30s, 5m or 1h"
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
func (c *envCheck) apiURL(s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		c.bad("VASTWATCH_API_URL %q is not an http(s) URL; allowed: e.g. https://console.vast.ai", s)
	case u.User != nil || u.RawQuery != "":
		// a key put here would end up in logs; the key goes in VAST_API_KEY only
		c.bad("VASTWATCH_API_URL must not carry credentials or a query; allowed: scheme://host[:port][/path], the key in VAST_API_KEY")
	}
}

// logging checks VASTWATCH_LOG_LEVEL and VASTWATCH_LOG_FORMAT.
func (c *envCheck) logging(level, format string) {
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
