// Package leader owns leader election among vastwatch replicas: one Kubernetes Lease, held
// through an election loop of its own with client-go's semantics (not client-go's
// leaderelection, whose imports register every Kubernetes type at start-up), and a leadership
// flag that turns false the moment the lease can no longer be trusted. It never plans, scales
// or talks to the Vast.ai API, and it imports no other vastwatch package but the clock leaf;
// only the daemon imports it, so that no other package's tests build client-go.
package leader
