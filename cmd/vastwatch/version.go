package main

import (
	"context"
	"fmt"
	"runtime"
)

func init() {
	register(&command{name: "version", summary: "print version information", run: runVersion})
}

func runVersion(_ context.Context, pio IO, _ []string) error {
	_, err := fmt.Fprintf(pio.Stdout, "vastwatch %s (revision %s, %s)\n", version, revision, runtime.Version())
	return err
}
