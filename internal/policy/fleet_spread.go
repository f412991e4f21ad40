package policy

// spread checks the fleet's per-machine, per-host and per-country caps (0 = no cap).
func (c *fleetCheck) spread(fs *fileSpread) Spread {
	if fs == nil {
		return Spread{}
	}
	p := c.p.dot(fleetSpread)
	for _, b := range []struct {
		key string
		n   int
	}{{spreadMaxPerMachine, fs.MaxPerMachine}, {spreadMaxPerHost, fs.MaxPerHost}, {spreadMaxPerCountry, fs.MaxPerCountry}} {
		if b.n < 0 {
			c.fail(p.dot(b.key), "%d is negative; allowed: 0 (no limit) or a positive number of the fleet's instances", b.n)
		}
	}
	return Spread{MaxPerMachine: fs.MaxPerMachine, MaxPerHost: fs.MaxPerHost, MaxPerCountry: fs.MaxPerCountry}
}
