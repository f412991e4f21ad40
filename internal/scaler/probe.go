package scaler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// ProbeResult is what the readiness probes of one instance found.
type ProbeResult struct {
	At     time.Time // the last probe
	OK     bool      // the last probe passed
	Err    string    // why the last probe failed, one line; "" when it passed
	Target string    // what was probed: host:port, or "" when the port is not mapped
	// Passed is when the instance first passed; zero while it never has.
	Passed time.Time
	// Tried is when a probe of the instance last started, even if the round's deadline cut it
	// (At then stays the last probe that finished): the least recently tried go first.
	Tried time.Time
}

// Prober runs one readiness probe against addr (host:port). A nil error is a pass.
type Prober interface {
	Probe(ctx context.Context, addr string, r *policy.Readiness) error
}

// NetProber probes over the network: a TCP connect, or an HTTP GET of the path that must answer
// 2xx (redirects are not followed: a 3xx is not ready).
type NetProber struct{}

// Probe implements Prober. Each probe is bounded by r.Timeout.
func (NetProber) Probe(ctx context.Context, addr string, r *policy.Readiness) error {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	if r.Path == "" {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("tcp connect: %w", vastapi.StripURL(err))
		}
		return c.Close()
	}
	// Built with net/url from its parts, never by gluing strings: no part can move the host.
	path, err := url.Parse(r.Path)
	if err != nil || path.Scheme != "" || path.Host != "" || path.User != nil {
		return fmt.Errorf("http probe: path %q is not a path", r.Path)
	}
	u := &url.URL{Scheme: "http", Host: addr, Path: path.Path, RawPath: path.RawPath, RawQuery: path.RawQuery}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("http probe: %w", vastapi.StripURL(err))
	}
	req.Header.Set("User-Agent", "vastwatch-probe")
	res, err := probeClient.Do(req)
	if err != nil {
		return fmt.Errorf("http get: %w", vastapi.StripURL(err))
	}
	defer res.Body.Close()
	_, _ = io.CopyN(io.Discard, res.Body, 64<<10)
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("http get: status %d", res.StatusCode)
	}
	return nil
}

// probeClient keeps no connections between probes (each probe is a fresh connect, as it would
// be from a load balancer) and never follows a redirect.
var probeClient = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil, MaxResponseHeaderBytes: 64 << 10},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// PublicAddr is the public address of an instance's container port: public_ipaddr and the
// host port Vast maps to PORT/tcp (docs/vast-api.md §4), "" when there is none or it is not an
// address vastwatch may use (HostAddr).
func PublicAddr(in *vastapi.Instance, port int, allowPrivate bool) string {
	b := in.Ports[strconv.Itoa(port)+"/tcp"]
	if len(b) == 0 {
		return ""
	}
	return HostAddr(in.PublicIPAddr, b[0].HostPort, allowPrivate)
}

// HostAddr is ip:port when a host reported them as an address vastwatch may probe or list in
// /sd, else "": the port a decimal number from 1 to 65535, the IP a global unicast address.
// Private, loopback and link-local addresses (and the shared 100.64.0.0/10 and 0.0.0.0/8) are
// refused unless allowPrivate (allow_private_addresses) says the instances are on a LAN.
// Whatever a host puts in public_ipaddr or a port mapping, the result is an IP and a port.
func HostAddr(ip, port string, allowPrivate bool) string {
	if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return ""
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return ""
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return ""
	}
	a = a.Unmap()
	if !usableIP(a, allowPrivate) {
		return ""
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}

// Address blocks that IsPrivate does not cover but that are not on the internet either.
var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	sharedCGNAT = netip.MustParsePrefix("100.64.0.0/10")
)

func usableIP(a netip.Addr, allowPrivate bool) bool {
	if allowPrivate && (a.IsLoopback() || a.IsLinkLocalUnicast()) {
		return true
	}
	if !a.IsGlobalUnicast() || thisNetwork.Contains(a) {
		return false
	}
	return allowPrivate || (!a.IsPrivate() && !sharedCGNAT.Contains(a))
}

// maxProbesInFlight bounds the probes of one cycle that run at once.
const maxProbesInFlight = 16

// probeTarget is one instance to probe this cycle.
type probeTarget struct {
	id   int64
	addr string
	r    *policy.Readiness
}

// ProbeAll probes every running instance of ours whose fleet has a readiness probe, at most
// maxProbesInFlight at once, each within its fleet's probe timeout, and returns the results
// merged into prev (which it does not modify); the planner reads them as State.Probes.
// Instances no longer listed are forgotten. Followers and `vastwatch plan` probe too: a probe
// only reads, and /sd must be right on whichever replica Prometheus asks.
//
// The whole round ends within twice the longest probe timeout (probeRound), so black-holed
// hosts cannot stretch a cycle by their number times the timeout. An instance the round did not
// get to keeps its last result, and the instances probed longest ago go first, so the next
// round starts with it.
func ProbeAll(ctx context.Context, pr Prober, now time.Time, cfg *policy.Config, obs Observation, creates []CreateRecord, prev map[int64]ProbeResult) map[int64]ProbeResult {
	fleets := make(map[string]*policy.Fleet, len(cfg.Fleets))
	for _, f := range cfg.Fleets {
		if f.Readiness != nil {
			fleets[f.Name] = f
		}
	}
	out := make(map[int64]ProbeResult, len(prev))
	if len(fleets) == 0 {
		return out
	}
	byID := make(map[int64]string, len(creates))
	for _, c := range creates {
		if c.InstanceID != 0 {
			byID[c.InstanceID] = c.Fleet
		}
	}
	var targets []probeTarget
	for i := range obs.Instances {
		in := &obs.Instances[i]
		owner, fleet, _, ok := ParseLabel(in.Label.Or(""))
		if !ok || owner != cfg.Owner {
			if fleet, ok = byID[in.ID]; !ok {
				continue
			}
		}
		f := fleets[fleet]
		if f == nil {
			continue
		}
		res, seen := prev[in.ID]
		if in.Status() != "running" {
			if seen {
				out[in.ID] = res // kept while it is listed: a restart of the box re-probes
			}
			continue
		}
		addr := PublicAddr(in, f.Readiness.Port, cfg.AllowPrivateAddresses)
		if addr == "" {
			res.At, res.OK, res.Target = now, false, ""
			res.Err = fmt.Sprintf("container port %d/tcp has no usable public address (a port from 1 to 65535 on a global unicast IP; private IPs need allow_private_addresses)", f.Readiness.Port)
			out[in.ID] = res
			continue
		}
		if seen {
			out[in.ID] = res
		}
		targets = append(targets, probeTarget{id: in.ID, addr: addr, r: f.Readiness})
	}
	probeRound(ctx, pr, now, targets, prev, out)
	return out
}

// probeRound probes targets into out, the least recently probed first, and gives up on what is
// left (in flight or not started) once twice the longest probe timeout has passed.
func probeRound(ctx context.Context, pr Prober, now time.Time, targets []probeTarget, prev, out map[int64]ProbeResult) {
	var limit time.Duration
	for _, t := range targets {
		limit = max(limit, 2*t.r.Timeout)
	}
	slices.SortStableFunc(targets, func(a, b probeTarget) int { return prev[a.id].Tried.Compare(prev[b.id].Tried) })
	round, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxProbesInFlight)
	for _, t := range targets {
		select {
		case sem <- struct{}{}:
		case <-round.Done():
		}
		if round.Err() != nil {
			break // the rest keep their last results
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := pr.Probe(round, t.addr, t.r)
			mu.Lock()
			defer mu.Unlock()
			res := out[t.id]
			res.Tried = now
			if err != nil && round.Err() != nil && ctx.Err() == nil {
				// Cut by the round's deadline, not failed by the host: the last result stands.
				if res.At.IsZero() {
					res.Target, res.Err = t.addr, "not probed yet: the cycle's probes ran out of time"
				}
				out[t.id] = res
				return
			}
			res.At, res.Target, res.OK, res.Err = now, t.addr, err == nil, ""
			if err != nil {
				res.Err = oneLine(err.Error())
			} else if res.Passed.IsZero() {
				res.Passed = now
			}
			out[t.id] = res
		}()
	}
	wg.Wait()
}

// oneLine keeps an error message to one short line.
func oneLine(s string) string {
	s = string(bytes.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, []byte(s)))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// gate applies the fleet's readiness probe to a running instance: until it first passes, the
// instance is still booting (pending), and failed once boot_timeout has passed since it began
// booting; after that it is ready while its last probe passes.
func (p *planner) gate(m *Managed, f *policy.Fleet, bootSince time.Time) {
	if pr, ok := p.st.Probes[m.Instance.ID]; ok {
		m.Probe = &pr
	}
	if m.Phase != PhaseRunning {
		m.Ready = false
		return
	}
	if m.Probe != nil && !m.Probe.Passed.IsZero() {
		m.Ready = m.Probe.OK
		return
	}
	m.Ready = false
	if f.BootTimeout > 0 && !bootSince.IsZero() && p.now.Sub(bootSince) > f.BootTimeout {
		m.Phase, m.Why = PhaseFailed, WhyReadinessTimeout
		return
	}
	m.Phase = PhasePending
}
