package scaler

import (
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Burn is what an instance bills now (spec.md §5 "burn"): running at dph_total, any other
// non-destroyed state at its storage cost. The daemon sums it for vast_account_spend_dollars_per_hour.
func Burn(in *vastapi.Instance) float64 { return burnOf(in) }

// Avoided returns the machines being avoided now, with until when (for the status page and
// vastwatch_avoided_machines). It is nil while the journal is unusable.
func (s *Scaler) Avoided() map[int64]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return nil
	}
	now := s.o.Clock.Now()
	out := map[int64]time.Time{}
	for m, until := range s.journal.Avoided() {
		if until.After(now) {
			out[m] = until
		}
	}
	return out
}

// AvoidedMachines returns the machines being avoided now, soonest release first, with their
// remembered failures and the fleet whose instance failed there last (for the status page,
// `vastwatch plan` and vastwatch_avoided_machines{fleet}). It is nil while the journal is
// unusable.
func (s *Scaler) AvoidedMachines() []AvoidedMachine {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return nil
	}
	return activeAvoided(s.o.Clock.Now(), s.journal.Avoided(), s.journal.Failures())
}
