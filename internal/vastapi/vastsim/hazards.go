package vastsim

import (
	"math/rand/v2"
	"time"
)

// hazards fail instances on their own, as real ones fail: some never finish booting, and hosts
// go offline under running ones. The draws come from a stream of their own, made only when a
// rate is set, so a seed's market and instances are the same with or without them.
type hazards struct {
	boot    float64 // share of new instances that fail while booting
	perHour float64 // host failures per running instance and hour (of the simulator's time)
	rng     *rand.Rand
}

func newHazards(o Options) *hazards {
	if o.BootFailure <= 0 && o.HostFailuresPerDay <= 0 {
		return nil
	}
	return &hazards{boot: o.BootFailure, perHour: o.HostFailuresPerDay / 24, rng: seedRand(o.Seed, 6)}
}

// bootFailures are how a boot fails, drawn evenly: the container exits, the runtime errors, or
// loading never ends.
var bootFailures = []string{FailExited, FailOCI, FailStuck}

// arm draws when a new instance fails, if it does. Callers hold s.mu.
func (s *Sim) arm(in *instance, now time.Time) {
	h := s.haz
	if h == nil {
		return
	}
	// Both draws are made for every instance, so one instance's fate never shifts another's.
	bootFails, mode := h.rng.Float64() < h.boot, bootFailures[h.rng.IntN(len(bootFailures))]
	life := h.rng.ExpFloat64()
	switch {
	case bootFails:
		in.failAt = now.Add(s.scaled(s.opts.ProvisionDelay + s.opts.BootDelay/2))
		in.failMode = mode
	case h.perHour > 0:
		in.failAt = now.Add(s.scaled(time.Duration(life / h.perHour * float64(time.Hour))))
		in.failMode = FailOffline
	}
}

// hazard applies in's drawn failure at t, unless it is stopped or already failed by then.
// Callers hold s.mu.
func (s *Sim) hazard(in *instance, t time.Time) {
	in.failAt = time.Time{}
	if in.destroyed || in.fail != "" || in.ph == phStopped || in.ph == phScheduling {
		return
	}
	switch in.failMode {
	case FailStuck:
		in.fail = FailStuck
		if in.ph != phRunning {
			in.setPhase(phLoading, t, time.Time{})
		}
	default:
		in.fail = in.failMode
		in.nextAt = time.Time{}
	}
	s.log.Info("instance failed on its own", "id", in.id, "how", in.failMode)
}
