// Command vastwatch watches the Vast.ai GPU market, exports it to Prometheus and keeps fleets of
// rented instances at their targets inside dollar budgets. It only parses flags, dispatches to
// a subcommand and wires the packages; each subcommand lives in a file named after it and
// returns an error, which main alone turns into an exit code (docs/design.md §2).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Build information, stamped with -ldflags "-X main.version=… -X main.revision=…".
var (
	version  = "dev"
	revision = "unknown"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, io IO, args []string) error
}

// IO is what a subcommand may touch of the process, so tests can run it in-process.
type IO struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Signals delivers SIGHUP etc. to `run`; nil when not wired.
	Signals <-chan os.Signal
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	os.Exit(Main(ctx, IO{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Signals: hup}, os.Args[1:]))
}

// exitError is an error with the exit code it calls for. One with no message has been
// reported by the command already (flag errors, a config's problem list).
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

// usageErr is a command line the command cannot run with: exit 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// reported is an error the command has printed itself; the process exits with code.
func reported(code int) error { return &exitError{code: code} }

// Main dispatches to a subcommand and returns the exit code: 0 on success or --help, 2 for a
// command line that cannot run, 1 for any other failure.
func Main(ctx context.Context, pio IO, args []string) int {
	if pio.Getenv == nil {
		pio.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(pio.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(pio.Stderr, "vastwatch: unknown command %q (try: vastwatch help)\n", args[0])
		return 2
	}
	return exitCode(pio.Stderr, c.name, c.run(ctx, pio, args[1:]))
}

// exitCode prints err under the command's name (unless the command reported it) and maps it
// to the process's exit code.
func exitCode(stderr io.Writer, name string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "vastwatch %s: %s\n", name, msg)
	}
	return code
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vastwatch <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
}

// parseFlags parses args into fs; a parse error has been printed by fs (exit 2), and --help
// is flag.ErrHelp (exit 0).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return reported(2)
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q", fs.Args())
	}
	return nil
}

// given reports whether the flag was set on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}
