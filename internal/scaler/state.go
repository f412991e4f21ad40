package scaler

import (
	"time"
)

// Outcome is what became of a journalled create.
type Outcome string

// Create outcomes. A create that certainly did not happen is removed from the journal.
const (
	// OutcomeIntent: written before the request was sent; no reply recorded (a crash in between).
	OutcomeIntent Outcome = "intent"
	// OutcomeCreated: the reply carried new_contract (even with success false).
	OutcomeCreated Outcome = "created"
	// OutcomeUnknown: the request may have been applied (timeout, reset, 5xx after sending).
	OutcomeUnknown Outcome = "unknown"
)

// CreateRecord is one create as the journal keeps it: from its intent until the instance it
// made is gone, so ownership by id and the bid price survive restarts.
type CreateRecord struct {
	Nonce string `json:"nonce"`
	Fleet string `json:"fleet"`
	// OfferID, MachineID, HostID and IntentAt are kept until the create has settled
	// (SettledAfter); a pending create needs them, a listed instance has its own.
	OfferID   int64 `json:"offer_id,omitempty"`
	MachineID int64 `json:"machine_id,omitempty"`
	// HostID and Country (the ", CC" suffix of the offer's geolocation; "" when unknown) place
	// a pending create for the fleet's spread limits.
	HostID  int64  `json:"host_id,omitempty"`
	Country string `json:"country,omitempty"`
	// Price is the committed $/h: on-demand dph for the fleet's disk, or bid + storage.
	Price float64 `json:"price"`
	// Bid is the bid sent as the create's price; 0 for on-demand.
	Bid        float64   `json:"bid,omitempty"`
	Outcome    Outcome   `json:"outcome"`
	InstanceID int64     `json:"instance_id,omitempty"`
	IntentAt   time.Time `json:"intent_at,omitzero"`
	// SeenAt is when the instance list first showed the instance; zero until then.
	SeenAt time.Time `json:"seen_at,omitzero"`
	// Replaces is the instance this create replaces make-before-break (rebalance, listing
	// end); 0 for an ordinary create. The old instance goes once this one runs.
	Replaces int64 `json:"replaces,omitempty"`
	// FailedReply marks an instance that a create reply reporting failure still made
	// (new_contract): unless it is on its way to running, it is cleaned up.
	FailedReply bool `json:"failed_reply,omitempty"`
}

// State is what the planner knows beyond the observation: the journal's view and the scaler's
// memory. Plan only reads it; the Scaler updates it from outcomes and observations.
type State struct {
	// Creates are the journal's create records.
	Creates []CreateRecord
	// StoppedByUs holds the instances we stopped ourselves, with when (journalled: an outbid
	// instance looks exactly like one we stopped).
	StoppedByUs map[int64]time.Time
	// StartedByUs holds when we last started a stopped instance (journalled): its boot timeout
	// runs from then.
	StartedByUs map[int64]time.Time
	// StoppedSince is when an instance was first observed stopped (for stopped_ttl).
	StoppedSince map[int64]time.Time
	// LastScaleUp and LastScaleDown are per fleet, for the cooldowns.
	LastScaleUp, LastScaleDown map[string]time.Time
	// CreatesNotBefore holds creates back until the journal has been reconciled against the
	// instance list and one grace period has passed since the process started.
	CreatesNotBefore time.Time
	// CreatesBlocked, when set, stops every create (an unreadable journal).
	CreatesBlocked string
	// PendingGrace is how long an unlisted create counts toward its fleet.
	PendingGrace time.Duration
	// Avoided holds machines not to rent on until the given time.
	Avoided map[int64]time.Time
	// Failures are the machines' remembered failures (the avoidance doubles with each).
	Failures map[int64]MachineFailures
	// OutbidSince is when an instance was first observed outbid (for OutbidGrace).
	OutbidSince map[int64]time.Time
	// OutbidGrace is how long an outbid instance that cannot be rebid within the caps is kept
	// before it is destroyed and replaced (0: at once).
	OutbidGrace time.Duration
	// ListingMargin is how long before its host listing ends an instance is replaced (0: off).
	ListingMargin time.Duration
	// MonthToDate is the committed spend integrated so far this calendar month (UTC), per fleet
	// and for the account. A Month other than now's month counts as nothing spent yet.
	MonthToDate MonthSpend
	// Bill is what Vast charged this month as last read (nil: unknown, e.g. the key may not
	// read billing). The planner takes the month-to-date spend as the larger of MonthToDate and
	// the bill, per fleet and for the account.
	Bill *Bill
	// MonthUnknown, when set, says why the month-to-date spend is unknown (an unreadable spend
	// file): creates of fleets under a monthly budget (all fleets under an account one) stop.
	MonthUnknown string
	// Probes are the last readiness probe of each probed instance.
	Probes map[int64]ProbeResult
	// Draining holds the instances being drained before their removal (journalled).
	Draining map[int64]DrainRecord
	// Demand is each autoscaled fleet's demand, with its last good value (Look reads it).
	Demand map[string]Demand
	// DesiredHistory is each autoscaled fleet's raw desired sizes of the recent cycles, for
	// the stabilisation windows (memory only: after a restart a scale-down waits a whole
	// window).
	DesiredHistory map[string][]DesiredSample
}
