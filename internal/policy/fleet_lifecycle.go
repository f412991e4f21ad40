package policy

import (
	"strconv"
	"time"
)

// The sections here pace the fleet's instances through their lives: how long one may take to
// boot, how soon the fleet scales again, how many actions one cycle takes, what scaling down
// does and how long a stopped instance is kept, and how long an offer must stay listed.

// bootTimeout checks boot_timeout: images take minutes to pull, so anything shorter than
// MinBootTimeout would fail healthy instances.
func (c *fleetCheck) bootTimeout(d duration) {
	if time.Duration(d) < MinBootTimeout {
		c.fail(c.p.dot(fleetBootTimeout), "%s is too short; allowed: %s or more (images take minutes to pull)", time.Duration(d), MinBootTimeout)
	}
}

// cooldown checks cooldown.scale_up and cooldown.scale_down.
func (c *fleetCheck) cooldown(cd fileCooldown) {
	p := c.p.dot(fleetCooldown)
	for _, b := range []struct {
		key string
		d   duration
	}{{cooldownScaleUp, cd.ScaleUp}, {cooldownScaleDown, cd.ScaleDown}} {
		if b.d < 0 {
			c.fail(p.dot(b.key), "%s is negative; allowed: 0 or a positive duration", b.d)
		}
	}
}

// maxActions checks max_actions_per_cycle.
func (c *fleetCheck) maxActions(n int) {
	if n < 1 {
		c.fail(c.p.dot(fleetMaxActions), "%d is below 1; allowed: 1 or more actions per cycle", n)
	}
}

// scaleDown checks the scale_down mode.
func (c *fleetCheck) scaleDown(mode string) {
	switch ScaleDownMode(mode) {
	case ScaleDownDestroy, ScaleDownStop:
	default:
		c.fail(c.p.dot(fleetScaleDown), "%s is not a scale-down mode; allowed: destroy or stop", strconv.Quote(mode))
	}
}

// stoppedTTL checks stopped_ttl, how long a stopped instance is kept before it is destroyed.
func (c *fleetCheck) stoppedTTL(d duration) {
	if d <= 0 {
		c.fail(c.p.dot(fleetStoppedTTL), "%s is not positive; allowed: a duration such as 24h", d)
	}
}

// minDuration checks min_duration, the least time an offer must stay listed to be rented.
func (c *fleetCheck) minDuration(d duration) {
	if d < 0 {
		c.fail(c.p.dot(fleetMinDuration), "%s is negative; allowed: 0 or a positive duration such as 7d", d)
	}
}
