package policy

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The sections here say how the fleet's instances are served: the ports /sd lists, the probe
// an instance must pass before it is listed, and the drain before one is removed. A bad
// readiness or drain leaves its field nil rather than failing the fleet: the file fails to
// load anyway, and the fleet's other sections still report their own problems.

// discovery checks the container ports /sd lists for each running instance.
func (c *fleetCheck) discovery(fd *fileDiscovery) []int {
	if fd == nil {
		return nil
	}
	var ports []int
	seen := map[int]bool{}
	for j, port := range fd.Ports {
		p := c.p.dot(fleetDiscovery).dot(discoveryPorts).at(j)
		switch {
		case port < 1 || port > 65535:
			c.fail(p, "%d is not a port; allowed: a container port from 1 to 65535, e.g. 9100", port)
		case seen[port]:
			c.fail(p, "%d is listed twice; allowed: each port once", port)
		}
		seen[port] = true
		ports = append(ports, port)
	}
	return ports
}

// readiness checks the fleet's readiness probe; nil when none is configured or it is invalid.
func (c *fleetCheck) readiness(fr *fileReadiness) *Readiness {
	if fr == nil {
		return nil
	}
	p := c.p.dot(fleetReadiness)
	ok := true
	switch {
	case !c.isSet(p.dot(readinessPort)):
		c.bad(p.dot(readinessPort), "required; allowed: the container port to probe, from 1 to 65535, e.g. 8080")
		ok = false
	case fr.Port < 1 || fr.Port > 65535:
		c.bad(p.dot(readinessPort), "%d is not a port; allowed: a container port from 1 to 65535, e.g. 8080", fr.Port)
		ok = false
	}
	if fr.Path != "" && (!strings.HasPrefix(fr.Path, "/") || strings.ContainsAny(fr.Path, " \t\r\n#")) {
		c.bad(p.dot(readinessPath), "%s is not an absolute URL path; allowed: a path such as /healthz (omit it for a TCP connect)", strconv.Quote(fr.Path))
		ok = false
	}
	timeout := time.Duration(fr.Timeout)
	switch {
	case !c.isSet(p.dot(readinessTimeout)):
		timeout = DefaultProbeTimeout
	case timeout <= 0 || timeout > time.Minute:
		c.bad(p.dot(readinessTimeout), "%s is outside (0, 1m]; allowed: how long one probe may take, e.g. 5s", timeout)
		ok = false
	}
	if !ok {
		return nil
	}
	return &Readiness{Port: fr.Port, Path: fr.Path, Timeout: timeout}
}

// drain checks the fleet's drain settings; nil when none are configured or they are invalid.
func (c *fleetCheck) drain(fd *fileDrain) *Drain { return c.drainAt(c.p.dot(fleetDrain), fd) }

// drainAt checks drain settings at p (a fleet's drain, orphan_drain).
func (c *fleetCheck) drainAt(p yamlPath, fd *fileDrain) *Drain {
	if fd == nil {
		return nil
	}
	ok := true
	hook := fd.Webhook.Value
	if fd.Webhook.set {
		u, err := url.Parse(hook.Reveal())
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			// The URL is not quoted: it may carry a token.
			c.bad(p.dot(drainWebhook), "is not an absolute http or https URL; allowed: a URL such as https://lb.example/drain, or {env: NAME} / {file: PATH} holding one")
			ok = false
		case u.User != nil:
			c.bad(p.dot(drainWebhook), "carries user:password; allowed: a URL without credentials (put a token in the path or query, and the URL in {env: NAME} or {file: PATH})")
			ok = false
		}
	}
	timeout := time.Duration(fd.Timeout)
	switch {
	case !c.isSet(p.dot(drainTimeout)):
		timeout = DefaultDrainTimeout
	case timeout <= 0:
		c.bad(p.dot(drainTimeout), "%s is not positive; allowed: how long to wait for the webhook's 2xx before removing the instance anyway, e.g. 5m", timeout)
		ok = false
	}
	delay := time.Duration(fd.Delay)
	if delay < 0 {
		c.bad(p.dot(drainDelay), "%s is negative; allowed: 0 or the least time between the drain and the removal, e.g. 2m", delay)
		ok = false
	}
	if !fd.Webhook.set && delay <= 0 && ok {
		c.bad(p, "has neither webhook nor delay; allowed: a webhook to call, a delay to wait, or both")
		ok = false
	}
	if !ok {
		return nil
	}
	return &Drain{Webhook: hook, Timeout: timeout, Delay: delay}
}
