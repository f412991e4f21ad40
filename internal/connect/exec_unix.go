//go:build unix

package connect

import (
	"fmt"
	"os/exec"
	"syscall"
)

// Exec replaces this process with the system ssh, found on PATH, running argv (argv[0] "ssh")
// with env less the API key (SSHEnv): the terminal, signals and exit code are then ssh's own.
// It returns only on failure.
func Exec(argv, env []string) error {
	path, err := exec.LookPath("ssh")
	if err != nil {
		return errNoSSH
	}
	if err := syscall.Exec(path, argv, SSHEnv(env)); err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return nil
}
