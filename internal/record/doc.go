// Package record owns recordings of the market (docs/backtest.md): each poll's offers, stored
// as changes against the poll before (new, changed, gone) in checksummed frames, one compressed
// segment file per hour with a small index beside them, kept for a time or a size; and reading
// them back as one stream of changes from any time on.
//
// A segment is written one frame per poll and synced, and read frame by frame: a segment cut
// anywhere (a crash, a full disk) reads up to its last complete poll and no further. A new
// process never appends to a segment it did not open.
//
// It imports only vastapi (the offer type). It must never read the clock (every time is the
// caller's), never hold the market whole twice, and never fail a poll's read silently: a cut
// segment is reported as such.
package record
