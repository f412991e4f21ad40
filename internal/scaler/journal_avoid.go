package scaler

import "time"

// The journal's part in failure bursts (docs/design.md §8): a failure that makes a burst of
// its fleet's failures avoids nothing, and the burst's earlier failures are forgiven.

// Failure is what Fail recorded: until when the machine is avoided (zero: not avoided), its
// failures counted, and the machines of the fleet's failure burst (0: none).
type Failure struct {
	Until time.Time
	Count int
	Burst int
}

// Fail records a failure of an instance of fleet on machine at now and avoids the machine for
// AvoidTTL(base, capTTL, n), n being its failures within FailureMemory, this one included. An
// avoidance already running longer is kept.
//
// When the fleet's failures within BurstWindow, this one included, span BurstMachines
// machines or more, or inBurst says the planner saw a burst, the failure is part of a burst
// (docs/design.md §8): it neither counts nor avoids the machine, and the fleet's earlier
// failures within the window are forgiven too (their count goes back down and their machines
// back to the avoidance they had before).
func (j *Journal) Fail(machine int64, fleet string, now time.Time, base, capTTL time.Duration, inBurst bool) (Failure, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.data.Failures == nil {
		j.data.Failures = map[int64]MachineFailures{}
	}
	if j.data.Avoided == nil {
		j.data.Avoided = map[int64]time.Time{}
	}
	f := j.data.Failures[machine]
	if !f.Last.IsZero() && now.Sub(f.Last) > FailureMemory {
		f.Count = 0
	}
	before := j.data.Avoided[machine]
	if !now.Before(before) {
		before = time.Time{}
	}
	f.Last, f.Fleet, f.Before, f.Burst = now, fleet, before, false
	j.data.Failures[machine] = f
	if n := burstCount(now, j.data.Failures, fleet, nil); n >= BurstMachines || inBurst {
		f.Before, f.Burst = time.Time{}, true // neither counted nor avoided
		j.data.Failures[machine] = f
		j.forgive(fleet, now)
		until := j.data.Avoided[machine]
		if !now.Before(until) {
			until = time.Time{}
		}
		return Failure{Until: until, Count: f.Count, Burst: n}, j.save()
	}
	f.Count++
	j.data.Failures[machine] = f
	until := now.Add(AvoidTTL(base, capTTL, f.Count))
	if before.After(until) {
		until = before
	}
	j.data.Avoided[machine] = until
	return Failure{Until: until, Count: f.Count}, j.save()
}

// forgive takes back the failures of fleet within BurstWindow of now not forgiven yet: each
// counts one less and its machine goes back to the avoidance it had before. Callers hold mu.
func (j *Journal) forgive(fleet string, now time.Time) {
	for m, f := range j.data.Failures {
		if f.Burst || !inBurstWindow(now, f, fleet) {
			continue
		}
		f.Count = max(0, f.Count-1)
		if f.Before.After(now) {
			j.data.Avoided[m] = f.Before
		} else {
			delete(j.data.Avoided, m)
		}
		f.Before, f.Burst = time.Time{}, true
		j.data.Failures[m] = f
	}
}
