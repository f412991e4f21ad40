package scaler

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// KeyAttacher gives an instance an ssh public key (docs/vast-api.md §6); *vastapi.Client
// satisfies it. Attaching a key the instance already has is no error.
type KeyAttacher interface {
	AttachSSHKey(ctx context.Context, instanceID int64, publicKey string) error
}

// Bounds on the keys attached in one cycle, so that a backlog (after a restart every instance
// is given its keys once more) or a slow API holds no cycle up for long; what is left waits for
// the next cycle. An instance whose attach failed is tried again after a backoff that doubles
// from keyRetryFirst up to keyRetryMax.
const (
	maxKeyAttaches = 10
	keyAttachTime  = 30 * time.Second
	keyRetryFirst  = time.Minute
	keyRetryMax    = time.Hour
)

// keyBook is what the scaler remembers of ssh keys: the configured keys each instance of ours
// has been given, and when to try an instance again after a failed attach. It lives in memory
// only: after a restart every instance is given its keys once more, which the API takes as
// done ("already associated"), so nothing needs to survive.
type keyBook struct {
	given map[int64]map[string]bool
	retry map[int64]keyRetry
}

type keyRetry struct {
	failures int
	next     time.Time
}

// keyTarget is one instance of ours and the keys its fleet's instances get.
type keyTarget struct {
	id    int64
	fleet string
	keys  []string
}

// attachKeys gives the instances of fleets with ssh_keys the keys they have not been given
// yet (docs/design.md §4): first the instances this cycle created, then every other listed
// instance of ours that is not failed or just destroyed. It runs after the plan was executed
// and never changes what the fleet does: a failed attach is logged and tried again on a later
// cycle. In dry-run it sends nothing. Callers hold mu.
func (s *Scaler) attachKeys(ctx context.Context, cfg *policy.Config, rep *CycleReport) {
	if rep.DryRun {
		return
	}
	todo := keyTargets(cfg, rep)
	s.keys.keepOnly(todo)
	if len(todo) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, keyAttachTime)
	defer cancel()
	now := s.o.Clock.Now()
	sent, left := 0, 0
	for _, t := range todo {
		if now.Before(s.keys.retry[t.id].next) {
			continue
		}
		for _, key := range t.keys {
			if s.keys.given[t.id][key] {
				continue
			}
			if sent == maxKeyAttaches || ctx.Err() != nil {
				left++
				continue
			}
			sent++
			if !s.attachOne(ctx, t, key, now) {
				break
			}
		}
	}
	if left > 0 {
		s.log.Info("ssh keys left for the next cycle", "keys", left, "sent", sent)
	}
}

// attachOne attaches key to t and notes the outcome; false when t's other keys must wait.
func (s *Scaler) attachOne(ctx context.Context, t keyTarget, key string, now time.Time) bool {
	log := s.log.With("fleet", t.fleet, "instance", t.id, "key", KeyFingerprint(key))
	err := s.o.API.AttachSSHKey(ctx, t.id, key)
	switch {
	case err == nil:
		if s.keys.given[t.id] == nil {
			s.keys.given[t.id] = map[string]bool{}
		}
		s.keys.given[t.id][key] = true
		delete(s.keys.retry, t.id)
		log.Info("ssh key attached")
		return true
	case vastapi.IsGone(err):
		s.keys.forget(t.id)
		log.Info("ssh key not attached: the instance is gone")
	case ctx.Err() != nil:
		log.Info("ssh key attach cut short; tried again next cycle", "err", err)
	default:
		r := s.keys.retry[t.id]
		r.failures++
		r.next = now.Add(min(keyRetryFirst<<min(r.failures-1, 10), keyRetryMax))
		s.keys.retry[t.id] = r
		log.Warn("ssh key attach failed; tried again later", "failures", r.failures, "next", r.next, "err", err)
	}
	return false
}

// keyTargets are the instances to give keys to, the ones this cycle created first.
func keyTargets(cfg *policy.Config, rep *CycleReport) []keyTarget {
	keys := func(fleet string) []string {
		if f := cfg.Fleet(fleet); f != nil {
			return f.SSHKeys
		}
		return nil
	}
	destroyed := map[int64]bool{}
	var out []keyTarget
	for _, o := range rep.Outcomes {
		a := o.Action
		switch {
		case a.Kind == KindDestroy && o.Result == ResultOK:
			destroyed[a.InstanceID] = true
		case a.Kind == KindCreate && o.Result == ResultOK && o.InstanceID > 0 && len(keys(a.Fleet)) > 0:
			out = append(out, keyTarget{id: o.InstanceID, fleet: a.Fleet, keys: keys(a.Fleet)})
		}
	}
	for _, m := range rep.Plan.Managed {
		if m.Orphan || m.Phase == PhaseFailed || destroyed[m.Instance.ID] || len(keys(m.Fleet)) == 0 {
			continue
		}
		out = append(out, keyTarget{id: m.Instance.ID, fleet: m.Fleet, keys: keys(m.Fleet)})
	}
	return out
}

// keepOnly forgets every instance that is not a target any more (gone, failed, or of a fleet
// without keys now).
func (b *keyBook) keepOnly(todo []keyTarget) {
	if b.given == nil {
		b.given, b.retry = map[int64]map[string]bool{}, map[int64]keyRetry{}
	}
	keep := make(map[int64]bool, len(todo))
	for _, t := range todo {
		keep[t.id] = true
	}
	for id := range b.given {
		if !keep[id] {
			b.forget(id)
		}
	}
	for id := range b.retry {
		if !keep[id] {
			b.forget(id)
		}
	}
}

func (b *keyBook) forget(id int64) {
	delete(b.given, id)
	delete(b.retry, id)
}

// KeyFingerprint is an OpenSSH public key line's SHA256 fingerprint as ssh-keygen -l prints it
// (SHA256:<unpadded base64>), how logs name a key; "" for a line that is not a key.
func KeyFingerprint(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return ""
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(blob)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}
