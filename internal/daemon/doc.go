// Package daemon owns the long-running process behind `vastwatch run`: the cycle loop on an
// injected clock, leadership, the running config and its reloads, the month-to-date charges,
// the price history, and the HTTP surface (/metrics, the status page, /sd and the /-/
// endpoints). Each cycle it publishes one view that the metrics and the status page are both
// built from (docs/design.md §4, §10).
//
// It must never act while another replica leads, never make an HTTP request wait for a cycle,
// and never print, serve or log a secret. cmd/vastwatch only parses flags and wires it.
package daemon
