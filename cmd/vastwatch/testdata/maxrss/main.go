// Command maxrss runs a command with its own standard streams and writes the command's peak
// resident set size (KiB), wall time (ns), exit code and CPU time, user and system (ns), to the
// file named first:
//
//	maxrss RESULT-FILE COMMAND [ARG...]
//
// The benchmarks of cmd/vastwatch measure the built binary through it. They cannot read the
// peak themselves: Linux counts the memory of the process a child was exec'd from into the
// child's ru_maxrss, and a benchmark process is larger than the vastwatch it measures, while
// this program is a few megabytes.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: maxrss RESULT-FILE COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "maxrss:", err)
		os.Exit(1)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "maxrss: no resource usage on this system")
		os.Exit(1)
	}
	result := fmt.Sprintf("%d %d %d %d\n", ru.Maxrss, wall.Nanoseconds(), cmd.ProcessState.ExitCode(),
		cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	if err := os.WriteFile(os.Args[1], []byte(result), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "maxrss:", err)
		os.Exit(1)
	}
}
