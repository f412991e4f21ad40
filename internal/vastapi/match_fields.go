package vastapi

import (
	"strconv"
	"strings"
	"time"
)

// The columns a query may name: every scalar column of Offer's table (columns_gen.go), plus the
// virtual columns that replies do not carry as such and the aliases the CLI and the API accept
// (docs/vast-api.md §2).

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

// fields maps every column and alias a query may name to its reader.
var fields = buildFields()

// ignoredColumns are accepted and never filter: `rented` because the server ignores it
// (docs/vast-api.md §2 and §8).
var ignoredColumns = map[string]bool{"rented": true}

// aliases are other names of a column.
var aliases = map[string]string{
	"dphtotal":       "dph_total",
	"dph":            "dph_total",
	"gpu_totalram":   "gpu_total_ram",
	"ubuntu_version": "os_version",
	"cuda_vers":      "cuda_max_good",
	"display_active": "gpu_display_active",
	"dlperf_usd":     "dlperf_per_dphtotal",
	"flops_usd":      "flops_per_dphtotal",
	// The API computes reliability2 as reliability; a query on it filters on reliability.
	"reliability2":     "reliability",
	"gpu_total_ram_GB": "gpu_totalram_GB",
	// target_reliability is a top-level key of the query (expected_reliability >= value); as a
	// column name it reads expected_reliability.
	"target_reliability": "expected_reliability",
}

func buildFields() map[string]field {
	m := make(map[string]field, len(offerColumns)+len(aliases)+8)
	for _, c := range offerColumns {
		if f, ok := columnField(c); ok && !ignoredColumns[c.name] {
			m[c.name] = f
		}
	}
	geo := m["geolocation"]
	geo.kind = fkGeo
	m["geolocation"] = geo
	for name, f := range virtualColumns() {
		m[name] = f
	}
	for a, c := range aliases {
		m[a] = m[c]
	}
	return m
}

// columnField is the reader of a scalar column; ok is false for a list or an object, which no
// condition can name.
func columnField(c column[Offer]) (f field, ok bool) {
	switch get := c.get.(type) {
	case func(*Offer) *int64:
		return numCol(get), true
	case func(*Offer) *int:
		return numCol(get), true
	case func(*Offer) *float64:
		return numCol(get), true
	case func(*Offer) *bool:
		return field{kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) { return b2f(*get(o)), true }}, true
	case func(*Offer) *string:
		if c.trim {
			return field{kind: fkStr, str: func(o *Offer) (string, bool) { return strings.TrimSpace(*get(o)), true }}, true
		}
		return field{kind: fkStr, str: func(o *Offer) (string, bool) { return *get(o), true }}, true
	case func(*Offer) *Opt[int64]:
		return optCol(get), true
	case func(*Offer) *Opt[int]:
		return optCol(get), true
	case func(*Offer) *Opt[float64]:
		return optCol(get), true
	case func(*Offer) *Opt[bool]:
		return field{kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) { v := get(o); return b2f(v.V), v.Valid }}, true
	case func(*Offer) *Opt[string]:
		return field{kind: fkStr, str: func(o *Offer) (string, bool) { v := get(o); return v.V, v.Valid }}, true
	}
	return field{}, false
}

func numCol[T int | int64 | float64](get func(*Offer) *T) field {
	return field{kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) { return float64(*get(o)), true }}
}

func optCol[T int | int64 | float64](get func(*Offer) *Opt[T]) field {
	return field{kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) {
		v := get(o)
		return float64(v.V), v.Valid
	}}
}

func numF(f func(o *Offer) float64) field {
	return field{kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) { return f(o), true }}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// virtualColumns are evaluated through fields replies carry: verified → verification,
// datacenter → hosting_type==1, duration → end_date−now, sizes in GB from the MB columns.
// driver_version replaces the string column of the table with a number.
func virtualColumns() map[string]field {
	gb := func(f func(o *Offer) float64) field {
		return numF(func(o *Offer) float64 { return f(o) / 1000 })
	}
	return map[string]field{
		// driver_version is read from the dotted string replies carry. The driver_vers integer
		// is stale in real replies (24 of the 1,396 captured offers disagree with their string,
		// 130 leave it null), and a string that is not a full major.minor.patch triple ("550.76")
		// cannot be placed exactly, so it is unknown. driver_vers itself stays a plain column.
		"driver_version": {kind: fkNum, driver: true, num: func(o *Offer, _ float64) (float64, bool) {
			if strings.Count(o.DriverVersion, ".") != 2 {
				return 0, false
			}
			v, ok := DriverVersInt(o.DriverVersion)
			return float64(v), ok
		}},
		"datacenter": {kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) {
			return b2f(o.HostingType.V == 1), o.HostingType.Valid
		}},
		"verified": {kind: fkNum, num: func(o *Offer, _ float64) (float64, bool) {
			if o.Verification != "" {
				return b2f(o.Verification == "verified"), true
			}
			return b2f(o.Vericode == 1), true
		}},
		"duration": {kind: fkNum, num: func(o *Offer, now float64) (float64, bool) {
			return o.EndDate.V - now, o.EndDate.Valid
		}},
		"cpu_ram_GB":      gb(func(o *Offer) float64 { return o.CPURAM }),
		"gpu_ram_GB":      gb(func(o *Offer) float64 { return o.GPURAM }),
		"gpu_totalram_GB": gb(func(o *Offer) float64 { return o.GPUTotalRAM }),
	}
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
