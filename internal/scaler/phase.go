package scaler

import (
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Phase is what an instance means to its fleet (docs/design.md §8).
type Phase string

// The phases.
const (
	PhasePending Phase = "pending"
	PhaseRunning Phase = "running"
	PhaseStopped Phase = "stopped"
	PhaseOutbid  Phase = "outbid"
	PhaseFailed  Phase = "failed"
	// PhaseDraining: being drained before its removal; no longer counted toward the target.
	PhaseDraining Phase = "draining"
)

// Phases lists every phase in the order the status page shows them.
var Phases = []Phase{PhasePending, PhaseRunning, PhaseStopped, PhaseOutbid, PhaseFailed, PhaseDraining}

// ociError is what a container that could not start leaves in status_msg (docs/vast-api.md §4).
const ociError = "OCI runtime create failed"

// Classify maps an instance to its phase. why says what made a failed instance failed
// (exited, unknown, offline, oci_error, boot_timeout). bootSince is when the instance last began
// booting (its start_date, or when we started it again); bootTimeout 0 disables the timeout.
// stoppedByUs separates a stop we asked for from an outbid bid instance.
func Classify(in *vastapi.Instance, now time.Time, bootSince time.Time, bootTimeout time.Duration, stoppedByUs bool) (p Phase, why string) {
	status := in.Status()
	switch status {
	case "running":
		return PhaseRunning, ""
	case "exited", "unknown", "offline":
		return PhaseFailed, status
	case "stopped", "frozen":
		if in.IsBid && !stoppedByUs && stoppedPattern(in) {
			return PhaseOutbid, "outbid"
		}
		return PhaseStopped, ""
	case "created":
		if strings.Contains(in.StatusMsg.Or(""), ociError) {
			return PhaseFailed, "oci_error"
		}
	}
	// null, created, loading, scheduling, rebooting, restarting, recycling, or a state we do not
	// know: the instance is on its way and must get there within boot_timeout.
	if in.IsBid && !stoppedByUs && stoppedPattern(in) {
		return PhaseOutbid, "outbid"
	}
	if in.IntendedStatus == "stopped" && stoppedByUs {
		return PhaseStopped, ""
	}
	if bootTimeout > 0 && !bootSince.IsZero() && now.Sub(bootSince) > bootTimeout {
		return PhaseFailed, "boot_timeout"
	}
	return PhasePending, ""
}

// stoppedPattern is how an outbid instance reads: cur_state, intended_status and next_state all
// "stopped" (docs/vast-api.md §6).
func stoppedPattern(in *vastapi.Instance) bool {
	return in.CurState == "stopped" && in.IntendedStatus == "stopped" && in.NextState == "stopped"
}

// startTime is the instance's start_date as a time.
func startTime(in *vastapi.Instance) time.Time {
	if in.StartDate <= 0 {
		return time.Time{}
	}
	sec := int64(in.StartDate)
	return time.Unix(sec, int64((in.StartDate-float64(sec))*1e9))
}
