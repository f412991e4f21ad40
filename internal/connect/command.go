package connect

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Command is the argv of the system ssh (argv[0] "ssh") logging in to t as root with the
// options of the generated config, and running remote there when it is not empty. The host
// comes after "--", so nothing can read as an option of ssh.
func Command(t Target, remote []string) []string {
	argv := []string{"ssh", "-p", strconv.Itoa(t.SSH.Port), "-l", User}
	for _, o := range options(t) {
		argv = append(argv, "-o", o.key+"="+o.value)
	}
	argv = append(argv, "--", t.SSH.Host)
	return append(argv, remote...)
}

// Request is what `vastwatch ssh FLEET [ID|INDEX] [-- COMMAND...]` asks for.
type Request struct {
	Fleet, Instance string
	Remote          []string // the command to run there; none for a login shell
}

// ParseArgs reads a Request from what the command line parser made of the arguments (the
// fleet, the instance argument, the rest) and the raw arguments: after "--" every argument is
// positional, so a parser fills the instance argument with the command's first word when no
// instance was given before "--".
func ParseArgs(fleet, sel string, rest, args []string) (Request, error) {
	positional := []string{fleet}
	if sel != "" {
		positional = append(positional, sel)
	}
	positional = append(positional, rest...)
	before, remote := positional, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		n := len(args) - i - 1
		if n == 0 {
			return Request{}, errors.New("nothing after --; allowed: the command to run on the instance, e.g. -- nvidia-smi")
		}
		if n > len(positional) {
			return Request{}, errors.New("cannot tell the arguments before -- from those after it")
		}
		before, remote = positional[:len(positional)-n], positional[len(positional)-n:]
	}
	switch len(before) {
	case 0:
		return Request{}, errors.New("the fleet is required: vastwatch ssh FLEET [ID|INDEX] [-- COMMAND...]")
	case 1:
		return Request{Fleet: before[0], Remote: remote}, nil
	case 2:
		return Request{Fleet: before[0], Instance: before[1], Remote: remote}, nil
	}
	return Request{}, fmt.Errorf("unexpected %q; put the command to run after --: vastwatch ssh FLEET [ID|INDEX] -- COMMAND...", before[2])
}

// errNoSSH is Exec's error when PATH has no ssh.
var errNoSSH = errors.New("no ssh on PATH: install an OpenSSH client (Debian and Ubuntu: apt-get install openssh-client; macOS has one) or add it to PATH")

// SSHEnv is env without the Vast API key's variables: ssh and whatever it runs (a ProxyCommand,
// SendEnv) have no business with the key.
func SSHEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "VAST_API_KEY=") && !strings.HasPrefix(kv, "VAST_API_KEY_FILE=") {
			out = append(out, kv)
		}
	}
	return out
}
