package scaler

import (
	"maps"
	"time"
)

// Bill is what Vast charged the account in one calendar month (UTC), as the charges endpoint
// reported it (docs/vast-api.md §5): bandwidth included, every instance of the account, the
// ones vastwatch does not manage too. Month-to-date spend is never below it (docs/design.md §5).
type Bill struct {
	// Month is "2006-01" in UTC, as MonthSpend.Month.
	Month string `json:"month"`
	// At is when the charges were read.
	At time.Time `json:"at"`
	// Account is every charge of the month so far, $.
	Account float64 `json:"account"`
	// Instances are the month's charges by instance id, $.
	Instances map[int64]float64 `json:"instances,omitempty"`
}

// NewerBill is the more recently read of a and b (nil when both are).
func NewerBill(a, b *Bill) *Bill {
	switch {
	case a == nil:
		return b
	case b == nil || !b.At.After(a.At):
		return a
	}
	return b
}

// applyBill raises the month-to-date spend to what Vast billed, where it billed more: the
// account to the month's charges, a fleet to the charges of its listed instances (a lower bound:
// instances gone this month are in the book only). A lost spend book or a bug in it thus never
// makes a monthly budget forget money already spent. A bill of another month counts for nothing.
func (p *planner) applyBill() {
	b := p.st.Bill
	if b == nil || b.Month != MonthKey(p.now) {
		return
	}
	p.monthAccount = max(p.monthAccount, b.Account)
	cloned := false
	for fleet, ms := range p.byFleet {
		billed := 0.0
		for _, m := range ms {
			billed += b.Instances[m.Instance.ID]
		}
		if billed <= p.monthFleets[fleet] {
			continue
		}
		if !cloned { // the book's map belongs to the caller's State
			p.monthFleets, cloned = maps.Clone(p.monthFleets), true
			if p.monthFleets == nil {
				p.monthFleets = map[string]float64{}
			}
		}
		p.monthFleets[fleet] = billed
	}
}
