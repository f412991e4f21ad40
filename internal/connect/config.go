package connect

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// User is who vastwatch logs in as: Vast's containers give ssh keys to root.
const User = "root"

// option is one ssh_config option, written into each Host block and passed as -o to ssh.
type option struct{ key, value string }

// options are the settings every connection gets besides host, port and user:
//   - HostKeyAlias: host keys are remembered per instance (vw-FLEET-ID), not per host:port,
//     which Vast hands to the next rental once an instance is gone; a new instance is a new
//     alias and never trips "REMOTE HOST IDENTIFICATION HAS CHANGED" over an old one's key;
//   - StrictHostKeyChecking accept-new: a new instance's key is learnt on first use without a
//     prompt (rsync and scp cannot answer one), a changed key for the same instance still fails;
//   - ServerAliveInterval/CountMax: a long rsync over a dead connection ends within two
//     minutes instead of hanging.
func options(t Target) []option {
	return []option{
		{"HostKeyAlias", t.Alias()},
		{"StrictHostKeyChecking", "accept-new"},
		{"ServerAliveInterval", "30"},
		{"ServerAliveCountMax", "4"},
	}
}

// WriteConfig writes an OpenSSH config with one Host block per running instance of owner's
// fleets (Running), for `Include` from ~/.ssh/config or `ssh -F`; those without a usable
// endpoint are listed in comments. Every value in it is checked (see the package comment), so
// the file holds nothing but these blocks.
func WriteConfig(w io.Writer, owner string, instances []vastapi.Instance) error {
	targets, unreachable := Running(instances, owner)
	var b strings.Builder
	fmt.Fprintf(&b, "# vastwatch ssh-config: the running instances of the fleets of owner %s, %d in all.\n", owner, len(targets))
	b.WriteString("# Made by `vastwatch ssh-config`; make it again rather than edit it. Use it with\n")
	b.WriteString("# `Include` at the top of ~/.ssh/config, or `ssh -F FILE`.\n")
	for _, t := range targets {
		how := "direct"
		if !t.SSH.Direct {
			how = "through Vast's ssh proxy"
		}
		fmt.Fprintf(&b, "\n# fleet %s, instance %d, index %d, %s\n", t.Fleet, t.ID, t.Index, how)
		fmt.Fprintf(&b, "Host %s\n", t.Alias())
		fmt.Fprintf(&b, "  HostName %s\n  Port %s\n  User %s\n", t.SSH.Host, strconv.Itoa(t.SSH.Port), User)
		for _, o := range options(t) {
			fmt.Fprintf(&b, "  %s %s\n", o.key, o.value)
		}
	}
	for _, t := range unreachable {
		fmt.Fprintf(&b, "\n# fleet %s, instance %d runs but has no usable ssh endpoint yet\n", t.Fleet, t.ID)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
