// Package report renders what vastwatch's one-shot commands print for a person: the plan of
// `vastwatch plan`, the summary of `vastwatch check`, and the offers of `vastwatch search`. It
// writes to the io.Writer it is given and does nothing else: no network, no clock, no state.
// Nothing it prints holds a secret (actions print without env values).
package report
