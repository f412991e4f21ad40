package policy

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The sections here say how an autoscaled fleet's size follows its workload and the market
// (docs/design.md §8), and how many stopped instances it keeps for fast scale-ups.

// maxStaleAfter and maxStabilization bound the autoscaling windows: beyond a day a window
// stops being a reaction to load.
const (
	maxStaleAfter    = 24 * time.Hour
	maxStabilization = 24 * time.Hour
)

// autoscale checks the fleet's autoscale section; nil when there is none or it is invalid.
func (c *fleetCheck) autoscale(fa *fileAutoscale) *Autoscale {
	if fa == nil {
		return nil
	}
	p := c.p.dot(fleetAutoscale)
	a := &Autoscale{}
	ok := true
	if fa.Demand == nil && len(fa.PriceCurve) == 0 && !c.failed(p) {
		c.fail(p, "sets no source; allowed: demand, price_curve or both")
		ok = false
	}
	if fa.Demand != nil {
		if a.Demand = c.demand(fa.Demand); a.Demand == nil {
			ok = false
		}
	}
	a.PriceCurve = c.priceCurve(fa.PriceCurve)
	if len(fa.PriceCurve) > 0 && a.PriceCurve == nil {
		ok = false
	}
	sp := p.dot(autoscaleStabilization)
	a.StabilizeUp = c.window(sp.dot(stabilizationScaleUp), time.Duration(fa.Stabilization.ScaleUp), maxStabilization,
		"how long a scale-up waits for the demand to hold, e.g. 0s")
	a.StabilizeDown = c.window(sp.dot(stabilizationScaleDown), time.Duration(fa.Stabilization.ScaleDown), maxStabilization,
		"how long a scale-down waits for the demand to stay low, e.g. 10m")
	if !ok {
		c.ok = false
		return nil
	}
	return a
}

// window checks a duration within [0, limit].
func (c *fleetCheck) window(p yamlPath, d, limit time.Duration, what string) time.Duration {
	if d < 0 || d > limit {
		c.fail(p, "%s is outside [0s, %s]; allowed: %s", d, limit, what)
	}
	return d
}

// demand checks the demand source: the Prometheus server, the query and how much of its value
// one instance serves.
func (c *fleetCheck) demand(fd *fileDemand) *Demand {
	p := c.p.dot(fleetAutoscale).dot(autoscaleDemand)
	pp := p.dot(demandPrometheus)
	d := &Demand{URL: fd.Prometheus.URL.Value, HTTP: fd.Prometheus.HTTPConfig.cfg, Query: strings.TrimSpace(fd.Query),
		PerInstance: fd.PerInstance, StaleAfter: time.Duration(fd.StaleAfter)}
	ok := c.prometheusURL(pp.dot(prometheusURL), fd.Prometheus.URL)
	if c.failed(pp.dot(prometheusHTTPConfig)) {
		ok = false
	}
	if d.Query == "" {
		c.fail(p.dot(demandQuery), "required; allowed: a PromQL expression whose one sample is the load, e.g. sum(vllm:num_requests_waiting)")
		ok = false
	}
	switch {
	case c.failed(p.dot(demandPerInstance)):
		ok = false
	case !c.isSet(p.dot(demandPerInstance)):
		c.fail(p.dot(demandPerInstance), "required; allowed: how much of the query's value one instance serves, e.g. 10")
		ok = false
	case fd.PerInstance <= 0:
		c.fail(p.dot(demandPerInstance), "%s is not positive; allowed: how much of the query's value one instance serves, e.g. 10", strconv.FormatFloat(fd.PerInstance, 'g', -1, 64))
		ok = false
	}
	if d.StaleAfter <= 0 || d.StaleAfter > maxStaleAfter {
		c.fail(p.dot(demandStaleAfter), "%s is outside (0s, %s]; allowed: how long the last good value holds, e.g. 5m", d.StaleAfter, maxStaleAfter)
		ok = false
	}
	if !ok {
		c.ok = false
		return nil
	}
	return d
}

// prometheusURL checks the server's base URL: http or https with a host. The URL may carry a
// token, so it is never echoed.
func (c *fleetCheck) prometheusURL(p yamlPath, s secretString) bool {
	if !s.set {
		if !c.failed(p) {
			c.fail(p, "required; allowed: the Prometheus server's base URL, e.g. http://prometheus:9090, or {env: NAME} or {file: PATH}")
		}
		return false
	}
	u, err := url.Parse(s.Value.Reveal())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.fail(p, "not an http(s) URL with a host; allowed: the Prometheus server's base URL, e.g. http://prometheus:9090")
		return false
	}
	return true
}

// priceCurve checks the price curve: instance counts that rise and prices that fall, each
// positive. It is nil when empty or invalid.
func (c *fleetCheck) priceCurve(points []fileCurvePoint) []CurvePoint {
	if len(points) == 0 {
		return nil
	}
	var curve []CurvePoint
	ok := true
	for j, pt := range points {
		p := c.p.dot(fleetAutoscale).dot(autoscalePriceCurve).at(j)
		switch {
		case !c.isSet(p.dot(curveInstances)):
			c.fail(p.dot(curveInstances), "required; allowed: the instance count this price holds up to, e.g. 2")
			ok = false
		case pt.Instances < 1 || pt.Instances > MaxFleetSize:
			c.fail(p.dot(curveInstances), "%d is outside 1..%d; allowed: the instance count this price holds up to", pt.Instances, MaxFleetSize)
			ok = false
		case j > 0 && points[j-1].Instances >= 1 && pt.Instances <= points[j-1].Instances:
			c.fail(p.dot(curveInstances), "%d does not rise above the previous point's %d; allowed: instance counts that rise along the curve", pt.Instances, points[j-1].Instances)
			ok = false
		}
		switch {
		case !c.isSet(p.dot(curveMaxPrice)):
			c.fail(p.dot(curveMaxPrice), "required; allowed: the most each of these instances may cost in whole-instance $/h, e.g. 0.35")
			ok = false
		case pt.MaxPrice <= 0:
			c.fail(p.dot(curveMaxPrice), "%s is not positive; allowed: the most each of these instances may cost in whole-instance $/h", money(pt.MaxPrice))
			ok = false
		case j > 0 && points[j-1].MaxPrice > 0 && pt.MaxPrice >= points[j-1].MaxPrice:
			c.fail(p.dot(curveMaxPrice), "%s does not fall below the previous point's %s; allowed: prices that fall as instances rise", money(pt.MaxPrice), money(points[j-1].MaxPrice))
			ok = false
		}
		curve = append(curve, CurvePoint{Instances: pt.Instances, MaxPrice: pt.MaxPrice})
	}
	if !ok {
		return nil
	}
	return curve
}

// cold checks the fleet's cold pool: within size.max, and not with scale_down: stop, which
// keeps every stopped instance already.
func (c *fleetCheck) cold(fc *fileCold, sz sizeRange, scaleDown string) int {
	if fc == nil {
		return 0
	}
	p := c.p.dot(fleetCold).dot(coldInstances)
	switch {
	case c.failed(p):
		c.ok = false
	case !c.isSet(p):
		c.fail(p, "required; allowed: how many stopped instances to keep for fast scale-ups, e.g. 2")
	case fc.Instances < 0:
		c.fail(p, "%d is negative; allowed: 0 or more stopped instances", fc.Instances)
	case sz.ok && fc.Instances > sz.Max:
		c.fail(p, "%d is above size.max %d; allowed: at most size.max stopped instances", fc.Instances, sz.Max)
	case scaleDown == string(ScaleDownStop):
		c.fail(p, "a cold pool with scale_down: stop; allowed: one of them (stop keeps every stopped instance, cold keeps up to %d)", fc.Instances)
	default:
		return fc.Instances
	}
	return 0
}
