package policy

import "time"

// rebalance checks the move to cheaper equivalent offers; nil when the fleet has none.
func (c *fleetCheck) rebalance(fr *fileRebalance) *Rebalance {
	if fr == nil {
		return nil
	}
	p := c.p.dot(fleetRebalance)
	switch {
	case !c.isSet(p.dot(rebalanceMinSavings)):
		c.fail(p.dot(rebalanceMinSavings), "required; allowed: a fraction more than 0 and less than 1, e.g. 0.25 for at least 25 %% cheaper")
	case fr.MinSavings <= 0 || fr.MinSavings >= 1:
		c.fail(p.dot(rebalanceMinSavings), "%s is not a fraction in (0, 1); allowed: more than 0 and less than 1, e.g. 0.25 for at least 25 %% cheaper", money(fr.MinSavings))
	}
	if fr.MinAge < 0 {
		c.fail(p.dot(rebalanceMinAge), "%s is negative; allowed: 0 or a positive duration such as 2h", fr.MinAge)
	}
	return &Rebalance{MinSavings: fr.MinSavings, MinAge: time.Duration(fr.MinAge)}
}
