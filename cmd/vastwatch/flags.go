package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/daemon"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// apiFlags are the flags of every subcommand that talks to the API.
type apiFlags struct {
	url, file string
	sim       daemon.SimOptions
}

// define adds --api.url and --simulate with its seed; full adds the simulator's other settings.
func (a *apiFlags) define(cmd *kingpin.CmdClause, full bool) {
	s := &a.sim
	cmd.Flag("api.url", "Base URL of the Vast.ai API.").Default(daemon.DefaultAPIURL).StringVar(&a.url)
	cmd.Flag("simulate", "Use the in-process simulated market instead of the API.").BoolVar(&s.Enabled)
	cmd.Flag("simulate.seed", "Seed of the simulated market.").Default("1").Int64Var(&s.Seed)
	if !full {
		return
	}
	cmd.Flag("simulate.speed", "Speed-up of the simulator's own delays (boot, drift) and billing.").Default("30").Float64Var(&s.Speed)
	cmd.Flag("simulate.machines", "Simulated machines, about five offers each.").Default("300").IntVar(&s.Machines)
	cmd.Flag("simulate.credit", "Simulated starting credit in $.").Default("100").Float64Var(&s.Credit)
	cmd.Flag("simulate.public-ip", "Address every running simulated instance reports, e.g. 127.0.0.1 to probe local servers (default: one made up per machine).").
		PlaceHolder("IP").StringVar(&s.PublicIP)
}

// withConfig adds --config.file and the API flags to a command that reads the account.
func (a *apiFlags) withConfig(cmd *kingpin.CmdClause) *kingpin.CmdClause {
	cmd.Flag("config.file", "Config file; required against the real API (--simulate uses the embedded example without it).").PlaceHolder("FILE").StringVar(&a.file)
	a.define(cmd, false)
	return cmd
}

// run reads --config.file (the embedded example only with --simulate) with the environment's
// overrides, builds the one-shot client and calls fn; an API that cannot be reached is said so.
func (a *apiFlags) run(c *cli, fn func(*policy.Config, *vastapi.Client) error) error {
	if err := c.envOK(); err != nil {
		return err
	}
	var cfg *policy.Config
	var err error
	switch {
	case a.file != "":
		cfg, err = policy.Load(a.file, c.Getenv)
	case a.sim.Enabled: // the embedded example only ever meets the simulator, never the real API
		cfg, err = policy.Parse(vastwatch.ExampleConfig, "", c.Getenv)
	default:
		return usageErr("--config.file is required (or --simulate to use the simulated market with the example config)")
	}
	if err != nil {
		return err
	}
	client, err := a.client(c, true)
	if err != nil {
		return err
	}
	return reachable(fn(c.env.ApplyTo(cfg), client), client)
}

// client is the read side of the API for a one-shot command: the in-process simulator, or the
// API at --api.url with the environment's key (needKey: none is an error). Either fails fast
// when the API cannot be reached.
func (a *apiFlags) client(c *cli, needKey bool) (*vastapi.Client, error) {
	cfg := vastapi.Config{BaseURL: a.url, Key: c.env.APIKey, Clock: clock.Real{}, UserAgent: "vastwatch/" + version.Version, FailFast: true}
	switch {
	case a.sim.Enabled:
		sim, err := vastsim.New(vastsim.Options{Seed: a.sim.Seed, Clock: cfg.Clock})
		if err != nil {
			return nil, fmt.Errorf("start simulator: %w", err)
		}
		cfg.BaseURL, cfg.Key, cfg.Pacing = "http://vastsim.invalid", vastapi.NewSecret("simulated"), map[string]time.Duration{}
		cfg.HTTPClient = &http.Client{Transport: sim.Transport(), Timeout: time.Minute}
	case needKey && cfg.Key.Empty():
		return nil, fmt.Errorf("no API key: set VAST_API_KEY or VAST_API_KEY_FILE, or use --simulate")
	}
	cl, err := vastapi.New(cfg)
	if err != nil {
		return nil, usageErr("--api.url: %v", err)
	}
	return cl, nil
}

// reachable says in so many words that the API could not be reached, and where it was looked for.
func reachable(err error, c *vastapi.Client) error {
	if vastapi.IsUnreachable(err) {
		return fmt.Errorf("cannot reach the Vast.ai API at %s; check the network and --api.url (%w)", c.BaseURL(), err)
	}
	return err
}

// spelled is how the command line wrote a flag: its short form when that was used, else --name.
func (c *cli) spelled(name string, short byte) string {
	for _, a := range c.args {
		if short != 0 && len(a) > 1 && a[0] == '-' && a[1] == short {
			return "-" + string(short)
		}
	}
	return "--" + name
}

// envOK is the environment's problem, for the subcommands that read it.
func (c *cli) envOK() error {
	if c.envErr != nil {
		return usageErr("%v", c.envErr)
	}
	return nil
}

// finishFlags runs over every flag once all are defined. A flag that a variable of policy.Env
// stands in for names the variable in its help and takes the variable's value, when set, as its
// default: a flag given on the command line thus wins over the environment, which wins over the
// config file (docs/design.md §2). A value a flag refuses is reported under the flag's name,
// which kingpin leaves out.
func finishFlags(app *kingpin.Application, acts map[string]action, e policy.Env) {
	byFlag := e.Flags()
	type group struct {
		get   func(string) *kingpin.FlagClause
		flags []*kingpin.FlagModel
	}
	groups := []group{{app.GetFlag, app.Model().Flags}}
	for cmd := range acts {
		c := app.GetCommand(cmd)
		groups = append(groups, group{c.GetFlag, c.Model().Flags})
	}
	for _, g := range groups {
		for _, m := range g.flags {
			fc := g.get(m.Name)
			if ev, ok := byFlag[m.Name]; ok {
				fc.Help(m.Help + " ($" + ev.Var + ")")
				if ev.Values != nil {
					fc.Default(ev.Values...)
				}
			}
			_, isBool := m.Value.(interface{ IsBoolFlag() bool })
			_, isList := m.Value.(interface{ IsCumulative() bool })
			if !isBool && !isList {
				fc.SetValue(namedValue{m.Value, m.Name})
			}
		}
	}
}

// namedValue puts its flag's name on the errors of a value.
type namedValue struct {
	kingpin.Value
	name string
}

func (n namedValue) Set(s string) error {
	if err := n.Value.Set(s); err != nil {
		return fmt.Errorf("--%s %q: %w", n.name, s, err)
	}
	return nil
}
