// Package scaler owns keeping each fleet at its target inside its budgets (docs/design.md §4–§8):
// the one observation per cycle, the pure planner (observation + policies + state → actions with
// reasons), the write-ahead journal of creates, and the executor that carries actions out; with
// them the fleet's health and market moves: machines avoided for longer with each failure
// (journalled), outbid instances rebid within the caps or replaced after a grace, and
// make-before-break replacements when a host listing ends or an equivalent offer is cheaper by at
// least min_savings (one in flight per fleet, a surge of one over max, budgets holding during the
// overlap); spreading a fleet over machines, hosts and countries; and monthly budgets, from
// committed spend integrated into month-to-date totals (calendar month, UTC) kept in the state dir
// beside the journal.
//
// The planner runs each fleet through its rules in a fixed order (planFleet in plan.go), one
// rule to a file named after it: repairs, the size rules, stopped_ttl, then the
// make-before-break moves.
//
// It must never touch an instance it does not own (our owner tag in the label, or an id
// journalled from one of our create replies), never send a create whose intent is not synced to
// the journal, never send a mutating request in dry-run, and never act on a failed observation.
// It sees the API only through its own small interfaces, never HTTP.
package scaler
