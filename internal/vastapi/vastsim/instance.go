package vastsim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// phase is where an instance is in its lifecycle.
type phase uint8

const (
	phProvisioning phase = iota // actual_status null
	phLoading                   // pulling the image / starting
	phRunning
	phStopped    // by the user, by the account running dry, or outbid
	phScheduling // a start waiting for its GPUs
)

// instance is one contract of the simulated account.
type instance struct {
	id      int64
	off     *offer
	gpus    []int64
	holds   bool // holds its GPUs (not while stopped or scheduling)
	created time.Time

	image, runtype, onstart string
	args                    []string
	env                     vastapi.EnvPairs
	label                   vastapi.Opt[string]
	templateHash            vastapi.Opt[string]
	disk                    float64

	// Prices are locked at rent time: dphBase is the on-demand price or the bid.
	dphBase     float64
	storageCost float64
	isBid       bool

	intended string // running | stopped
	outbid   bool
	ph       phase
	phAt     time.Time
	nextAt   time.Time // next automatic transition; zero = none
	fail     string
	// failAt is when the instance fails on its own, as failMode (hazards.go); zero: never.
	failAt   time.Time
	failMode string

	sshPort   int
	portStart int
	// ports maps a container port ("8000/tcp") to its host port: 22/tcp at portStart, then the
	// create's -p keys, then SetHostPort overrides. Shown only while running.
	ports        map[string]int
	jupyterToken string
	apiKey       string

	gpuCost, diskCost float64 // $ billed so far
	gpuSecs           float64 // seconds of GPU billing (clock seconds × speed)
	destroyed         bool
	destroyedAt       time.Time
}

func (in *instance) setPhase(p phase, at, next time.Time) {
	in.ph, in.phAt, in.nextAt = p, at, next
}

// storagePerHour is what the instance pays for its disk in every state until destroyed.
func (in *instance) storagePerHour() float64 { return in.storageCost * in.disk / vastapi.HoursPerMonth }

// gpuBilled reports whether GPU time is billed now: only while actually running.
func (in *instance) gpuBilled() bool {
	return !in.destroyed && in.ph == phRunning && in.fail == ""
}

// ratePerSecond is the instance's current cost in $ per clock second (before Speed).
func (in *instance) ratePerSecond() float64 {
	if in.destroyed {
		return 0
	}
	r := in.storagePerHour()
	if in.gpuBilled() {
		r += in.dphBase
	}
	return r / 3600
}

// actualStatus is actual_status as the API shows it (null while provisioning).
func (in *instance) actualStatus() vastapi.Opt[string] {
	switch in.fail {
	case FailExited, FailUnknown, FailOffline:
		return vastapi.Some(in.fail)
	case FailOCI:
		return vastapi.Some("created")
	}
	switch in.ph {
	case phProvisioning:
		return vastapi.Opt[string]{}
	case phLoading:
		return vastapi.Some("loading")
	case phRunning:
		return vastapi.Some("running")
	case phScheduling:
		return vastapi.Some("scheduling")
	}
	return vastapi.Some("stopped")
}

func (in *instance) statusMsg(now time.Time) vastapi.Opt[string] {
	switch in.fail {
	case FailOCI:
		return vastapi.Some("Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error running hook #0: nvidia-container-cli: initialization error: nvml error: driver/library version mismatch: unknown")
	case FailExited:
		return vastapi.Some("Exited (1) " + fmt.Sprint(int(now.Sub(in.phAt).Minutes())) + " minutes ago")
	case FailUnknown, FailOffline:
		return vastapi.Opt[string]{}
	}
	switch in.ph {
	case phProvisioning:
		return vastapi.Opt[string]{}
	case phLoading:
		layer := fmt.Sprintf("%012x", uint64(in.id)*0x9e3779b97f4a7c15>>16)
		if in.nextAt.IsZero() || now.Sub(in.phAt) < in.nextAt.Sub(in.phAt)/2 {
			return vastapi.Some(layer + ": Pulling fs layer\n")
		}
		return vastapi.Some(layer + ": Pull complete\n")
	case phRunning:
		return vastapi.Some("success, running " + in.image + "/ssh")
	case phScheduling:
		return vastapi.Some("Waiting for GPUs to become available")
	}
	if in.outbid {
		return vastapi.Some("Instance outbid: stopped")
	}
	return vastapi.Some("Stopped")
}

// takeGPUs marks in's GPUs held; it reports false when another contract holds any of them.
func (s *Sim) takeGPUs(in *instance) bool {
	m := in.off.m
	for _, g := range in.gpus {
		if h := m.taken[g]; h != 0 && h != in.id {
			return false
		}
	}
	for _, g := range in.gpus {
		m.taken[g] = in.id
	}
	in.holds = true
	s.refreshMachine(m)
	return true
}

func (s *Sim) releaseGPUs(in *instance) {
	if !in.holds {
		return
	}
	m := in.off.m
	for _, g := range in.gpus {
		if m.taken[g] == in.id {
			delete(m.taken, g)
		}
	}
	in.holds = false
	s.refreshMachine(m)
	s.wakeScheduled(m)
}

// wakeScheduled starts instances waiting in scheduling for GPUs of m that are free again.
func (s *Sim) wakeScheduled(m *machine) {
	if !s.zeroAt.IsZero() {
		return // the account ran dry: nothing starts until credit returns and a start is asked
	}
	for _, in := range s.instList {
		if in.destroyed || in.ph != phScheduling || in.fail != "" || in.off.m != m {
			continue
		}
		if s.takeGPUs(in) {
			in.setPhase(phLoading, s.lastT, s.lastT.Add(s.scaled(s.opts.BootDelay)))
		}
	}
}

// boot starts (or restarts) in: loading, then running after the boot delay; scheduling when
// its GPUs are taken.
func (s *Sim) boot(in *instance, now time.Time) {
	in.intended = "running"
	in.outbid = false
	if !s.takeGPUs(in) {
		in.setPhase(phScheduling, now, time.Time{})
		return
	}
	in.setPhase(phLoading, now, now.Add(s.scaled(s.opts.BootDelay)))
}

// stop stops in (user stop, outbid or zero credit). A stopped instance releases its GPUs unless
// it was outbid, when the winning bidder has them and they stay out of the market.
func (s *Sim) stop(in *instance, now time.Time, outbid bool) {
	in.intended = "stopped"
	in.outbid = outbid
	if in.fail == FailStuck || in.fail == FailScheduling || in.fail == FailExited || in.fail == FailUnknown || in.fail == FailOCI {
		in.fail = ""
	}
	if !outbid {
		s.releaseGPUs(in)
	}
	in.setPhase(phStopped, now, time.Time{})
}

func (s *Sim) destroy(in *instance, now time.Time) {
	s.releaseGPUs(in)
	in.destroyed = true
	in.destroyedAt = now
	in.nextAt = time.Time{}
}

// checkOutbid stops the running bid instances of m whose bid fell below their offer's min_bid:
// the pattern docs/vast-api.md §6 describes (cur_state = intended_status = next_state = stopped).
func (s *Sim) checkOutbid(m *machine, now time.Time) {
	for _, in := range s.instList {
		if in.destroyed || !in.isBid || in.outbid || in.off.m != m || in.intended != "running" {
			continue
		}
		if in.dphBase < in.off.own.MinBid {
			s.stop(in, now, true)
		}
	}
}

// advance integrates billing and applies every scheduled event up to and including t, in time
// order. An event exactly at t has happened by t.
func (s *Sim) advance(t time.Time) {
	for {
		next := t
		found := false
		var due *instance
		consider := func(at time.Time, in *instance) {
			if !at.IsZero() && !at.After(next) && (!found || at.Before(next)) {
				next, due, found = at, in, true
			}
		}
		for _, in := range s.instList {
			if !in.destroyed {
				consider(in.nextAt, in)
				consider(in.failAt, in)
			}
		}
		driftAt := time.Time{}
		if iv := s.scaled(s.opts.DriftInterval); s.opts.DriftInterval > 0 && iv > 0 && s.feed == nil {
			driftAt = s.start.Add(time.Duration(s.drift+1) * iv)
			consider(driftAt, nil)
		}
		feedAt := s.feedAt()
		consider(feedAt, nil)
		consider(s.deleteAt, nil)
		if next.Before(s.lastT) {
			next = s.lastT
		}
		// Billing from lastT to next at constant rates; stop at the zero crossing.
		rate := 0.0
		for _, in := range s.instList {
			rate += in.ratePerSecond()
		}
		rate *= s.speed
		dt := next.Sub(s.lastT).Seconds()
		if rate > 0 && s.credit > 0 && s.credit-rate*dt <= 0 {
			at := s.lastT.Add(time.Duration(math.Ceil(s.credit / rate * 1e9)))
			if at.After(next) {
				at = next
			}
			s.bill(at.Sub(s.lastT).Seconds())
			s.lastT = at
			s.exhaust(at)
			continue
		}
		s.bill(dt)
		s.lastT = next
		if !found {
			return
		}
		switch {
		case due != nil && !due.failAt.IsZero() && !due.failAt.After(next):
			s.hazard(due, next)
		case due != nil:
			s.transition(due, next)
		case !s.deleteAt.IsZero() && !next.Before(s.deleteAt):
			for _, in := range s.instList {
				if !in.destroyed {
					s.destroy(in, next)
				}
			}
			s.deleteAt = time.Time{}
		case !driftAt.IsZero() && next.Equal(driftAt):
			s.drift++
			s.driftStep(s.drift, next)
		case !feedAt.IsZero() && next.Equal(feedAt):
			s.applyFeed(next)
		}
	}
}

// bill charges every instance for dt clock seconds at its current rate × Speed.
func (s *Sim) bill(dt float64) {
	if dt <= 0 {
		return
	}
	sec := dt * s.speed
	for _, in := range s.instList {
		if in.destroyed {
			continue
		}
		d := in.storagePerHour() * sec / 3600
		in.diskCost += d
		s.credit -= d
		if in.gpuBilled() {
			g := in.dphBase * sec / 3600
			in.gpuCost += g
			in.gpuSecs += sec
			s.credit -= g
		}
	}
}

// exhaust stops everything when credit reaches zero and schedules deletion after the grace.
func (s *Sim) exhaust(at time.Time) {
	if s.zeroAt.IsZero() {
		s.zeroAt = at
		s.deleteAt = at.Add(s.scaled(s.opts.Grace))
		s.log.Info("credit exhausted: stopping every instance", "at", at)
	}
	for _, in := range s.instList {
		if !in.destroyed && in.ph != phStopped {
			s.stop(in, at, false)
		}
	}
}

// transition applies in's scheduled transition at t.
func (s *Sim) transition(in *instance, t time.Time) {
	switch in.ph {
	case phProvisioning:
		in.setPhase(phLoading, t, t.Add(s.scaled(s.opts.BootDelay)))
	case phLoading:
		if in.fail == FailStuck {
			in.nextAt = time.Time{}
			return
		}
		in.setPhase(phRunning, t, time.Time{})
	default:
		in.nextAt = time.Time{}
	}
}

// maxDirectPorts caps the direct port range one instance gets, however many the machine lists.
const maxDirectPorts = 100

// directPorts is the size of an instance's direct port range on a machine listing count ports.
func directPorts(count int) int { return min(count, maxDirectPorts) }

// errBadPort is wrapped by every port-mapping validation failure.
var errBadPort = errors.New("bad port mapping")

// parsePort parses a port number 1–65535 written in decimal digits only.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= 65535
}

// parseContainerPort parses "PORT/proto" (proto tcp or udp) into its canonical form.
func parseContainerPort(s string) (string, error) {
	num, proto, ok := strings.Cut(s, "/")
	n, valid := parsePort(num)
	if !ok || !valid || (proto != "tcp" && proto != "udp") {
		return "", fmt.Errorf("%w: %q is not PORT/tcp or PORT/udp with PORT 1-65535", errBadPort, s)
	}
	return fmt.Sprintf("%d/%s", n, proto), nil
}

// requestedPorts returns the container ports ("8000/tcp") asked for by the -p env keys of a
// create, in the order the keys sort, each once. Any key starting with "-p" is a port request
// and must read "-p HOST:CONTAINER[/tcp|/udp]" with both ports 1–65535. HOST is checked but,
// as on Vast, not honoured: the host port comes from the instance's direct port range.
func requestedPorts(env vastapi.EnvPairs) ([]string, error) {
	var keys []string
	for _, e := range env {
		if strings.HasPrefix(e.Name, "-p") {
			keys = append(keys, e.Name)
		}
	}
	sort.Strings(keys)
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		bad := fmt.Errorf("%w: env key %q is not -p HOST:CONTAINER[/tcp|/udp] with ports 1-65535", errBadPort, k)
		rest := strings.TrimLeft(k[2:], " ")
		if len(rest) == len(k)-2 {
			return nil, bad // no space after -p
		}
		host, cont, ok := strings.Cut(rest, ":")
		if _, valid := parsePort(host); !ok || !valid {
			return nil, bad
		}
		if !strings.Contains(cont, "/") {
			cont += "/tcp"
		}
		c, err := parseContainerPort(cont)
		if err != nil {
			return nil, bad
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// mapPorts maps 22/tcp to the first port of the direct range starting at start, then each
// requested container port to the next one, as far as a range of directPorts(count) goes: a
// host without enough direct ports cannot map the rest.
func mapPorts(requested []string, start, count int) map[string]int {
	ports := map[string]int{"22/tcp": start}
	next := start + 1
	for _, c := range requested {
		if next >= start+directPorts(count) {
			break
		}
		if _, dup := ports[c]; dup {
			continue
		}
		ports[c] = next
		next++
	}
	return ports
}

// SetHostPort maps container port (like "8080/tcp") of instance id to hostPort, replacing the
// mapping the create asked for or adding one, so a test can point an instance at a server of
// its own (with Options.PublicIPAddr "127.0.0.1"). The mapping shows while the instance runs.
func (s *Sim) SetHostPort(id int64, port string, hostPort int) error {
	c, err := parseContainerPort(port)
	if err != nil {
		return fmt.Errorf("set host port of instance %d: %w", id, err)
	}
	if hostPort < 1 || hostPort > 65535 {
		return fmt.Errorf("set host port of instance %d: %w: host port %d is not 1-65535", id, errBadPort, hostPort)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	in := s.live(id)
	if in == nil {
		return fmt.Errorf("set host port of instance %d: %w", id, ErrNotFound)
	}
	in.ports[c] = hostPort
	return nil
}
