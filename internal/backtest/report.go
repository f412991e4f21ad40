package backtest

import (
	"encoding/json"
	"time"
)

// Schema names the JSON report's format (docs/backtest.md "The JSON report"). A change that
// renames or drops a key, or changes a unit, makes a new one.
const Schema = "vastwatch.backtest/v1"

// Report is a backtest's result: the market it ran on and, per config and fleet, what the
// policy did and cost. Encoded as JSON it is the stable schema of docs/backtest.md.
type Report struct {
	Schema string `json:"schema"`
	Source Source `json:"source"`
	// Start and End bound the replay; Hours is End − Start.
	Start   time.Time      `json:"start"`
	End     time.Time      `json:"end"`
	Hours   float64        `json:"hours"`
	Configs []ConfigReport `json:"configs"`
}

// Source is the market a backtest ran on.
type Source struct {
	Kind string `json:"kind"` // recording | scenario
	// Recording: the directory, the polls read, the markets recorded and the segments found cut.
	Recording string   `json:"recording,omitempty"`
	Polls     int      `json:"polls,omitempty"`
	Markets   []string `json:"markets,omitempty"`
	Cuts      []string `json:"cuts,omitempty"`
	// Scenario: its name, seed, days and generated machines.
	Scenario string `json:"scenario,omitempty"`
	Seed     int64  `json:"seed"`
	Days     int    `json:"days,omitempty"`
	Machines int    `json:"machines,omitempty"`
	// The simulated instances: boot delay, the share of boots that fail, host failures per
	// running instance and day.
	BootDelaySeconds   float64 `json:"boot_delay_seconds"`
	BootFailure        float64 `json:"boot_failure"`
	HostFailuresPerDay float64 `json:"host_failures_per_day"`
}

// ConfigReport is one config's run.
type ConfigReport struct {
	Name                string  `json:"name"`
	PollIntervalSeconds float64 `json:"poll_interval_seconds"`
	Cycles              int     `json:"cycles"`
	// CostDollars is everything the simulator billed the account: every fleet's instances.
	CostDollars float64       `json:"cost_dollars"`
	Fleets      []FleetReport `json:"fleets"`
}

// FleetReport is one fleet of a config.
type FleetReport struct {
	Name   string `json:"name"`
	Market string `json:"market"`
	// CostDollars is what the simulator billed for the fleet's instances: GPU time while they
	// ran and storage for as long as they lived.
	CostDollars    float64 `json:"cost_dollars"`
	GPUDollars     float64 `json:"gpu_dollars"`
	StorageDollars float64 `json:"storage_dollars"`
	// RunningInstanceHours is the hours its instances ran (GPU-billed), added up.
	RunningInstanceHours float64 `json:"running_instance_hours"`
	// DollarsPerRunningHour is CostDollars / RunningInstanceHours (0 without running hours).
	DollarsPerRunningHour float64 `json:"dollars_per_running_hour"`
	// TimeAtTarget is the share of polls with at least as many instances running as desired.
	TimeAtTarget float64 `json:"time_at_target"`
	Creates      int     `json:"creates"`
	Destroys     int     `json:"destroys"`
	// Replacements are the instances destroyed to be replaced rather than to shrink the
	// fleet: failed, outbid, left by a failed create, at the end of their listing, or moved to
	// a cheaper offer.
	Replacements int `json:"replacements"`
	// BlockedSeconds is, per reason, how long the target was out of reach for it.
	BlockedSeconds map[string]float64 `json:"blocked_seconds"`
	// BoundDollars is the lower bound: the same running instance-hours, each poll interval on
	// the cheapest offers of the fleet's market then within its price cap (and its own
	// instances), as if switching were free and the future known. CostOverBound is
	// CostDollars / BoundDollars (0 when the bound is 0).
	BoundDollars  float64 `json:"bound_dollars"`
	CostOverBound float64 `json:"cost_over_bound"`
	Series        []Point `json:"series"`
}

// Point is one sample of a fleet's run, at most MaxPoints of them spread over the replay.
type Point struct {
	At      time.Time `json:"at"`
	Desired int       `json:"desired"`
	Running int       `json:"running"`
	// CostDollars is the fleet's cost so far.
	CostDollars float64 `json:"cost_dollars"`
	// P10, P50, P90 are percentiles of the price for the fleet's disk of the offers its market
	// lists under its price cap ($/h; 0 with none).
	P10 float64 `json:"p10"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
}

// MaxPoints bounds a fleet's series.
const MaxPoints = 720

// JSON encodes r as the documented schema, indented, with a final newline.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
