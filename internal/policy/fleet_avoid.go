package policy

// avoid checks the bound on the machines avoided for the fleet after failures (docs/design.md
// §8). Absent, the fleet avoids at most DefaultAvoidMaxShare of its eligible machines.
func (c *fleetCheck) avoid(fa *fileAvoid) Avoid {
	if fa == nil {
		return Avoid{MaxShare: DefaultAvoidMaxShare}
	}
	if fa.MaxShare <= 0 || fa.MaxShare >= 1 {
		c.fail(c.p.dot(fleetAvoid).dot(avoidMaxShare),
			"%s is not a fraction in (0, 1); allowed: more than 0 and less than 1, e.g. 0.5 to avoid at most half of the machines the fleet could rent on (avoidance never takes the whole market)",
			money(fa.MaxShare))
	}
	return Avoid{MaxShare: fa.MaxShare}
}
