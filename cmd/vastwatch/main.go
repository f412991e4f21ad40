// Command vastwatch watches the Vast.ai GPU market, exports it to Prometheus and keeps fleets of
// rented instances at their targets inside dollar budgets. main only maps a subcommand's error
// to an exit code; each subcommand lives in a file named after it.
package main

import (
	"context"
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

// command is one subcommand. run returns the process exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, io IO, args []string) int
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

// Main dispatches to a subcommand and returns the exit code.
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
	return c.run(ctx, pio, args[1:])
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
