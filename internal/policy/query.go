package policy

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// SearchOptions are the `vastai search offers` flags that shape the body besides the query text.
type SearchOptions struct {
	Order      string  // -o/--order, e.g. "dph_total,reliability-"; "" = the CLI default "score-"
	Limit      int     // --limit; 0 = key absent (server default)
	Type       string  // --type: on-demand | bid | reserved | interruptible (= bid); "" = on-demand
	StorageGB  float64 // --storage: GB priced into dph_total; 0 = the CLI default 5.0
	NoDefaults bool    // -n: drop the verified/external/rentable defaults
}

// DefaultStorageGB is the CLI's --storage default.
const DefaultStorageGB = 5.0

// DefaultOrder is the CLI's -o default.
const DefaultOrder = "score-"

// QueryError is a query the official CLI would refuse. Msg reads like the CLI's message.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

func queryErr(format string, a ...any) error { return &QueryError{Msg: fmt.Sprintf(format, a...)} }

// offerFields are the columns the CLI knows (vastai/api/query.py offers_fields). Any other
// field is still sent, with a warning, as the CLI does.
var offerFields = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`bw_nvlink compute_cap cpu_arch cpu_cores cpu_cores_effective
		cpu_ghz cpu_ram cuda_max_good datacenter direct_port_count driver_version disk_bw disk_space
		dlperf dlperf_per_dphtotal dph_total duration external flops_per_dphtotal gpu_arch
		gpu_display_active gpu_frac gpu_mem_bw gpu_name gpu_ram gpu_total_ram gpu_max_power
		gpu_max_temp has_avx host_id id inet_down inet_down_cost inet_up inet_up_cost machine_id
		min_bid mobo_name num_gpus pci_gen pcie_bw reliability rentable rented storage_cost
		static_ip total_flops ubuntu_version verification verified vms_enabled geolocation
		cluster_id`) {
		offerFields[f] = true
	}
}

// fieldAlias are the CLI's offers_alias; they apply to filters and to -o fields.
var fieldAlias = map[string]string{
	"cuda_vers":      "cuda_max_good",
	"display_active": "gpu_display_active",
	"dlperf_usd":     "dlperf_per_dphtotal",
	"dph":            "dph_total",
	"flops_usd":      "flops_per_dphtotal",
}

// fieldMultiplier are the CLI's offers_mult: GB -> MB (decimal) and days -> seconds.
var fieldMultiplier = map[string]float64{
	"cpu_ram":       1000,
	"gpu_ram":       1000,
	"gpu_total_ram": 1000,
	"duration":      24.0 * 60.0 * 60.0,
}

// opNames is the CLI's operator table.
var opNames = map[string]vastapi.Op{
	">=": vastapi.OpGte, ">": vastapi.OpGt, "gt": vastapi.OpGt, "gte": vastapi.OpGte,
	"<=": vastapi.OpLte, "<": vastapi.OpLt, "lt": vastapi.OpLt, "lte": vastapi.OpLte,
	"!=": vastapi.OpNeq, "==": vastapi.OpEq, "=": vastapi.OpEq, "eq": vastapi.OpEq,
	"neq": vastapi.OpNeq, "noteq": vastapi.OpNeq, "not eq": vastapi.OpNeq,
	"notin": vastapi.OpNotIn, "not in": vastapi.OpNotIn, "nin": vastapi.OpNotIn, "in": vastapi.OpIn,
}

// ParseQuery translates the official vast CLI's `search offers` syntax into the wire query
// object, with the CLI's defaults, aliases, unit conversions and errors (docs/vast-api.md
// §2). The result is both what is POSTed and what replies are matched against locally.
func ParseQuery(text string, opts SearchOptions) (vastapi.Query, error) {
	q, _, err := ParseQueryWarnings(text, opts)
	return q, err
}

// ParseQueryWarnings is ParseQuery that also returns the CLI's warnings (unrecognized fields,
// which are still sent).
func ParseQueryWarnings(text string, opts SearchOptions) (vastapi.Query, []string, error) {
	if !utf8.ValidString(text) || !utf8.ValidString(opts.Order) {
		return vastapi.Query{}, nil, queryErr("the query is not valid UTF-8 text")
	}
	var q vastapi.Query
	if !opts.NoDefaults {
		q.Set("verified", vastapi.OpEq, vastapi.BoolValue(true))
		q.Set("external", vastapi.OpEq, vastapi.BoolValue(false))
		q.Set("rentable", vastapi.OpEq, vastapi.BoolValue(true))
	}
	warnings, err := parseFilters(text, &q)
	if err != nil {
		return vastapi.Query{}, warnings, err
	}
	order := opts.Order
	if order == "" {
		order = DefaultOrder
	}
	q.Order, err = ParseOrder(order)
	if err != nil {
		return vastapi.Query{}, warnings, err
	}
	switch opts.Type {
	case "", "on-demand", "ondemand":
		q.Type = vastapi.OnDemand
	case "bid", "interruptible":
		q.Type = vastapi.Bid
	case "reserved":
		q.Type = vastapi.Reserved
	default:
		return vastapi.Query{}, warnings, queryErr("invalid type %s; allowed: on-demand, bid, reserved, interruptible", pyRepr(opts.Type))
	}
	if opts.Limit < 0 {
		return vastapi.Query{}, warnings, queryErr("limit %d is negative; allowed: a positive number of offers, or 0 for the server's default", opts.Limit)
	}
	q.Limit = opts.Limit
	storage := opts.StorageGB
	if storage == 0 {
		storage = DefaultStorageGB
	}
	if storage < 0 || math.IsNaN(storage) || math.IsInf(storage, 0) {
		return vastapi.Query{}, warnings, queryErr("storage %v GB is invalid; allowed: a positive number of GB", storage)
	}
	q.AllocatedStorage = vastapi.Some(storage)
	return q, warnings, nil
}

// ParseOrder parses the CLI's -o syntax: comma-separated fields, a trailing "-" for descending,
// "+" or nothing for ascending, aliases applied.
func ParseOrder(s string) ([]vastapi.OrderBy, error) {
	order := []vastapi.OrderBy{}
	for _, name := range strings.Split(s, ",") {
		name = pyStrip(name)
		if name == "" {
			continue
		}
		desc := false
		field := name
		if t := strings.Trim(name, "-"); t != name {
			desc, field = true, t
		}
		if t := strings.Trim(name, "+"); t != name {
			desc, field = false, t
		}
		if a, ok := fieldAlias[field]; ok {
			field = a
		}
		if field == "" {
			return nil, queryErr("order field cannot be blank: %s", pyRepr(name))
		}
		order = append(order, vastapi.OrderBy{Field: field, Desc: desc})
	}
	return order, nil
}
