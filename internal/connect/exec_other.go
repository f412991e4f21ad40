//go:build !unix

package connect

import "errors"

// Exec is Unix-only: it replaces the process with ssh, which other systems cannot do.
func Exec(argv, env []string) error {
	return errors.New("vastwatch ssh runs on Unix-like systems only; use vastwatch ssh-config and your own ssh client")
}
