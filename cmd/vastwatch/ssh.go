package main

import (
	"context"

	"github.com/alecthomas/kingpin/v2"

	"github.com/vastwatch/vastwatch/internal/connect"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// defineSSH adds ssh and ssh-config, which only list instances; internal/connect does the work.
func defineSSH(app *kingpin.Application, c *cli, acts map[string]action) {
	var s, sc apiFlags
	cmd := s.withConfig(app.Command("ssh", "Run the system ssh to a running fleet instance as root: its public address when it has one, else Vast's ssh proxy. INDEX counts the fleet's running instances by id from 0 (the default). "+readsKey))
	fleet, sel, rest := cmd.Arg("fleet", "The fleet.").Required().String(), cmd.Arg("instance", "An instance id or INDEX.").String(), cmd.Arg("command", "After --, the command to run on the instance.").Strings()
	acts["ssh"] = func(ctx context.Context) error {
		req, err := connect.ParseArgs(*fleet, *sel, *rest, c.args)
		if err != nil {
			return usageErr("%v", err)
		}
		return s.run(c, func(p *policy.Config, l *vastapi.Client) error { return connect.SSH(ctx, l, p, req, c.Stderr) })
	}
	sc.withConfig(app.Command("ssh-config", "Print an OpenSSH Host block (vw-FLEET-ID) per running fleet instance, for Include in ~/.ssh/config. "+readsKey))
	acts["ssh-config"] = func(ctx context.Context) error {
		return sc.run(c, func(p *policy.Config, l *vastapi.Client) error { return connect.PrintConfig(ctx, l, p.Owner, c.Stdout) })
	}
}
