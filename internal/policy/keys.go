package policy

import "fmt"

// yamlPath is a dotted path into the config file, such as fleets[0].size.min: the key under
// which the decoder recorded a value's line and whether it was set. Validators build paths
// from the key constants below with dot and at, never by gluing strings, so a misspelt key
// does not compile (and TestKeysAreYAMLTags fails when a constant drifts from its struct tag).
type yamlPath string

// dot is the path of key under p.
func (p yamlPath) dot(key string) yamlPath {
	if p == "" {
		return yamlPath(key)
	}
	return p + "." + yamlPath(key)
}

// at is the path of item i of the list at p.
func (p yamlPath) at(i int) yamlPath { return yamlPath(fmt.Sprintf("%s[%d]", p, i)) }

// The config's keys, named <section><Key>; each block is one file struct's yaml tags
// (fileConfig, fileAccount, fileMarket, fileFleet, then the fleet's sections).
const (
	configPollInterval = "poll_interval"
	configOwner        = "owner"
	configOrphans      = "orphans"
	configAccount      = "account"
	configMarkets      = "markets"
	configFleets       = "fleets"
	configAllowPrivate = "allow_private_addresses"
	configOrphanDrain  = "orphan_drain"
	configSSHKeys      = "ssh_keys"

	accountCreditFloor = "credit_floor_dollars"
	accountMaxPerHour  = "max_spend_dollars_per_hour"
	accountMaxPerMonth = "max_spend_dollars_per_month"

	marketName      = "name"
	marketQuery     = "query"
	marketType      = "type"
	marketOrder     = "order"
	marketLimit     = "limit"
	marketStorageGB = "storage_gb"
	marketGroupBy   = "group_by"

	fleetName        = "name"
	fleetMarket      = "market"
	fleetSize        = "size"
	fleetSchedule    = "schedule"
	fleetMaxPrice    = "max_price_dollars_per_hour"
	fleetBudget      = "budget_dollars_per_hour"
	fleetMonthly     = "budget_dollars_per_month"
	fleetInstance    = "instance"
	fleetBootTimeout = "boot_timeout"
	fleetCooldown    = "cooldown"
	fleetMaxActions  = "max_actions_per_cycle"
	fleetScaleDown   = "scale_down"
	fleetStoppedTTL  = "stopped_ttl"
	fleetMinDuration = "min_duration"
	fleetRebalance   = "rebalance"
	fleetBid         = "bid"
	fleetDiscovery   = "discovery"
	fleetSpread      = "spread"
	fleetReadiness   = "readiness"
	fleetDrain       = "drain"
	fleetAutoscale   = "autoscale"
	fleetCold        = "cold"
	fleetSSHKeys     = "ssh_keys"
	fleetAvoid       = "avoid"

	sizeMin    = "min"
	sizeTarget = "target"
	sizeMax    = "max"

	scheduleCron   = "cron"
	scheduleTarget = "target"
	scheduleMin    = "min"

	instanceImage   = "image"
	instanceDiskGB  = "disk_gb"
	instanceRuntype = "runtype"
	instanceOnstart = "onstart"

	cooldownScaleUp   = "scale_up"
	cooldownScaleDown = "scale_down"

	rebalanceMinSavings = "min_savings"
	rebalanceMinAge     = "min_age"

	bidMultiplier = "multiplier"
	bidMaxPerHour = "max_dollars_per_hour"

	discoveryPorts = "ports"

	spreadMaxPerMachine = "max_per_machine"
	spreadMaxPerHost    = "max_per_host"
	spreadMaxPerCountry = "max_per_country"

	readinessPort    = "port"
	readinessPath    = "path"
	readinessTimeout = "timeout"

	drainWebhook = "webhook"
	drainTimeout = "timeout"
	drainDelay   = "delay"

	autoscaleDemand        = "demand"
	autoscalePriceCurve    = "price_curve"
	autoscaleStabilization = "stabilization"

	demandPrometheus  = "prometheus"
	demandQuery       = "query"
	demandPerInstance = "per_instance"
	demandStaleAfter  = "stale_after"

	prometheusURL        = "url"
	prometheusHTTPConfig = "http_config"

	curveInstances = "instances"
	curveMaxPrice  = "max_price_dollars_per_hour"

	stabilizationScaleUp   = "scale_up"
	stabilizationScaleDown = "scale_down"

	coldInstances = "instances"
	avoidMaxShare = "max_share"
)
