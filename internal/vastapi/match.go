package vastapi

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Matching and ordering of offers against the wire query object, shared by the simulator (which
// answers searches with it) and the daemon (which re-checks every offer a search returns).
//
// Semantics (vast-api.md §2):
//   - A column the offer leaves null is unknown, not a mismatch: every condition on it passes.
//   - Numeric strings equal the numbers they spell; booleans compare as 1/0.
//   - Virtual columns are evaluated through fields replies carry: verified → verification,
//     datacenter → hosting_type==1, geolocation codes → the ", CC" suffix, duration → end_date−now.
//   - `rented` is accepted and not filtered (the server ignores it).
//   - `allocated_storage` also acts as disk_space >= value; `target_reliability` as
//     expected_reliability >= value.
//   - Unknown columns are ignored, as the server does not reject them and the CLI sends them
//     after a warning; Matcher.Unknown lists them so a caller can warn too.

// fieldKind says how a column compares.
type fieldKind uint8

const (
	fkNum fieldKind = iota
	fkStr
	fkGeo // string compared by its ", CC" country code when the operand is a 2-letter code
)

// field reads one column of an offer. num/str report known=false for null.
type field struct {
	kind fieldKind
	num  func(o *Offer, now float64) (float64, bool)
	str  func(o *Offer) (string, bool)
	// driver converts dotted operands ("535.183.01") to the driver_vers integer.
	driver bool
}

func numF(f func(o *Offer) float64) field {
	return field{kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) { return f(o), true }}
}

func optF[T int | int64 | float64](f func(o *Offer) Opt[T]) field {
	return field{kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) {
		v := f(o)
		return float64(v.V), v.Valid
	}}
}

func boolF(f func(o *Offer) bool) field {
	return field{kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) {
		if f(o) {
			return 1, true
		}
		return 0, true
	}}
}

func strF(f func(o *Offer) string) field {
	return field{kind: fkStr, str: func(o *Offer) (string, bool) { return f(o), true }}
}

func optStrF(f func(o *Offer) Opt[string]) field {
	return field{kind: fkStr, str: func(o *Offer) (string, bool) { v := f(o); return v.V, v.Valid }}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// fields maps every column and alias a query may name to its reader.
var fields map[string]field

func init() {
	// driver_version is read from the dotted string replies carry. The driver_vers integer is
	// stale in real replies (24 of the 1,396 captured offers disagree with their string, 130
	// leave it null), and a string that is not a full major.minor.patch triple ("550.76") cannot
	// be placed exactly, so it is unknown. driver_vers itself stays a plain column.
	driver := field{kind: fkNum, driver: true, num: func(o *Offer, _ float64) (float64, bool) {
		if strings.Count(o.DriverVersion, ".") != 2 {
			return 0, false
		}
		v, ok := DriverVersInt(o.DriverVersion)
		return float64(v), ok
	}}
	gb := func(f func(o *Offer) float64) field {
		return numF(func(o *Offer) float64 { return f(o) / 1000 })
	}
	fields = map[string]field{
		"id":              numF(func(o *Offer) float64 { return float64(o.ID) }),
		"ask_contract_id": numF(func(o *Offer) float64 { return float64(o.AskContractID) }),
		"bundle_id":       numF(func(o *Offer) float64 { return float64(o.BundleID) }),
		"bundled_results": optF(func(o *Offer) Opt[int64] { return o.BundledResults }),
		"rn":              numF(func(o *Offer) float64 { return float64(o.Rn) }),
		"machine_id":      numF(func(o *Offer) float64 { return float64(o.MachineID) }),
		"host_id":         numF(func(o *Offer) float64 { return float64(o.HostID) }),

		"num_gpus":           numF(func(o *Offer) float64 { return float64(o.NumGPUs) }),
		"gpu_name":           strF(func(o *Offer) string { return o.GPUName }),
		"gpu_arch":           strF(func(o *Offer) string { return o.GPUArch }),
		"gpu_ram":            numF(func(o *Offer) float64 { return o.GPURAM }),
		"gpu_total_ram":      numF(func(o *Offer) float64 { return o.GPUTotalRAM }),
		"gpu_frac":           numF(func(o *Offer) float64 { return o.GPUFrac }),
		"gpu_lanes":          numF(func(o *Offer) float64 { return float64(o.GPULanes) }),
		"gpu_max_power":      numF(func(o *Offer) float64 { return o.GPUMaxPower }),
		"gpu_max_temp":       numF(func(o *Offer) float64 { return o.GPUMaxTemp }),
		"gpu_mem_bw":         numF(func(o *Offer) float64 { return o.GPUMemBW }),
		"gpu_display_active": boolF(func(o *Offer) bool { return o.GPUDisplayActive }),
		"bw_nvlink":          numF(func(o *Offer) float64 { return o.BwNvlink }),
		"compute_cap":        numF(func(o *Offer) float64 { return float64(o.ComputeCap) }),
		"cuda_max_good":      numF(func(o *Offer) float64 { return o.CUDAMaxGood }),
		"driver_version":     driver,
		"driver_vers":        optF(func(o *Offer) Opt[int64] { return o.DriverVers }),

		"cpu_arch":            strF(func(o *Offer) string { return o.CPUArch }),
		"cpu_cores":           optF(func(o *Offer) Opt[float64] { return o.CPUCores }),
		"cpu_cores_effective": numF(func(o *Offer) float64 { return o.CPUCoresEffective }),
		"cpu_ghz":             optF(func(o *Offer) Opt[float64] { return o.CPUGHz }),
		"cpu_name":            optStrF(func(o *Offer) Opt[string] { return o.CPUName }),
		"cpu_ram":             numF(func(o *Offer) float64 { return o.CPURAM }),
		"has_avx":             numF(func(o *Offer) float64 { return float64(o.HasAVX) }),
		"mobo_name":           optStrF(func(o *Offer) Opt[string] { return o.MoboName }),
		"pci_gen":             numF(func(o *Offer) float64 { return o.PCIGen }),
		"pcie_bw":             optF(func(o *Offer) Opt[float64] { return o.PCIeBW }),
		"disk_space":          numF(func(o *Offer) float64 { return o.DiskSpace }),
		"disk_bw":             numF(func(o *Offer) float64 { return o.DiskBW }),
		"disk_name":           optStrF(func(o *Offer) Opt[string] { return o.DiskName }),
		"os_version":          optStrF(func(o *Offer) Opt[string] { return o.OSVersion }),
		"vms_enabled":         boolF(func(o *Offer) bool { return o.VMsEnabled }),

		"inet_up":                   numF(func(o *Offer) float64 { return o.InetUp }),
		"inet_down":                 numF(func(o *Offer) float64 { return o.InetDown }),
		"inet_up_cost":              numF(func(o *Offer) float64 { return o.InetUpCost }),
		"inet_down_cost":            numF(func(o *Offer) float64 { return o.InetDownCost }),
		"internet_up_cost_per_tb":   numF(func(o *Offer) float64 { return o.InternetUpCostPerTB }),
		"internet_down_cost_per_tb": numF(func(o *Offer) float64 { return o.InternetDownCostPerTB }),
		"direct_port_count":         numF(func(o *Offer) float64 { return float64(o.DirectPortCount) }),
		"public_ipaddr":             strF(func(o *Offer) string { return strings.TrimSpace(o.PublicIPAddr) }),
		"static_ip":                 boolF(func(o *Offer) bool { return o.StaticIP }),
		"geolocation":               {kind: fkGeo, str: func(o *Offer) (string, bool) { return o.Geolocation.V, o.Geolocation.Valid }},
		"geolocode":                 optF(func(o *Offer) Opt[int64] { return o.Geolocode }),
		"hosting_type":              optF(func(o *Offer) Opt[int] { return o.HostingType }),
		"datacenter": {kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) {
			return b2f(o.HostingType.V == 1), o.HostingType.Valid
		}},
		"external": {kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) {
			return b2f(o.External.V), o.External.Valid
		}},
		"hostname": optStrF(func(o *Offer) Opt[string] { return o.Hostname }),
		"webpage":  optStrF(func(o *Offer) Opt[string] { return o.Webpage }),
		"logo":     strF(func(o *Offer) string { return o.Logo }),

		"verification": strF(func(o *Offer) string { return o.Verification }),
		"vericode":     numF(func(o *Offer) float64 { return float64(o.Vericode) }),
		"verified": {kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) {
			if o.Verification != "" {
				return b2f(o.Verification == "verified"), true
			}
			return b2f(o.Vericode == 1), true
		}},
		"reliability":          numF(func(o *Offer) float64 { return o.Reliability }),
		"reliability2":         numF(func(o *Offer) float64 { return o.Reliability }),
		"reliability_mult":     numF(func(o *Offer) float64 { return o.ReliabilityMult }),
		"expected_reliability": optF(func(o *Offer) Opt[float64] { return o.ExpectedReliability }),
		"score":                numF(func(o *Offer) float64 { return o.Score }),
		"dlperf":               numF(func(o *Offer) float64 { return o.DLPerf }),
		"total_flops":          numF(func(o *Offer) float64 { return o.TotalFlops }),
		"dlperf_per_dphtotal":  numF(func(o *Offer) float64 { return o.DLPerfPerDphTotal }),
		"flops_per_dphtotal":   numF(func(o *Offer) float64 { return o.FlopsPerDphTotal }),

		"dph_base":             numF(func(o *Offer) float64 { return o.DphBase }),
		"dph_total":            numF(func(o *Offer) float64 { return o.DphTotal }),
		"dph_total_adj":        numF(func(o *Offer) float64 { return o.DphTotalAdj }),
		"storage_cost":         numF(func(o *Offer) float64 { return o.StorageCost }),
		"storage_total_cost":   numF(func(o *Offer) float64 { return o.StorageTotalCost }),
		"vram_costperhour":     numF(func(o *Offer) float64 { return o.VRAMCostPerHour }),
		"min_bid":              numF(func(o *Offer) float64 { return o.MinBid }),
		"credit_discount_max":  numF(func(o *Offer) float64 { return o.CreditDiscountMax }),
		"discount_rate":        optF(func(o *Offer) Opt[float64] { return o.DiscountRate }),
		"discounted_hourly":    numF(func(o *Offer) float64 { return o.DiscountedHourly }),
		"discounted_dph_total": numF(func(o *Offer) float64 { return o.DiscountedDphTotal }),

		"rentable":   boolF(func(o *Offer) bool { return o.Rentable }),
		"is_bid":     boolF(func(o *Offer) bool { return o.IsBid }),
		"start_date": optF(func(o *Offer) Opt[float64] { return o.StartDate }),
		"end_date":   optF(func(o *Offer) Opt[float64] { return o.EndDate }),
		"duration": {kind: fkNum, num: func(o *Offer, now float64) (float64, bool) {
			return o.EndDate.V - now, o.EndDate.Valid
		}},
		"time_remaining":       strF(func(o *Offer) string { return o.TimeRemaining }),
		"time_remaining_isbid": strF(func(o *Offer) string { return o.TimeRemainingIsBid }),
	}
	alias := map[string]string{
		"dphtotal":       "dph_total",
		"dph":            "dph_total",
		"gpu_totalram":   "gpu_total_ram",
		"ubuntu_version": "os_version",
		"cuda_vers":      "cuda_max_good",
		"display_active": "gpu_display_active",
		"dlperf_usd":     "dlperf_per_dphtotal",
		"flops_usd":      "flops_per_dphtotal",
	}
	for a, c := range alias {
		fields[a] = fields[c]
	}
	fields["cpu_ram_GB"] = gb(func(o *Offer) float64 { return o.CPURAM })
	fields["gpu_ram_GB"] = gb(func(o *Offer) float64 { return o.GPURAM })
	fields["gpu_totalram_GB"] = gb(func(o *Offer) float64 { return o.GPUTotalRAM })
	fields["gpu_total_ram_GB"] = fields["gpu_totalram_GB"]
	// target_reliability is a top-level key of the query (expected_reliability >= value); as a
	// column name it reads expected_reliability.
	fields["target_reliability"] = fields["expected_reliability"]
}

// ignoredColumns are accepted and never filter: `rented` because the server ignores it
// (vast-api.md §2, Vast commit 52b515c).
var ignoredColumns = map[string]bool{"rented": true}

// IsKnownColumn reports whether name is a column, alias or virtual column matching understands.
func IsKnownColumn(name string) bool {
	_, ok := fields[name]
	return ok || ignoredColumns[name]
}

// OfferField returns the value of column name (aliases and virtual columns included) on o.
// known is false when the offer leaves it null or when the column is not one matching knows.
// Having no clock, it reads `duration` as the reply carried it; OfferFieldAt computes it from
// end_date against a given now, as matching does.
func OfferField(o *Offer, name string) (v Value, known bool) {
	if name == "duration" {
		if !o.Duration.Valid {
			return NullValue(), false
		}
		return NumberValue(o.Duration.V), true
	}
	return OfferFieldAt(o, name, time.Unix(0, 0))
}

// OfferFieldAt is OfferField with `duration` computed against now.
func OfferFieldAt(o *Offer, name string, now time.Time) (Value, bool) {
	f, ok := fields[name]
	if !ok {
		return NullValue(), false
	}
	if f.kind == fkNum {
		x, ok := f.num(o, epoch(now))
		if !ok {
			return NullValue(), false
		}
		return NumberValue(x), true
	}
	s, ok := f.str(o)
	if !ok {
		return NullValue(), false
	}
	return StringValue(s), true
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// DriverVersInt converts a dotted driver version to the integer the official CLI sends: each part
// zero-padded to three digits and concatenated ("535.183.01" → 535183001, "535.129.3" →
// 535129003).
func DriverVersInt(s string) (int64, bool) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	var b strings.Builder
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return 0, false
		}
		for _, r := range p {
			if r < '0' || r > '9' {
				return 0, false
			}
		}
		b.WriteString(strings.Repeat("0", 3-len(p)) + p)
	}
	v, err := strconv.ParseInt(b.String(), 10, 64)
	return v, err == nil
}

// operand is a compiled condition value.
type operand struct {
	null  bool
	isNum bool
	num   float64
	str   string
}

type cond struct {
	name  string
	f     field
	op    Op
	one   operand
	list  []operand
	isGeo bool
}

// Matcher is a query compiled for fast repeated matching.
type Matcher struct {
	conds   []cond
	now     float64
	Unknown []string // columns matching does not know; they never filter

	storage  float64
	hasStore bool
	typ      OfferType
}

func compileOperand(f field, v Value) (operand, error) {
	switch v.Kind {
	case KindNull:
		return operand{null: true}, nil
	case KindNumber:
		return operand{isNum: true, num: v.Num, str: strconv.FormatFloat(v.Num, 'f', -1, 64)}, nil
	case KindBool:
		return operand{isNum: true, num: b2f(v.Bool), str: strconv.FormatBool(v.Bool)}, nil
	case KindString:
		s := v.Str
		if f.driver && strings.Contains(s, ".") {
			if d, ok := DriverVersInt(s); ok {
				return operand{isNum: true, num: float64(d), str: s}, nil
			}
		}
		if x, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsNaN(x) {
			return operand{isNum: true, num: x, str: s}, nil
		}
		switch strings.ToLower(s) {
		case "true":
			if f.kind == fkNum {
				return operand{isNum: true, num: 1, str: s}, nil
			}
		case "false":
			if f.kind == fkNum {
				return operand{isNum: true, num: 0, str: s}, nil
			}
		}
		return operand{str: s}, nil
	}
	return operand{}, fmt.Errorf("list value where a scalar is expected")
}

// Compile prepares q for matching at now. It fails on an operator that is not valid or a value
// of the wrong shape (a list for a scalar operator).
func (q *Query) Compile(now time.Time) (*Matcher, error) {
	m := &Matcher{now: epoch(now), typ: q.Type}
	add := func(name string, c Cond) error {
		if !c.Op.Valid() {
			return fmt.Errorf("column %q: unknown operator %q", name, c.Op)
		}
		f := fields[name]
		cc := cond{name: name, f: f, op: c.Op, isGeo: f.kind == fkGeo}
		if c.Op == OpIn || c.Op == OpNotIn {
			items := []Value{c.Value}
			if c.Value.Kind == KindList {
				items = c.Value.List
			}
			for _, it := range items {
				o, err := compileOperand(f, it)
				if err != nil {
					return fmt.Errorf("column %q %s: %w", name, c.Op, err)
				}
				cc.list = append(cc.list, o)
			}
		} else {
			o, err := compileOperand(f, c.Value)
			if err != nil {
				return fmt.Errorf("column %q %s: %w", name, c.Op, err)
			}
			cc.one = o
		}
		m.conds = append(m.conds, cc)
		return nil
	}
	for _, fl := range q.Filters {
		if ignoredColumns[fl.Field] {
			continue
		}
		if _, ok := fields[fl.Field]; !ok {
			m.Unknown = append(m.Unknown, fl.Field)
			continue
		}
		for _, c := range fl.Conds {
			if err := add(fl.Field, c); err != nil {
				return nil, err
			}
		}
	}
	if q.AllocatedStorage.Valid {
		m.storage, m.hasStore = q.AllocatedStorage.V, true
		if err := add("disk_space", Cond{Op: OpGte, Value: NumberValue(q.AllocatedStorage.V)}); err != nil {
			return nil, err
		}
	}
	for _, e := range q.Extra {
		if e.Key != "target_reliability" {
			continue
		}
		var v Value
		if err := v.UnmarshalJSON(e.Value); err != nil {
			return nil, fmt.Errorf("target_reliability: %w", err)
		}
		if v.Kind != KindNull {
			if err := add("expected_reliability", Cond{Op: OpGte, Value: v}); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Match reports whether o satisfies q at now. Use Compile for repeated matching.
func (q *Query) Match(o *Offer, now time.Time) bool {
	m, err := q.Compile(now)
	if err != nil {
		return false
	}
	return m.Match(o)
}

// Match reports whether o satisfies every condition. Conditions on columns the offer leaves null
// pass (unknown is not a mismatch).
func (m *Matcher) Match(o *Offer) bool {
	for i := range m.conds {
		if !m.conds[i].match(o, m.now) {
			return false
		}
	}
	return true
}

func (c *cond) match(o *Offer, now float64) bool {
	if c.f.kind == fkNum {
		x, ok := c.f.num(o, now)
		if !ok {
			return true
		}
		switch c.op {
		case OpIn, OpNotIn:
			in := false
			for i := range c.list {
				if numEq(x, &c.list[i]) {
					in = true
					break
				}
			}
			return in == (c.op == OpIn)
		}
		if !c.one.isNum {
			// eq null against a known value is false; neq null is true.
			return c.op == OpNeq
		}
		y := c.one.num
		switch c.op {
		case OpEq:
			return x == y
		case OpNeq:
			return x != y
		case OpGt:
			return x > y
		case OpGte:
			return x >= y
		case OpLt:
			return x < y
		case OpLte:
			return x <= y
		}
		return false
	}
	s, ok := c.f.str(o)
	if !ok {
		return true
	}
	code := ""
	if c.isGeo {
		code = countryCode(s)
	}
	cmpStr := func(op *operand) (int, bool) {
		if op.null {
			return 0, false
		}
		t := s
		if c.isGeo && len(op.str) == 2 {
			t = code
		}
		if op.isNum {
			if x, err := strconv.ParseFloat(strings.TrimSpace(t), 64); err == nil {
				return cmp.Compare(x, op.num), true
			}
		}
		return strings.Compare(t, op.str), true
	}
	switch c.op {
	case OpIn, OpNotIn:
		in := false
		for i := range c.list {
			if r, ok := cmpStr(&c.list[i]); ok && r == 0 {
				in = true
				break
			}
		}
		return in == (c.op == OpIn)
	}
	return cmpOp(c.op, c.one, cmpStr)
}

func numEq(x float64, o *operand) bool { return o.isNum && x == o.num }

// cmpOp applies a scalar operator. compare returns ok=false when the operand cannot be compared
// with the column (null, or a non-numeric string against a number): only neq then holds.
func cmpOp(op Op, v operand, compare func(*operand) (int, bool)) bool {
	r, ok := compare(&v)
	if !ok {
		// eq null against a known value is false; neq null is true.
		return op == OpNeq
	}
	switch op {
	case OpEq:
		return r == 0
	case OpNeq:
		return r != 0
	case OpGt:
		return r > 0
	case OpGte:
		return r >= 0
	case OpLt:
		return r < 0
	case OpLte:
		return r <= 0
	}
	return false
}

// countryCode returns the "CC" of "Region, CC", or s itself when it has no comma.
func countryCode(s string) string {
	if i := strings.LastIndexByte(s, ','); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return strings.TrimSpace(s)
}

// Reprice sets the price fields of o as the server computes them for this query's
// allocated_storage and type (vast-api.md §2): storage_total_cost = storage_cost×GB/720,
// dph_total = base + storage, where base is dph_base on-demand, min_bid for `bid` and the
// discounted rate for `reserved`; *_per_dphtotal and the `search` breakdown follow. With no
// allocated_storage the offer's storage share is left as it is.
func (m *Matcher) Reprice(o *Offer) {
	storage := o.StorageTotalCost
	if m.hasStore {
		storage = o.StoragePerHour(m.storage)
	}
	base := o.DphBase
	switch m.typ {
	case Bid:
		base = o.MinBid
		o.IsBid = true
	case Reserved:
		if o.DiscountRate.Valid {
			base = o.DphBase * (1 - o.DiscountRate.V)
		}
	}
	o.StorageTotalCost = storage
	o.DphTotal = base + storage
	if o.DphTotal > 0 {
		o.DLPerfPerDphTotal = o.DLPerf / o.DphTotal
		o.FlopsPerDphTotal = o.TotalFlops / o.DphTotal
	}
	o.DiscountedDphTotal = o.DphTotal
	o.Search = PriceBreakdown{
		GPUCostPerHour:         base,
		DiskHour:               storage,
		TotalHour:              o.DphTotal,
		DiscountedTotalPerHour: o.DphTotal,
	}
	o.Instance = PriceBreakdown{DiskHour: storage, TotalHour: storage, DiscountedTotalPerHour: storage}
}

// Sort orders offers by q's order keys (asc or desc each), then by id ascending. It is stable.
// Null values sort after known ones in either direction; unknown columns do not order.
func (q *Query) Sort(offers []Offer) {
	keys := q.sortKeys()
	slices.SortStableFunc(offers, func(a, b Offer) int { return compareOffers(keys, &a, &b) })
}

type sortKey struct {
	f    field
	desc bool
}

func (q *Query) sortKeys() []sortKey {
	var keys []sortKey
	for _, o := range q.Order {
		f, ok := fields[o.Field]
		if !ok {
			continue
		}
		keys = append(keys, sortKey{f: f, desc: o.Desc})
	}
	return keys
}

// NumericColumn returns a reader of a numeric column (aliases and virtual columns included; now
// is the reference time of `duration`), or nil when name is not a numeric column. It lets a
// caller read one column of many offers without a lookup per offer.
func NumericColumn(name string) func(o *Offer, now time.Time) (float64, bool) {
	f, ok := fields[name]
	if !ok || f.kind != fkNum {
		return nil
	}
	return func(o *Offer, now time.Time) (float64, bool) { return f.num(o, epoch(now)) }
}

// Less returns a comparison for offers under q's order: negative when a sorts first.
func (q *Query) Less() func(a, b *Offer) int {
	keys := q.sortKeys()
	return func(a, b *Offer) int { return compareOffers(keys, a, b) }
}

func compareOffers(keys []sortKey, a, b *Offer) int {
	for _, k := range keys {
		var r int
		if k.f.kind == fkNum {
			x, okx := k.f.num(a, 0)
			y, oky := k.f.num(b, 0)
			if okx != oky {
				if okx {
					return -1
				}
				return 1
			}
			r = cmp.Compare(x, y)
		} else {
			x, okx := k.f.str(a)
			y, oky := k.f.str(b)
			if okx != oky {
				if okx {
					return -1
				}
				return 1
			}
			r = strings.Compare(x, y)
		}
		if k.desc {
			r = -r
		}
		if r != 0 {
			return r
		}
	}
	return cmp.Compare(a.ID, b.ID)
}
