// Command colgen writes vastapi's columns_gen.go; `go generate ./internal/vastapi` runs it in
// that directory. See package colgen.
package main

import (
	"fmt"
	"os"

	"github.com/vastwatch/vastwatch/internal/vastapi/internal/colgen"
)

func main() {
	out, err := colgen.Generate(".")
	if err == nil {
		err = os.WriteFile(colgen.Output, out, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
