// Package leader owns leader election among vastwatch replicas: one Kubernetes Lease, held
// through client-go's leaderelection, and a leadership flag that turns false the moment the
// lease can no longer be trusted. It never plans, scales or talks to the Vast.ai API, and it
// imports no other vastwatch package but the clock leaf; only the daemon imports it, so that
// no other package's tests build client-go.
package leader
