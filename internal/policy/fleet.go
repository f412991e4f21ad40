package policy

import (
	"strconv"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// fleetCheck validates one fleet, a section at a time; each section's check lives in a
// fleet_*.go file named after it. The sections run in a fixed order because problems are
// sorted by line only: a fleet written as one flow mapping has every problem on one line, and
// `vastwatch check` then lists them in the order they were found.
type fleetCheck struct{ section }

// fleet checks the fleet at fleets[i] and builds it; nil when a problem makes it unusable.
func (v *validator) fleet(i int, ff *fileFleet, markets map[string]*Market, names *names) *Fleet {
	c := &fleetCheck{section{validator: v, p: yamlPath(configFleets).at(i), ok: true}}
	if !names.check(v, c.p.dot(fleetName), ff.Name) {
		c.ok = false
	}
	m := c.market(ff.Market, markets)
	sz := c.size(ff.Size)
	sched := c.schedule(ff.Schedule, sz, ff.Autoscale != nil)
	c.money(ff, sz)
	in := c.instance(&ff.Instance)
	c.bootTimeout(ff.BootTimeout)
	c.cooldown(ff.Cooldown)
	c.maxActions(ff.MaxActionsPerCycle)
	c.scaleDown(ff.ScaleDown)
	c.stoppedTTL(ff.StoppedTTL)
	c.minDuration(ff.MinDuration)
	discovery := c.discovery(ff.Discovery)
	spread := c.spread(ff.Spread)
	readiness := c.readiness(ff.Readiness)
	drain := c.drain(ff.Drain)
	reb := c.rebalance(ff.Rebalance)
	avoid := c.avoid(ff.Avoid)
	bid := c.bid(ff.Bid, m)
	auto := c.autoscale(ff.Autoscale)
	cold := c.cold(ff.Cold, sz, ff.ScaleDown)
	keys := c.sshKeys(c.p.dot(fleetSSHKeys), ff.SSHKeys, c.fc.SSHKeys)
	if !c.ok || m == nil {
		return nil
	}
	return &Fleet{
		Name:               ff.Name,
		Market:             m,
		Min:                sz.Min,
		Target:             sz.Target,
		Max:                sz.Max,
		Schedule:           sched,
		MaxPrice:           ff.MaxPrice,
		Budget:             ff.Budget,
		Monthly:            ff.MonthlyBudget,
		Instance:           in,
		BootTimeout:        time.Duration(ff.BootTimeout),
		CooldownUp:         time.Duration(ff.Cooldown.ScaleUp),
		CooldownDown:       time.Duration(ff.Cooldown.ScaleDown),
		MaxActionsPerCycle: ff.MaxActionsPerCycle,
		ScaleDown:          ScaleDownMode(ff.ScaleDown),
		StoppedTTL:         time.Duration(ff.StoppedTTL),
		MinDuration:        time.Duration(ff.MinDuration),
		Rebalance:          reb,
		Bid:                bid,
		DiscoveryPorts:     discovery,
		Spread:             spread,
		Readiness:          readiness,
		Drain:              drain,
		Autoscale:          auto,
		Cold:               cold,
		SSHKeys:            keys,
		Avoid:              avoid,
	}
}

// market resolves the fleet's market: named, valid in itself, and rentable (not reserved).
func (c *fleetCheck) market(name string, markets map[string]*Market) *Market {
	p := c.p.dot(fleetMarket)
	m := markets[name]
	switch {
	case name == "":
		c.fail(p, "required; allowed: the name of a market under markets")
	case m == nil && c.fc.hasMarket(name):
		c.fail(p, "market %s has problems of its own (listed with it); allowed: a valid market", strconv.Quote(name))
	case m == nil && len(markets) == 0:
		c.fail(p, "no market named %s; allowed: the name of a market under markets", strconv.Quote(name))
	case m == nil:
		c.fail(p, "no market named %s; allowed: one of %s", strconv.Quote(name), marketNames(markets))
	case m.Type == vastapi.Reserved:
		c.fail(p, "market %s is of type reserved, which is watched, not rented; allowed: a market of type on-demand or bid", strconv.Quote(m.Name))
	default:
		return m
	}
	return nil
}
