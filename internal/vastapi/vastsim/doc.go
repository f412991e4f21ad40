// Package vastsim owns the simulated Vast.ai market: a seeded, deterministic, in-memory market
// served over the same REST API as console.vast.ai (vast-api.md §7), on an injected clock, with
// a Go and an HTTP (/_sim/) control surface for tests and demos.
//
// It models the unpleasant parts on purpose: overlapping offers that disappear when rented, the
// 404 no_such_ask race, instances that boot on the clock and can fail, per-second billing that
// stops everything at zero credit, bids that get outbid, auth errors, and injected faults
// (429 without Retry-After, 5xx, resets, slow replies, replies lost after the action applied).
//
// It imports only vastapi (for the wire types and the shared matcher), never touches the
// network itself, never logs the API key, and never reads the real clock: every timestamp comes
// from Options.Clock.
//
// Time model: timestamps follow the clock exactly. The simulator's own delays (provisioning,
// boot, price drift, the zero-credit grace) are divided by Options.Speed and billing is
// multiplied by it. State advances lazily: every request and every control call first brings
// the market up to the clock's now, processing boots, drift steps and the zero-credit stop in
// time order, so the result does not depend on how often it is polled.
package vastsim
