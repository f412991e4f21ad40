package scaler_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// sshKeys are well-formed public keys for the fleets of these tests.
var sshKeys = []string{
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAuw+ULMZAmvB5Hs9y5dyqK926OLGufY9yXTOFxxOVpg ops@laptop",
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDqk5yxl1qLjKV1VnrdNaR3NsEhfcPWtmXzYQuWGoaXO ci@runner",
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINGgb6TGC8ABMQwsLHe1TDq7gF4MrAEh7gC4vVDSGdaS alice@laptop",
}

func withKeys(keys ...string) func(*policy.Fleet) {
	return func(f *policy.Fleet) { f.SSHKeys = keys }
}

// attaches counts the attach requests the simulator has seen.
func (w *world) attaches() int {
	n := 0
	for _, r := range w.sim.Requests() {
		if r.Method == http.MethodPost && r.Endpoint == vastapi.EPAttachSSHKey {
			n++
		}
	}
	return n
}

// keysOf are the keys the simulator holds for instance id.
func (w *world) keysOf(id int64) []string {
	w.t.Helper()
	keys, err := w.sim.InstanceSSHKeys(id)
	if err != nil {
		w.t.Fatalf("keys of %d: %v", id, err)
	}
	return keys
}

func TestSimSSHKeysGoToEachNewInstanceOnce(t *testing.T) {
	keys := sshKeys[:2]
	w := newWorld(t, 11, simConfig(testFleet("web", simMarket(t), simSized(3), withKeys(keys...))))
	created := 0
	for created == 0 && w.cycle < 3 { // the first cycles wait out the start grace
		for _, o := range w.mustStep().Outcomes {
			if o.Action.Kind == scaler.KindCreate && o.Result == scaler.ResultOK {
				created++
				if got := w.keysOf(o.InstanceID); !slices.Equal(got, keys) {
					t.Errorf("instance %d created this cycle has keys %q, want %q", o.InstanceID, got, keys)
				}
			}
		}
	}
	if created == 0 {
		t.Fatal("nothing was created: the test proves nothing")
	}
	ins := w.settle("web", 3)
	for _, in := range ins {
		if got := w.keysOf(in.ID); !slices.Equal(got, keys) {
			t.Errorf("instance %d has keys %q, want %q", in.ID, got, keys)
		}
	}
	if n := w.attaches(); n != 3*len(keys) {
		t.Fatalf("%d attaches for 3 instances of %d keys", n, len(keys))
	}
	for range 4 {
		w.mustStep()
	}
	if n := w.attaches(); n != 3*len(keys) {
		t.Fatalf("%d attaches after more cycles: keys were sent again", n)
	}
	// A restart forgets what was given: each instance is given its keys once more, which the
	// API takes as done, and no instance ends up with a key twice.
	w.restart()
	for range 3 {
		w.mustStep()
	}
	if n := w.attaches(); n != 2*3*len(keys) {
		t.Fatalf("%d attaches after a restart, want %d", n, 2*3*len(keys))
	}
	for _, in := range w.ours("web") {
		if got := w.keysOf(in.ID); !slices.Equal(got, keys) {
			t.Errorf("after the restart instance %d has keys %q, want %q", in.ID, got, keys)
		}
	}
}

// TestSimSSHKeysAPerCycleBound: a backlog (here after a restart, four instances of three keys)
// is worked off over cycles, at most ten attaches in each.
func TestSimSSHKeysAPerCycleBound(t *testing.T) {
	w := newWorld(t, 12, simConfig(testFleet("web", simMarket(t), simSized(4), withKeys(sshKeys...))))
	w.settle("web", 4)
	before := w.attaches()
	w.restart()
	w.mustStep()
	first := w.attaches() - before
	w.mustStep()
	second := w.attaches() - before - first
	if first != 10 || second != 2 {
		t.Fatalf("after a restart: %d attaches in the first cycle, %d in the second; want 10 and 2", first, second)
	}
}

// TestSimSSHKeysAddedLaterNeverInDryRun: keys added to a running fleet by a reload reach its
// instances, but not while the config says dry_run.
func TestSimSSHKeysAddedLaterNeverInDryRun(t *testing.T) {
	m := simMarket(t)
	w := newWorld(t, 13, simConfig(testFleet("web", m, simSized(2))))
	ins := w.settle("web", 2)
	if w.attaches() != 0 {
		t.Fatal("keys attached for a fleet without ssh_keys")
	}
	w.cfg = simConfig(testFleet("web", m, simSized(2), withKeys(sshKeys[0])))
	w.cfg.DryRun = true
	for range 3 {
		w.mustStep()
	}
	if n := w.attaches(); n != 0 {
		t.Fatalf("%d attaches in dry-run", n)
	}
	w.cfg.DryRun = false
	w.mustStep()
	for _, in := range ins {
		if got := w.keysOf(in.ID); !slices.Equal(got, sshKeys[:1]) {
			t.Errorf("instance %d has keys %q after the reload, want %q", in.ID, got, sshKeys[:1])
		}
	}
}

// TestSimSSHKeyFailuresNeverHoldTheFleetBack: with every attach failing, the fleet still
// reaches its target; failed attaches back off rather than repeat every cycle, and go through
// once the API takes them again.
func TestSimSSHKeyFailuresNeverHoldTheFleetBack(t *testing.T) {
	keys := sshKeys[:1]
	w := newWorld(t, 14, simConfig(testFleet("web", simMarket(t), simSized(3), withKeys(keys...))))
	w.sim.InjectFault(vastsim.Fault{Method: http.MethodPost, Endpoint: vastapi.EPAttachSSHKey, Kind: vastsim.Fault500, Rate: 1})
	ins := w.settle("web", 3)
	for range 10 {
		w.mustStep()
	}
	// Each instance is tried when created and then after 1, 2, 4 and 8 minutes: at most five
	// times in the fourteen-odd cycles so far (every cycle would be over forty).
	if n := w.attaches(); n < 3 || n > 3*5 {
		t.Fatalf("%d attaches of 3 instances over %d cycles", n, w.cycle)
	}
	for _, in := range ins {
		if got := w.keysOf(in.ID); len(got) != 0 {
			t.Fatalf("instance %d has keys %q though every attach failed", in.ID, got)
		}
	}
	w.sim.ClearFaults()
	for range 20 {
		w.mustStep()
	}
	for _, in := range ins {
		if got := w.keysOf(in.ID); !slices.Equal(got, keys) {
			t.Errorf("instance %d has keys %q once the API works again, want %q", in.ID, got, keys)
		}
	}
}

// goneAPI destroys the first instance just before its first key is attached, as a user might.
type goneAPI struct {
	scaler.API
	tries     map[int64]int // attaches tried per instance
	destroyed int64
}

func (g *goneAPI) AttachSSHKey(ctx context.Context, id int64, key string) error {
	g.tries[id]++
	if g.destroyed == 0 {
		g.destroyed = id
		if err := g.API.DestroyInstance(ctx, id); err != nil {
			return err
		}
	}
	return g.API.AttachSSHKey(ctx, id, key)
}

// TestSimSSHKeysForAGoneInstanceAreDropped: an instance destroyed under the scaler's feet is
// not tried again; the fleet replaces it and the replacement gets the keys.
func TestSimSSHKeysForAGoneInstanceAreDropped(t *testing.T) {
	w := newWorld(t, 15, simConfig(testFleet("web", simMarket(t), simSized(1), withKeys(sshKeys[:2]...))))
	g := &goneAPI{API: w.api, tries: map[int64]int{}}
	w.opts.API = g
	w.restart()
	ins := w.settle("web", 1)
	for range 3 {
		w.mustStep()
	}
	if g.destroyed == 0 || g.destroyed == ins[0].ID {
		t.Fatalf("destroyed %d, running %d: the destroyed instance was never replaced", g.destroyed, ins[0].ID)
	}
	if n := g.tries[g.destroyed]; n != 1 {
		t.Errorf("instance %d, destroyed, was tried %d times", g.destroyed, n)
	}
	if got := w.keysOf(ins[0].ID); !slices.Equal(got, sshKeys[:2]) {
		t.Errorf("the replacement %d has keys %q", ins[0].ID, got)
	}
}

func TestKeyFingerprint(t *testing.T) {
	// ssh-keygen -lf of the key's .pub file.
	if got := scaler.KeyFingerprint(sshKeys[0]); got != "SHA256:mnBK2VmTU7Dztg3rTTC4+Ia9ZfqvWYykUiIx+00yvL0" {
		t.Errorf("fingerprint %q", got)
	}
	if got := scaler.KeyFingerprint("not a key"); got != "" {
		t.Errorf("fingerprint of junk %q", got)
	}
}
