package vastsim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Options configures a simulator. Zero values take the documented defaults.
type Options struct {
	Seed     int64
	Machines int // generated machines, default 300 (about 5 offers each); ignored with Catalogue
	// Clock is required; timestamps follow it exactly. A clock that can also advance (Advance(d),
	// as clock.Fake) lets the /_sim/advance control move it.
	Clock clock.Clock
	// APIKey is the configured key, echoed in users/current's api_key as the real API does.
	// Empty: any non-empty key is accepted.
	APIKey string
	// Keys are scoped keys besides APIKey (which has every scope): key → Scope* permissions.
	Keys   map[string][]string
	Credit float64 // starting credit in $, default 100
	// Speed ≥ 1 divides the simulator's own delays (provisioning, boot, drift, grace) and
	// multiplies billing. It never shifts timestamps. Default 1.
	Speed float64
	// Catalogue, when set, is served instead of a generated market (e.g. the real capture).
	Catalogue []vastapi.Offer
	// Feed, when set, is replayed instead of a generated market (feed.go): the changes due by
	// the clock's start make the first market. There is no drift.
	Feed   Feed
	Logger *slog.Logger

	// ProvisionDelay is how long a new instance reads actual_status null (default 5s);
	// BootDelay how long it then reads loading before running (default 60s). Both ÷ Speed.
	ProvisionDelay time.Duration
	BootDelay      time.Duration
	// DriftInterval is the spacing of the seeded price/availability drift steps (default 10m,
	// ÷ Speed); negative disables drift.
	DriftInterval time.Duration
	// RateLimit, when set, enforces a minimum spacing per key and "METHOD template" on the clock,
	// answering 429 {"detail": "… threshold=X"} without Retry-After as the real API does
	// (vastapi.DefaultPacing is the published table). nil: no limits.
	RateLimit map[string]time.Duration
	// Grace is how long instances survive, stopped, after credit reaches zero before they are
	// deleted (default 24h, ÷ Speed).
	Grace time.Duration
	// BootFailure is the share of new instances that fail while booting (exited, OCI error or
	// stuck loading, evenly); HostFailuresPerDay how often a running instance's host goes
	// offline under it, per instance and day. Both 0 by default (hazards.go).
	BootFailure        float64
	HostFailuresPerDay float64
	// Scenario is a daily event on the generated market (scenario.go; set with WithScenario).
	Scenario string
	// PublicIPAddr, when set, is the public_ipaddr of every running instance instead of its
	// machine's made-up one, so tests can dial a mapped port on loopback ("127.0.0.1").
	PublicIPAddr string
}

// Sim is the simulated market. It is safe for concurrent use.
type Sim struct {
	mu    sync.Mutex
	opts  Options
	clock clock.Clock
	log   *slog.Logger
	speed float64

	machines []*machine
	offers   []*offer // ordered by id
	offerBy  map[int64]*offer
	gpuNames []string

	insts    map[int64]*instance
	instList []*instance // creation order = id order
	nextInst int64
	instRng  *rand.Rand

	credit   float64
	lastT    time.Time // billing and events integrated up to here
	start    time.Time
	drift    int64     // clock-driven drift steps applied
	manual   int64     // drift steps applied through Step
	zeroAt   time.Time // when credit reached zero (zero: not exhausted)
	deleteAt time.Time

	version uint64 // catalogue version: bumps on any change visible in search results
	priced  map[pricing]*pricedCat
	parsed  map[string]*parsedQuery    // search request → its parsed query
	streams map[*searchStream]struct{} // search replies being written from the live catalogue

	faults   []*faultState
	faultRng *rand.Rand
	reqs     []Request
	lastCall map[string]time.Time // rate limiting: identity+endpoint → last accepted call

	acct account // ssh keys, API keys, env vars, templates, logs (account.go)
	feed *feedState
	haz  *hazards // boot and host failures (hazards.go); nil: none
	scen scenarioState
}

// New builds a simulator. The same options (seed, machines, catalogue) give the same market.
func New(opts Options) (*Sim, error) {
	if opts.Clock == nil {
		return nil, errors.New("vastsim: Options.Clock is required")
	}
	if opts.Machines == 0 {
		opts.Machines = 300
	}
	if opts.Machines < 0 {
		return nil, fmt.Errorf("vastsim: machines %d must be positive", opts.Machines)
	}
	if opts.Credit == 0 {
		opts.Credit = 100
	}
	if opts.Speed == 0 {
		opts.Speed = 1
	}
	if opts.Scenario != "" && !slices.Contains(Scenarios, opts.Scenario) {
		return nil, fmt.Errorf("vastsim: unknown scenario %q", opts.Scenario)
	}
	if opts.Speed < 1 {
		return nil, fmt.Errorf("vastsim: speed %v must be at least 1", opts.Speed)
	}
	if _, err := netip.ParseAddr(opts.PublicIPAddr); opts.PublicIPAddr != "" && err != nil {
		return nil, fmt.Errorf("vastsim: public IP %q is not an IP address", opts.PublicIPAddr)
	}
	if opts.ProvisionDelay == 0 {
		opts.ProvisionDelay = 5 * time.Second
	}
	if opts.BootDelay == 0 {
		opts.BootDelay = 60 * time.Second
	}
	if opts.DriftInterval == 0 {
		opts.DriftInterval = 10 * time.Minute
	}
	if opts.Grace == 0 {
		opts.Grace = 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Clock.Now()
	s := &Sim{
		opts:     opts,
		clock:    opts.Clock,
		log:      opts.Logger,
		speed:    opts.Speed,
		offerBy:  map[int64]*offer{},
		insts:    map[int64]*instance{},
		nextInst: 20_000_000 + int64(seedRand(opts.Seed, 3).IntN(1_000_000)),
		instRng:  seedRand(opts.Seed, 1),
		faultRng: seedRand(opts.Seed, 2),
		credit:   opts.Credit,
		lastT:    now,
		start:    now,
		priced:   map[pricing]*pricedCat{},
		acct:     newAccount(),
	}
	switch {
	case opts.Feed != nil:
		s.loadFeed(opts.Feed, now)
	case opts.Catalogue != nil:
		if err := s.loadCatalogue(opts.Catalogue); err != nil {
			return nil, err
		}
	default:
		s.generate(seedRand(opts.Seed, 0), now, opts.Machines)
	}
	if s.feed == nil {
		s.compact()
	}
	s.haz = newHazards(opts)
	s.listGPUNames()
	for _, m := range s.machines {
		s.refreshMachine(m)
	}
	return s, nil
}

// listGPUNames lists the GPU names of the catalogue, for the gpu names endpoint.
func (s *Sim) listGPUNames() {
	names := map[string]bool{}
	for _, o := range s.offers {
		names[o.tmpl.GPUName] = true
	}
	for n := range names {
		s.gpuNames = append(s.gpuNames, n)
	}
	sort.Strings(s.gpuNames)
}

// seedRand derives an independent deterministic stream from the seed.
func seedRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream*0x9e3779b97f4a7c15+1))
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// scaled divides one of the simulator's own delays by Speed.
func (s *Sim) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.speed)
}

// now brings the state up to the clock and returns the time. Callers hold s.mu.
func (s *Sim) now() time.Time {
	t := s.clock.Now()
	s.advance(t)
	return t
}

// Credit returns the current credit after integrating billing up to the clock's now.
func (s *Sim) Credit() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	return s.credit
}

// SetCredit sets the credit. Topping up above zero cancels a pending zero-credit deletion;
// instances already stopped stay stopped until started.
func (s *Sim) SetCredit(v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	s.credit = v
	if v > 0 {
		s.zeroAt, s.deleteAt = time.Time{}, time.Time{}
	} else if s.zeroAt.IsZero() {
		s.exhaust(s.lastT)
	}
}

// Offers returns a copy of the current catalogue, rentable and not, ordered by id, priced as
// the generator listed them (5 GB of storage, on-demand), with duration as of the clock's now.
func (s *Sim) Offers() []vastapi.Offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := float64(s.now().UnixNano()) / 1e9
	out := make([]vastapi.Offer, len(s.offers))
	for i, o := range s.offers {
		out[i] = o.value()
		out[i].GPUIDs = append([]int64(nil), o.own.GPUIDs...)
		if o.own.EndDate.Valid {
			out[i].Duration = vastapi.Some(o.own.EndDate.V - now)
		}
	}
	return out
}

// Instances returns every instance as the API shows it, destroyed ones excluded (the API no
// longer shows them either), ordered by id.
func (s *Sim) Instances() []vastapi.Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []vastapi.Instance
	for _, in := range s.instList {
		if !in.destroyed {
			out = append(out, s.view(in, now).Instance)
		}
	}
	return out
}

// Destroyed returns the ids of destroyed instances, for tests that check clean-up.
func (s *Sim) Destroyed() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	var out []int64
	for _, in := range s.instList {
		if in.destroyed {
			out = append(out, in.id)
		}
	}
	return out
}

// ErrNotFound is returned by control calls naming an unknown offer or instance.
var ErrNotFound = errors.New("vastsim: not found")

// Failure modes accepted by FailInstance.
const (
	FailExited     = "exited"     // container died
	FailUnknown    = "unknown"    // no heartbeat
	FailOffline    = "offline"    // host gone
	FailOCI        = "oci"        // reads created with an OCI runtime error in status_msg
	FailStuck      = "stuck"      // never leaves loading
	FailScheduling = "scheduling" // a (re)start waiting for its GPUs indefinitely
)

// FailInstance makes an instance fail in one of the ways real ones do (the Fail* constants).
// exited/unknown/offline/oci stop GPU billing; none of them recovers by itself.
func (s *Sim) FailInstance(id int64, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	in, ok := s.insts[id]
	if !ok || in.destroyed {
		return fmt.Errorf("fail instance %d: %w", id, ErrNotFound)
	}
	switch status {
	case FailExited, FailUnknown, FailOffline, FailOCI:
		in.fail = status
		in.nextAt = time.Time{}
	case FailStuck:
		if in.ph == phStopped {
			// Only a start gets stuck loading: a stopped instance stays stopped (and bills its
			// storage) until someone asks for it again.
			return fmt.Errorf("fail instance %d: a stopped instance cannot be stuck loading", id)
		}
		in.fail = status
		in.setPhase(phLoading, now, time.Time{})
	case FailScheduling:
		in.fail = status
		s.releaseGPUs(in)
		in.setPhase(phScheduling, now, time.Time{})
	default:
		return fmt.Errorf("fail instance %d: unknown failure %q", id, status)
	}
	return nil
}

// SetMinBid sets an offer's interruptible floor ($/h, whole offer). Running bid instances of
// that offer whose bid is now below it are outbid.
func (s *Sim) SetMinBid(offerID int64, v float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	o, ok := s.offerBy[offerID]
	if !ok {
		return fmt.Errorf("set min_bid of offer %d: %w", offerID, ErrNotFound)
	}
	s.mutating()
	o.own.MinBid = v
	s.changed()
	s.checkOutbid(o.m, now)
	return nil
}

// SetPrice sets an offer's on-demand dph_base ($/h, whole offer). Instances already rented keep
// the price they were rented at.
func (s *Sim) SetPrice(offerID int64, dphBase float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	o, ok := s.offerBy[offerID]
	if !ok {
		return fmt.Errorf("set price of offer %d: %w", offerID, ErrNotFound)
	}
	s.mutating()
	o.update(func(v *vastapi.Offer) {
		v.DphBase = dphBase
		priceBase(v)
	})
	s.changed()
	return nil
}

// VanishOffer makes an offer unrentable as if another user rented its GPUs (between a search
// and a create): it and every overlapping offer leave the results, and a create on it gets the
// real 404 no_such_ask reply.
func (s *Sim) VanishOffer(offerID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	o, ok := s.offerBy[offerID]
	if !ok {
		return fmt.Errorf("vanish offer %d: %w", offerID, ErrNotFound)
	}
	for _, g := range o.gpus {
		if o.m.taken[g] == 0 {
			o.m.taken[g] = otherUser
		}
	}
	s.refreshMachine(o.m)
	return nil
}

// Step applies one drift step now (prices and availability move as they would on their own).
func (s *Sim) Step() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.manual++
	s.driftStep(-s.manual, now)
}
