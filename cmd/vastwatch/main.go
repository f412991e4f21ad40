// Command vastwatch watches the Vast.ai GPU market, exports it to Prometheus and keeps fleets of
// rented instances at their targets inside dollar budgets. It only parses flags, dispatches to
// a subcommand and wires the packages; each subcommand lives in a file named after it and
// returns an error, which main alone turns into an exit code (docs/design.md §2).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// IO is what a subcommand may touch of the process, so tests can run it in-process.
type IO struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Signals delivers SIGHUP etc. to `run`; nil when not wired.
	Signals <-chan os.Signal
}

// cli is one invocation: its IO, the environment read once, and what the command line held.
type cli struct {
	IO
	env    policy.Env
	envErr error
	log    promslog.Config
	args   []string
	given  map[string]bool // flags given on the command line, by name
}

// action runs a subcommand once its flags are parsed.
type action func(ctx context.Context) error

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	os.Exit(Main(ctx, IO{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Signals: hup}, os.Args[1:]))
}

// newApp defines the command line: the subcommands and their flags, which --help, the man
// page and the completion scripts are made from. Help goes to stdout, errors to stderr.
func newApp(c *cli) (*kingpin.Application, map[string]action) {
	app := kingpin.New("vastwatch", "Watches the Vast.ai GPU market, exports it as Prometheus metrics and keeps fleets of rented instances at their targets inside dollar budgets.")
	app.UsageWriter(c.Stdout).ErrorWriter(c.Stderr).Version(version.Print("vastwatch"))
	app.HelpFlag.Short('h')
	promslogflag.AddFlags(app, &c.log)
	c.log.Writer = c.Stderr
	acts := map[string]action{
		"run":      defineRun(app.Command("run", "The daemon: poll the market, export metrics, keep fleets at target. "+readsKey+" "+pollEnv), c),
		"check":    defineCheck(app.Command("check", "Validate a config file and print what it sets up; exit 1 on any problem. "+pollEnv), c),
		"search":   defineSearch(app.Command("search", "One search: a vast CLI query, or a market of the config; table, json or csv. Sends the API key of VAST_API_KEY or VAST_API_KEY_FILE when set; "+envStandsIn), c),
		"plan":     definePlan(app.Command("plan", "Observe and plan once, print the actions and why; never mutates anything. "+readsKey+" "+pollEnv), c),
		"sim":      defineSim(app.Command("sim", "Serve the simulated Vast.ai REST API on a port."), c),
		"record":   defineRecord(app.Command("record", "Run's observation loop without a scaler, recording each poll's markets into --record.dir (a read-only key will do). "+readsKey+" VASTWATCH_POLL_INTERVAL overrides the config file's poll_interval."), c),
		"backtest": defineBacktest(app.Command("backtest", "Replay configs against a recording or a simulated scenario and report what each would have cost (docs/backtest.md)."), c),
	}
	defineSSH(app, c, acts)
	defineInfo(app, c, acts)
	finishFlags(app, acts, c.env)
	return app, acts
}

// The variables the subcommands read, as their help says; the flags name theirs.
const (
	readsKey    = "Reads the API key from VAST_API_KEY or VAST_API_KEY_FILE; " + envStandsIn
	envStandsIn = "the VASTWATCH_* variables named at the flags stand in for flags not given."
	pollEnv     = "VASTWATCH_POLL_INTERVAL and VASTWATCH_DRY_RUN override the config file's poll_interval and dry_run."
)

// Main parses args, runs the subcommand and returns the exit code: 0 on success, --help and
// --version, 2 for a command line that cannot run, 1 for any other failure.
func Main(ctx context.Context, pio IO, args []string) int {
	if pio.Getenv == nil {
		pio.Getenv = func(string) string { return "" }
	}
	c := &cli{IO: pio, args: args}
	c.env, c.envErr = policy.LoadEnv(ctx, pio.Getenv)
	app, acts := newApp(c)
	if len(args) == 0 {
		app.Usage(nil)
		return 2
	}
	if name := args[0]; !strings.HasPrefix(name, "-") && name != "help" && acts[name] == nil {
		fmt.Fprintf(pio.Stderr, "vastwatch: unknown command %q (try: vastwatch --help)\n", name)
		return 2
	}
	name, err, exit := parse(app, args)
	switch {
	case exit != nil:
		return *exit
	case err != nil:
		hint := "vastwatch --help"
		if acts[args[0]] != nil {
			hint = "vastwatch " + args[0] + " --help"
		}
		fmt.Fprintf(pio.Stderr, "vastwatch: %v (try: %s)\n", err, hint)
		return 2
	}
	c.given = givenFlags(app, args)
	return exitCode(pio.Stderr, name, acts[name](ctx))
}

// parse runs kingpin on args. After --help, --version or a completion kingpin ends the process
// itself; here its terminate ends only the goroutine that parses, and Main returns the code.
func parse(app *kingpin.Application, args []string) (name string, err error, exit *int) {
	done := make(chan struct{})
	app.Terminate(func(code int) {
		exit = &code
		runtime.Goexit()
	})
	go func() {
		defer close(done)
		name, err = app.Parse(args)
	}()
	<-done
	return name, err, exit
}

// givenFlags names the flags given on the command line (kingpin keeps only their values).
func givenFlags(app *kingpin.Application, args []string) map[string]bool {
	given := map[string]bool{}
	if pc, err := app.ParseContext(args); err == nil {
		for _, el := range pc.Elements {
			if f, ok := el.Clause.(*kingpin.FlagClause); ok {
				given[f.Model().Name] = true
			}
		}
	}
	return given
}

// exitError is an error with the exit code it calls for. One with no message has been
// reported by the command already (a config's problem list).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func (e *exitError) ExitCode() int { return e.code }

// usageErr is a command line the command cannot run with: exit 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// reported is an error the command has printed itself; the process exits with code.
func reported(code int) error { return &exitError{code: code} }

// exitCode prints err under the command's name (unless the command reported it) and maps it
// to the process's exit code.
func exitCode(stderr io.Writer, name string, err error) int {
	if err == nil {
		return 0
	}
	code := 1
	var ee interface{ ExitCode() int } // *exitError, and a package's usage error
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "vastwatch %s: %s\n", name, msg)
	}
	return code
}
