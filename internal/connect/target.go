package connect

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Target is one running instance of a fleet and where ssh reaches it.
type Target struct {
	Fleet string
	ID    int64
	// Index is the instance's place among its fleet's running instances, ordered by id (the
	// oldest rental first), counting from 0.
	Index int
	SSH   vastapi.SSHEndpoint
}

// Alias is the instance's Host name in the generated config: vw-FLEET-ID.
func (t Target) Alias() string { return "vw-" + t.Fleet + "-" + strconv.FormatInt(t.ID, 10) }

// fleetNameRe is the config's rule for fleet names (internal/policy): a label whose fleet part
// breaks it was not written by vastwatch, and its text must not reach a config file.
var fleetNameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// ours is the fleet of an instance carrying owner's tag, or "" for anyone else's.
func ours(in *vastapi.Instance, owner string) string {
	o, fleet, _, ok := scaler.ParseLabel(in.Label.Or(""))
	if !ok || owner == "" || o != owner || !fleetNameRe.MatchString(fleet) || in.ID <= 0 {
		return ""
	}
	return fleet
}

// Running is every running instance of owner's fleets that ssh can reach, by fleet and then id,
// each indexed within its fleet. Unreachable lists the running ones without a usable endpoint.
func Running(instances []vastapi.Instance, owner string) (targets []Target, unreachable []Target) {
	for i := range instances {
		in := &instances[i]
		fleet := ours(in, owner)
		if fleet == "" || in.Status() != "running" {
			continue
		}
		e, ok := in.SSH()
		t := Target{Fleet: fleet, ID: in.ID, SSH: e}
		if !ok {
			unreachable = append(unreachable, t)
			continue
		}
		targets = append(targets, t)
	}
	byFleetID := func(a, b Target) int { return cmp.Or(cmp.Compare(a.Fleet, b.Fleet), cmp.Compare(a.ID, b.ID)) }
	slices.SortFunc(targets, byFleetID)
	slices.SortFunc(unreachable, byFleetID)
	for i := range targets {
		if i > 0 && targets[i-1].Fleet == targets[i].Fleet {
			targets[i].Index = targets[i-1].Index + 1
		}
	}
	return targets, unreachable
}

// Pick finds the instance of fleet that sel names among the account's instances: "" the first
// (index 0); a number that is the id of one of the fleet's instances, that instance; any other
// number, the instance at that index. A fleet that left cfg is found while instances carry its
// label.
func Pick(instances []vastapi.Instance, cfg *policy.Config, fleet, sel string) (Target, error) {
	owner := cfg.Owner
	all, _ := Running(instances, owner)
	var running []Target
	for _, t := range all {
		if t.Fleet == fleet {
			running = append(running, t)
		}
	}
	var listed []*vastapi.Instance
	for i := range instances {
		if ours(&instances[i], owner) == fleet {
			listed = append(listed, &instances[i])
		}
	}
	if len(listed) == 0 && cfg.Fleet(fleet) == nil {
		names := make([]string, len(cfg.Fleets))
		for i, f := range cfg.Fleets {
			names[i] = f.Name
		}
		return Target{}, fmt.Errorf("no fleet %q: it is not in the config and no instance carries its label (fleets: %s)", fleet, strings.Join(names, ", "))
	}
	n, err := strconv.ParseInt(sel, 10, 64)
	if sel != "" && (err != nil || n < 0) {
		return Target{}, fmt.Errorf("%q is neither an instance id nor an index; allowed: an instance id of fleet %s or an index from 0 (vastwatch ssh-config lists them)", sel, fleet)
	}
	for _, in := range listed {
		if sel != "" && in.ID == n {
			if i := slices.IndexFunc(running, func(t Target) bool { return t.ID == n }); i >= 0 {
				return running[i], nil
			}
			if in.Status() == "running" {
				return Target{}, fmt.Errorf("instance %d of fleet %s runs but has no usable ssh endpoint (neither a public address with 22/tcp mapped nor Vast's ssh proxy)", n, fleet)
			}
			return Target{}, fmt.Errorf("instance %d of fleet %s is %s, not running", n, fleet, statusText(in))
		}
	}
	switch {
	case len(running) == 0:
		return Target{}, fmt.Errorf("fleet %s has no running instance to ssh to%s", fleet, listText(listed))
	case n >= int64(len(running)):
		return Target{}, fmt.Errorf("fleet %s has no instance with id %d, and its %d running instance%s are indexed 0 to %d: %s",
			fleet, n, len(running), plural(len(running)), len(running)-1, indexText(running))
	}
	return running[n], nil
}

func statusText(in *vastapi.Instance) string {
	if s := in.Status(); s != "" {
		return s
	}
	return "provisioning"
}

// listText names the fleet's listed instances and their states, for an error.
func listText(listed []*vastapi.Instance) string {
	if len(listed) == 0 {
		return ""
	}
	parts := make([]string, len(listed))
	for i, in := range listed {
		parts[i] = fmt.Sprintf("%d %s", in.ID, statusText(in))
	}
	return " (listed: " + strings.Join(parts, ", ") + ")"
}

func indexText(ts []Target) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%d = %d", t.Index, t.ID)
	}
	return strings.Join(parts, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
