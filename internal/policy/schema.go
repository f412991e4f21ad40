package policy

import (
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// The file structs mirror the YAML on disk (keys.go names their keys for the validators); the
// runtime model in model.go is built from them after validation. Fields keep their defaults
// when a key is absent or null.

type fileConfig struct {
	PollInterval duration     `yaml:"poll_interval"`
	DryRun       bool         `yaml:"dry_run"`
	Owner        string       `yaml:"owner"`
	Account      fileAccount  `yaml:"account"`
	Markets      []fileMarket `yaml:"markets"`
	Fleets       []fileFleet  `yaml:"fleets"`
	Orphans      string       `yaml:"orphans"`
	// AllowPrivateAddresses lets probes and /sd use private, loopback and link-local
	// public_ipaddr values (a LAN, tests, the simulator).
	AllowPrivateAddresses bool `yaml:"allow_private_addresses"`
	// OrphanDrain drains orphans before orphans: destroy removes them.
	OrphanDrain *fileDrain `yaml:"orphan_drain"`
	SSHKeys     sshKeyList `yaml:"ssh_keys"`
}

type fileAccount struct {
	CreditFloor      float64 `yaml:"credit_floor_dollars"`
	MaxSpendPerHour  float64 `yaml:"max_spend_dollars_per_hour"`
	MaxSpendPerMonth float64 `yaml:"max_spend_dollars_per_month"`
}

type fileMarket struct {
	Name       string   `yaml:"name"`
	Query      string   `yaml:"query"`
	Type       string   `yaml:"type"`
	Order      string   `yaml:"order"`
	Limit      int      `yaml:"limit"`
	StorageGB  float64  `yaml:"storage_gb"`
	NoDefaults bool     `yaml:"no_defaults"`
	GroupBy    []string `yaml:"group_by"`
}

func (m *fileMarket) setDefaults() {
	m.Type = string(vastapi.OnDemand)
	m.Order = DefaultOrder
	m.StorageGB = DefaultStorageGB
}

type fileFleet struct {
	Name               string              `yaml:"name"`
	Market             string              `yaml:"market"`
	Size               fileSize            `yaml:"size"`
	Schedule           []fileScheduleEntry `yaml:"schedule"`
	MaxPrice           float64             `yaml:"max_price_dollars_per_hour"`
	Budget             float64             `yaml:"budget_dollars_per_hour"`
	MonthlyBudget      float64             `yaml:"budget_dollars_per_month"`
	Instance           fileInstance        `yaml:"instance"`
	BootTimeout        duration            `yaml:"boot_timeout"`
	Cooldown           fileCooldown        `yaml:"cooldown"`
	MaxActionsPerCycle int                 `yaml:"max_actions_per_cycle"`
	ScaleDown          string              `yaml:"scale_down"`
	StoppedTTL         duration            `yaml:"stopped_ttl"`
	MinDuration        duration            `yaml:"min_duration"`
	Rebalance          *fileRebalance      `yaml:"rebalance"`
	Bid                *fileBid            `yaml:"bid"`
	Discovery          *fileDiscovery      `yaml:"discovery"`
	Spread             *fileSpread         `yaml:"spread"`
	Readiness          *fileReadiness      `yaml:"readiness"`
	Drain              *fileDrain          `yaml:"drain"`
	Autoscale          *fileAutoscale      `yaml:"autoscale"`
	Cold               *fileCold           `yaml:"cold"`
	SSHKeys            sshKeyList          `yaml:"ssh_keys"`
	Avoid              *fileAvoid          `yaml:"avoid"`
}

// fileAutoscale sets the fleet's desired size from its demand and the market's prices.
type fileAutoscale struct {
	Demand        *fileDemand       `yaml:"demand"`
	PriceCurve    []fileCurvePoint  `yaml:"price_curve"`
	Stabilization fileStabilization `yaml:"stabilization"`
}

func (a *fileAutoscale) setDefaults() {
	a.Stabilization.ScaleDown = duration(DefaultStabilizeDown)
}

// fileDemand is the workload's need, from Prometheus.
type fileDemand struct {
	Prometheus  filePrometheus `yaml:"prometheus"`
	Query       string         `yaml:"query"`
	PerInstance float64        `yaml:"per_instance"`
	StaleAfter  duration       `yaml:"stale_after"`
}

func (d *fileDemand) setDefaults() { d.StaleAfter = duration(DefaultStaleAfter) }

// filePrometheus is the server the demand query asks, with Prometheus' own HTTP client config.
type filePrometheus struct {
	URL        secretString   `yaml:"url"`
	HTTPConfig httpClientYAML `yaml:"http_config"`
}

type fileCurvePoint struct {
	Instances int     `yaml:"instances"`
	MaxPrice  float64 `yaml:"max_price_dollars_per_hour"`
}

type fileStabilization struct {
	ScaleUp   duration `yaml:"scale_up"`
	ScaleDown duration `yaml:"scale_down"`
}

// fileCold is the fleet's cold pool of stopped instances.
type fileCold struct {
	Instances int `yaml:"instances"`
}

// fileReadiness is the probe an instance must pass before it counts as ready.
type fileReadiness struct {
	Port    int      `yaml:"port"`
	Path    string   `yaml:"path"`
	Timeout duration `yaml:"timeout"`
}

// fileDrain is what happens before an instance of the fleet is scaled down or replaced.
type fileDrain struct {
	Webhook secretString `yaml:"webhook"`
	Timeout duration     `yaml:"timeout"`
	Delay   duration     `yaml:"delay"`
}

// fileSpread caps the fleet's instances per machine, host and country (0 = no cap).
type fileSpread struct {
	MaxPerMachine int `yaml:"max_per_machine"`
	MaxPerHost    int `yaml:"max_per_host"`
	MaxPerCountry int `yaml:"max_per_country"`
}

// fileAvoid bounds the machines avoided for the fleet after failures.
type fileAvoid struct {
	MaxShare float64 `yaml:"max_share"`
}

func (a *fileAvoid) setDefaults() { a.MaxShare = DefaultAvoidMaxShare }

// fileDiscovery lists the container ports /sd offers to Prometheus for each running instance.
type fileDiscovery struct {
	Ports []int `yaml:"ports"`
}

// Fleet defaults: what an operator would pick for a small production fleet.
const (
	defaultBootTimeout   = 15 * time.Minute
	defaultCooldownUp    = time.Minute
	defaultCooldownDown  = 10 * time.Minute
	defaultMaxActions    = 2
	defaultStoppedTTL    = 24 * time.Hour
	defaultDiskGB        = 10
	defaultRebalanceAge  = 2 * time.Hour
	defaultPollInterval  = 60 * time.Second
	defaultBidMultiplier = 1.1
)

func (f *fileFleet) setDefaults() {
	f.BootTimeout = duration(defaultBootTimeout)
	f.Cooldown = fileCooldown{ScaleUp: duration(defaultCooldownUp), ScaleDown: duration(defaultCooldownDown)}
	f.MaxActionsPerCycle = defaultMaxActions
	f.ScaleDown = string(ScaleDownDestroy)
	f.StoppedTTL = duration(defaultStoppedTTL)
	f.Instance.DiskGB = defaultDiskGB
	f.Instance.Runtype = "ssh"
}

type fileSize struct {
	Min    int `yaml:"min"`
	Target int `yaml:"target"`
	Max    int `yaml:"max"`
}

type fileScheduleEntry struct {
	Cron   string `yaml:"cron"`
	Target int    `yaml:"target"`
	Min    int    `yaml:"min"` // on autoscaled fleets, instead of target
}

type fileInstance struct {
	Image          string       `yaml:"image"`
	DiskGB         float64      `yaml:"disk_gb"`
	Runtype        string       `yaml:"runtype"`
	Onstart        string       `yaml:"onstart"`
	Args           []string     `yaml:"args"`
	Env            envList      `yaml:"env"`
	ImageLogin     secretString `yaml:"image_login"`
	TemplateHashID string       `yaml:"template_hash_id"`
}

type fileCooldown struct {
	ScaleUp   duration `yaml:"scale_up"`
	ScaleDown duration `yaml:"scale_down"`
}

type fileRebalance struct {
	MinSavings float64  `yaml:"min_savings"`
	MinAge     duration `yaml:"min_age"`
}

func (r *fileRebalance) setDefaults() { r.MinAge = duration(defaultRebalanceAge) }

type fileBid struct {
	Multiplier float64 `yaml:"multiplier"`
	MaxPerHour float64 `yaml:"max_dollars_per_hour"`
}

func (b *fileBid) setDefaults() { b.Multiplier = defaultBidMultiplier }

// defaulter is a file struct that has defaults to set before its node is decoded.
type defaulter interface{ setDefaults() }
