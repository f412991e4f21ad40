package scaler

import (
	"cmp"
	"slices"
	"time"
)

// AvoidedMachine is a machine being avoided after failures of instances on it.
type AvoidedMachine struct {
	Machine  int64
	Until    time.Time
	Failures int    // remembered failures (the avoidance doubles with each); 0 when unknown
	Fleet    string // the fleet whose instance failed there last; "" when unknown
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

// activeAvoided lists the avoidances running at now, soonest release first.
func activeAvoided(now time.Time, avoided map[int64]time.Time, failures map[int64]MachineFailures) []AvoidedMachine {
	var out []AvoidedMachine
	for m, until := range avoided {
		if now.Before(until) {
			out = append(out, AvoidedMachine{Machine: m, Until: until, Failures: failures[m].Count, Fleet: failures[m].Fleet})
		}
	}
	slices.SortFunc(out, func(a, b AvoidedMachine) int {
		return cmp.Or(a.Until.Compare(b.Until), cmp.Compare(a.Machine, b.Machine))
	})
	return out
}
