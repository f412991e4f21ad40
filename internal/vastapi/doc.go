// Package vastapi owns everything vastwatch knows about the Vast.ai REST API: the typed client
// (auth, pacing, retries by idempotency, typed errors, streaming decode), the wire types
// (Offer, Instance, User, CreateRequest) and the wire query object with its matching and
// ordering. It knows nothing of policies, fleets or metrics, and imports nothing internal but
// the clock leaf (docs/design.md §1).
//
// It must never put the API key anywhere but the Authorization header.
package vastapi
