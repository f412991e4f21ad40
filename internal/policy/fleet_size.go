package policy

// sizeRange is the fleet's size with max defaulted to the larger of target and min. ok says
// all three decoded, lie within 0..MaxFleetSize and keep min ≤ target ≤ max, so the schedule
// and the budget may be checked against them.
type sizeRange struct {
	fileSize
	ok bool
}

// size checks size.min, size.target (required) and size.max.
func (c *fleetCheck) size(fs fileSize) sizeRange {
	p := c.p.dot(fleetSize)
	target := p.dot(sizeTarget)
	if !c.isSet(target) && !c.failed(p) {
		c.fail(target, "required; allowed: a whole number of instances from min to max")
	}
	sz := sizeRange{fileSize: fs}
	if !c.isSet(p.dot(sizeMax)) {
		sz.Max = max(sz.Target, sz.Min)
	}
	sz.ok = !c.failed(p) && !c.failed(p.dot(sizeMin)) && !c.failed(target) && !c.failed(p.dot(sizeMax))
	if !sz.ok {
		c.ok = false
	}
	for _, b := range []struct {
		key string
		n   int
	}{{sizeMin, sz.Min}, {sizeTarget, sz.Target}, {sizeMax, sz.Max}} {
		switch {
		case b.n < 0:
			c.fail(p.dot(b.key), "%d is negative; allowed: 0 or more instances", b.n)
			sz.ok = false
		case b.n > MaxFleetSize:
			c.fail(p.dot(b.key), "%d is more than %d; allowed: at most %d instances per fleet", b.n, MaxFleetSize, MaxFleetSize)
			sz.ok = false
		}
	}
	if sz.ok && c.isSet(target) {
		if sz.Min > sz.Target {
			c.fail(p, "min %d is above target %d; allowed: min ≤ target ≤ max", sz.Min, sz.Target)
			sz.ok = false
		}
		if sz.Target > sz.Max {
			c.fail(p, "target %d is above max %d; allowed: min ≤ target ≤ max", sz.Target, sz.Max)
			sz.ok = false
		}
	}
	return sz
}

// schedule checks the fleet's schedule entries: each a valid cron spec and, within the size
// (when the size itself is valid), a target, or on an autoscaled fleet a min (the floor the
// schedule sets there: business-hours floors under a demand-driven size).
func (c *fleetCheck) schedule(entries []fileScheduleEntry, sz sizeRange, autoscaled bool) Schedule {
	var sched Schedule
	for j, e := range entries {
		p := c.p.dot(fleetSchedule).at(j)
		value, key, other := e.Target, scheduleTarget, scheduleMin
		if autoscaled {
			value, key, other = e.Min, scheduleMin, scheduleTarget
		}
		if !c.isSet(p.dot(scheduleCron)) {
			c.fail(p.dot(scheduleCron), "required; allowed: %s", scheduleSyntaxRule)
		} else if entry, err := ParseScheduleEntry(e.Cron, value); err != nil {
			c.fail(p.dot(scheduleCron), "%v; allowed: %s", err, scheduleSyntaxRule)
		} else {
			sched.Entries = append(sched.Entries, entry)
		}
		switch {
		case c.isSet(p.dot(other)) && autoscaled:
			c.fail(p.dot(other), "an autoscaled fleet's schedule sets min, not target; allowed: min, a floor from size.min to size.max")
		case c.isSet(p.dot(other)):
			c.fail(p.dot(other), "only an autoscaled fleet's schedule sets min; allowed: target, from size.min to size.max")
		case !c.isSet(p.dot(key)):
			c.fail(p.dot(key), "required; allowed: a %s from size.min to size.max", key)
		case sz.ok && (value < sz.Min || value > sz.Max):
			c.fail(p.dot(key), "%d is outside size %d..%d; allowed: a %s from %d to %d", value, sz.Min, sz.Max, key, sz.Min, sz.Max)
		}
	}
	return sched
}
