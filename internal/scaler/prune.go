package scaler

import "time"

// SettledAfter is how long after the instance list first showed a create's instance its record
// keeps what only a pending create needs: the offer, machine and host it was placed on and the
// time of its intent. After it the record keeps what the planner still reads of a listed
// instance (its fleet, nonce, id, price, bid, country, what it replaces, a failed reply), so
// the state stays small however long instances run (docs/design.md §7): the Kubernetes backend
// holds all of it in one ConfigMap.
const SettledAfter = time.Hour

// settle prunes the records of creates settled more than SettledAfter before now and reports
// whether it changed any. Callers hold mu.
func (j *Journal) settle(now time.Time) bool {
	changed := false
	for i := range j.data.Creates {
		c := &j.data.Creates[i]
		if c.SeenAt.IsZero() || now.Sub(c.SeenAt) <= SettledAfter {
			continue
		}
		if c.OfferID != 0 || c.MachineID != 0 || c.HostID != 0 || !c.IntentAt.IsZero() {
			c.OfferID, c.MachineID, c.HostID, c.IntentAt = 0, 0, 0, time.Time{}
			changed = true
		}
	}
	return changed
}
