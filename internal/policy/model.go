package policy

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/common/config"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Config is the validated runtime model of a config file. It is immutable once loaded: a
// reload builds a new one and swaps it whole. Every price is whole-instance $/h (dph_total).
type Config struct {
	PollInterval time.Duration
	DryRun       bool
	Owner        string // ownership tag: labels are vastwatch:<owner>:<fleet>:<nonce>
	Orphans      OrphanPolicy
	Account      Account
	Markets      []*Market
	Fleets       []*Fleet
	// Warnings are problems that do not stop the config from loading (pacing, for one).
	Warnings []string
	// Source is the file the config came from ("" for embedded).
	Source string
	// SSHKeys are the top-level ssh_keys: OpenSSH public key lines every fleet's instances get.
	SSHKeys []string
	// AllowPrivateAddresses lets readiness probes and /sd use an instance's public_ipaddr when
	// it is private, loopback or link-local; otherwise only global unicast addresses are used
	// (docs/design.md §8 "Readiness").
	AllowPrivateAddresses bool
	// OrphanDrain, with orphans: destroy, drains each orphan (its webhook told, its delay
	// waited) before it is destroyed, as a fleet's drain does before a scale-down (nil: no
	// drain). How many orphans go per cycle is bounded by MaxOrphanActions.
	OrphanDrain *Drain
}

// MaxOrphanActions bounds the orphan removals (drains and destroys) of one cycle: the smallest
// max_actions_per_cycle of the configured fleets (a renamed fleet's instances then go no faster
// than the new fleet may come up), 1 without fleets.
func (c *Config) MaxOrphanActions() int {
	n := 0
	for _, f := range c.Fleets {
		if m := f.MaxActionsPerCycle; m > 0 && (n == 0 || m < n) {
			n = m
		}
	}
	return max(n, 1)
}

// OrphanPolicy says what to do with managed instances whose fleet left the config.
type OrphanPolicy string

// Orphan policies.
const (
	OrphansKeep    OrphanPolicy = "keep"
	OrphansDestroy OrphanPolicy = "destroy"
)

// Account holds the account-wide money limits.
type Account struct {
	CreditFloor     float64 // $: below this nothing is rented
	MaxSpendPerHour float64 // $/h: committed spend cap across all fleets; 0 = no cap
	MonthlyBudget   float64 // $/month across all fleets; 0 = none
}

// Market is a watched search.
type Market struct {
	Name      string
	QueryText string        // as written in the config, vast CLI syntax
	Query     vastapi.Query // the wire body: defaults, type, order, limit, allocated_storage applied
	Type      vastapi.OfferType
	StorageGB float64
	GroupBy   []string // labels on price metrics; subset of GroupByLabels
}

// GroupByLabels is the fixed set of offer fields a market may group its price metrics by.
var GroupByLabels = []string{"gpu_name", "num_gpus", "gpu_arch", "country", "verification", "datacenter"}

// Fleet is a managed set of instances rented from one market.
type Fleet struct {
	Name     string
	Market   *Market
	Min      int
	Target   int // the target when no schedule entry has fired
	Max      int
	Schedule Schedule

	MaxPrice float64 // per instance, whole-instance $/h (dph_total for DiskGB)
	Budget   float64 // whole fleet committed spend, $/h
	Monthly  float64 // $/month for the fleet; 0 = none

	Instance InstanceTemplate

	BootTimeout        time.Duration
	CooldownUp         time.Duration
	CooldownDown       time.Duration
	MaxActionsPerCycle int
	ScaleDown          ScaleDownMode
	StoppedTTL         time.Duration
	MinDuration        time.Duration // do not rent offers whose listing ends sooner
	Rebalance          *Rebalance    // nil: off
	Bid                *BidPolicy    // set exactly when Market.Type is bid
	// DiscoveryPorts are container ports that /sd lists, for each running instance, at the
	// instance's public address and mapped host port (Prometheus HTTP service discovery).
	DiscoveryPorts []int
	// Spread caps how many of the fleet's instances share a machine, a host or a country
	// (0: no cap).
	Spread Spread
	// Readiness is the probe a running instance must pass before it counts as ready (nil: an
	// instance is ready once Vast reports it running).
	Readiness *Readiness
	// Drain says how an instance is taken out of service before a scale-down or a replacement
	// removes it (nil: removed at once).
	Drain *Drain
	// Autoscale, when set, derives the fleet's desired size from its workload's demand and
	// the market's prices; Target is then only the fallback while demand is unavailable, and
	// the schedule sets Min instead of Target (docs/design.md §8).
	Autoscale *Autoscale
	// Cold is how many stopped instances the fleet keeps as a cold pool for fast scale-ups
	// (0: none): scale-downs stop instead of destroy while fewer are stopped, and scale-ups
	// start them before renting.
	Cold int
	// SSHKeys are the OpenSSH public key lines attached to each of the fleet's instances after
	// it is created (the top-level ssh_keys, then the fleet's own; docs/design.md §4).
	SSHKeys []string
	// Avoid bounds the machines avoided for the fleet after failures.
	Avoid Avoid
}

// Autoscale is where an autoscaled fleet's desired size comes from: its demand, the price
// curve over the market, or both (the smaller wins), stabilised over time windows.
type Autoscale struct {
	Demand     *Demand      // nil: no demand source
	PriceCurve []CurvePoint // empty: no price source
	// StabilizeUp and StabilizeDown are the windows over which a scale-up acts on the lowest
	// desired seen and a scale-down on the highest (Kubernetes HPA's rule).
	StabilizeUp, StabilizeDown time.Duration
}

// Demand is an instant PromQL query whose one sample, divided by PerInstance and rounded up,
// is the number of instances the workload needs.
type Demand struct {
	URL         Value // the Prometheus server's base URL; may be a secret
	HTTP        config.HTTPClientConfig
	Query       string
	PerInstance float64
	// StaleAfter is how long the last good value holds when the query yields none; after it
	// the fleet falls back to its size.target and never scales down on missing data.
	StaleAfter time.Duration
}

// CurvePoint says what the k-th instance is worth: every rank up to Instances (and above the
// previous point's) may cost at most MaxPrice, whole-instance $/h.
type CurvePoint struct {
	Instances int
	MaxPrice  float64
}

// CurvePrice is the most the k-th cheapest instance (1-based) may cost under the curve; ok is
// false beyond its last point.
func (a *Autoscale) CurvePrice(k int) (price float64, ok bool) {
	for _, pt := range a.PriceCurve {
		if k <= pt.Instances {
			return pt.MaxPrice, true
		}
	}
	return 0, false
}

// Defaults of autoscaling.
const (
	DefaultStaleAfter    = 5 * time.Minute
	DefaultStabilizeDown = 5 * time.Minute
)

// Readiness probes a container port through the instance's public address and the host port
// Vast maps it to: a TCP connect, or with Path an HTTP GET that must answer 2xx. An instance
// that has not passed it within the fleet's boot_timeout of starting is failed (destroyed,
// its machine avoided, replaced). Once passed, a later failure takes the instance out of /sd
// until it passes again, but does not replace it: readiness gates the boot, it is not a
// liveness check.
type Readiness struct {
	Port    int           // container port, e.g. 8080
	Path    string        // "" = TCP connect; else an absolute path such as /healthz
	Timeout time.Duration // one probe's limit
}

// Drain takes an instance out of service before it is removed: it leaves /sd and stops counting
// toward the target at once; the webhook, when set, is POSTed a JSON description of it every
// cycle until it answers 2xx; the instance is removed once the webhook has answered 2xx (or
// Timeout has passed since the drain began, whatever it answered) and at least Delay has
// passed since the drain began.
type Drain struct {
	Webhook Value // "" = none; may be a secret (it may carry a token)
	Timeout time.Duration
	Delay   time.Duration
}

// Defaults of the readiness probe and the drain.
const (
	DefaultProbeTimeout = 5 * time.Second
	DefaultDrainTimeout = 5 * time.Minute
)

// Avoid bounds machine avoidance for one fleet (docs/design.md §8): of the machines the fleet
// could rent on (its eligible machines), at most MaxShare are avoided for it at once; beyond
// that, the avoidances closest to expiry lapse early for the fleet. Avoidance therefore never
// takes a fleet's whole market.
type Avoid struct {
	MaxShare float64 // in (0, 1); 0 (a Fleet built without the config) means DefaultAvoidMaxShare
}

// DefaultAvoidMaxShare is avoid.max_share when the key is absent: at most half of a fleet's
// eligible machines are avoided at once.
const DefaultAvoidMaxShare = 0.5

// Share is the bound in force: MaxShare, or DefaultAvoidMaxShare when unset.
func (a Avoid) Share() float64 {
	if a.MaxShare <= 0 {
		return DefaultAvoidMaxShare
	}
	return a.MaxShare
}

// Spread limits how many of a fleet's instances (pending creates and make-before-break
// replacements included) may share one machine, one host (host_id) or one country (the ", CC"
// suffix of geolocation). 0 means no limit. With MaxPerCountry set, offers whose country is
// unknown (null geolocation) are not rented: they could be in any country.
type Spread struct {
	MaxPerMachine int
	MaxPerHost    int
	MaxPerCountry int
}

// Any reports whether any spread limit is set.
func (s Spread) Any() bool { return s.MaxPerMachine > 0 || s.MaxPerHost > 0 || s.MaxPerCountry > 0 }

// TargetAt is the fleet's target at now: the most recent schedule firing's target, else
// Target, clamped to [Min, Max]. On an autoscaled fleet the schedule sets the floor instead
// (MinAt), and Target is the fallback. It is pure.
func (f *Fleet) TargetAt(now time.Time) int {
	t := f.Target
	if v, _, ok := f.Schedule.TargetAt(now); ok && f.Autoscale == nil {
		t = v
	}
	return max(f.MinAt(now), min(t, f.Max))
}

// MinAt is the fleet's floor at now: on an autoscaled fleet, the most recent schedule firing's
// min, else Min. It is pure.
func (f *Fleet) MinAt(now time.Time) int {
	if f.Autoscale != nil {
		if v, _, ok := f.Schedule.TargetAt(now); ok {
			return min(max(v, f.Min), f.Max)
		}
	}
	return f.Min
}

// ScaleDownMode is what happens to instances above target.
type ScaleDownMode string

// Scale-down modes.
const (
	ScaleDownDestroy ScaleDownMode = "destroy"
	ScaleDownStop    ScaleDownMode = "stop"
)

// Rebalance moves instances to cheaper equivalent offers.
type Rebalance struct {
	MinSavings float64 // fraction in (0,1): 0.25 = at least 25 % cheaper
	MinAge     time.Duration
}

// BidPolicy prices interruptible creates: min_bid × Multiplier, capped by MaxPerHour and the
// fleet's MaxPrice.
type BidPolicy struct {
	Multiplier float64
	MaxPerHour float64
}

// InstanceTemplate is what each created instance runs. Secret values are resolved at load.
type InstanceTemplate struct {
	Image          string
	DiskGB         float64
	Runtype        string
	Onstart        string
	Args           []string
	Env            []EnvVar
	ImageLogin     Value
	TemplateHashID string
}

// EnvVar is one container environment variable.
type EnvVar struct {
	Name  string
	Value Value
}

// Value is a config string that may be secret ({file: PATH} or {env: NAME}). A secret one
// redacts itself in String, JSON and logs; Reveal returns the value for the create request.
type Value struct {
	v      string
	secret bool
}

// PlainValue and SecretValue build Values.
func PlainValue(s string) Value  { return Value{v: s} }
func SecretValue(s string) Value { return Value{v: s, secret: true} }

// Reveal returns the value.
func (v Value) Reveal() string { return v.v }

// IsSecret reports whether the value came from a file or the environment.
func (v Value) IsSecret() bool { return v.secret }

func (v Value) String() string {
	if v.secret {
		return "<redacted>"
	}
	return v.v
}

// GoString redacts %#v too.
func (v Value) GoString() string { return strconv.Quote(v.String()) }

// LogValue redacts the value in slog.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.String()) }

// MarshalJSON writes the printable form.
func (v Value) MarshalJSON() ([]byte, error) { return vastapi.NewSecretOrPlain(v.v, v.secret) }

// MarshalText writes the printable form.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// DistinctSearches is the number of searches one poll makes: one per distinct query body.
func (c *Config) DistinctSearches() int {
	keys := map[string]bool{}
	for _, m := range c.Markets {
		keys[m.Query.Key()] = true
	}
	return len(keys)
}

// Market returns the market named name, or nil.
func (c *Config) Market(name string) *Market {
	for _, m := range c.Markets {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Fleet returns the fleet named name, or nil.
func (c *Config) Fleet(name string) *Fleet {
	for _, f := range c.Fleets {
		if f.Name == name {
			return f
		}
	}
	return nil
}
