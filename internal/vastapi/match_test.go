package vastapi

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// loadRealOffers decodes the 1,396 real offers of the search capture
// (testdata/match/search.json.gz; testdata/README.md says where it comes from).
func loadRealOffers(t testing.TB) []Offer {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "match", "search.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var offers []Offer
	if err := json.NewDecoder(zr).Decode(&offers); err != nil {
		t.Fatalf("decode search.json: %v", err)
	}
	if len(offers) != 1396 {
		t.Fatalf("got %d offers, want 1396", len(offers))
	}
	return offers
}

func readJSONL(t testing.TB, name string, each func(line []byte)) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "match", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			each(sc.Bytes())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestMatchReproducesRealCounts joins match-counts.jsonl (counts computed by a separate program)
// with queries.jsonl (the JSON body the official CLI sends for the same arguments) and checks
// that Match selects exactly as many of the real offers.
func TestMatchReproducesRealCounts(t *testing.T) {
	offers := loadRealOffers(t)
	bodies := map[string]json.RawMessage{}
	readJSONL(t, "queries.jsonl", func(line []byte) {
		var q struct {
			Args []string        `json:"args"`
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(line, &q); err != nil {
			t.Fatal(err)
		}
		k, _ := json.Marshal(q.Args)
		bodies[string(k)] = q.Body
	})
	// The counts are time-independent, so any now will do; pick one after the capture.
	now := time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)
	n := 0
	readJSONL(t, "match-counts.jsonl", func(line []byte) {
		var c struct {
			Args    []string `json:"args"`
			Matches int      `json:"matches"`
		}
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		k, _ := json.Marshal(c.Args)
		n++
		t.Run(string(k), func(t *testing.T) {
			body, ok := bodies[string(k)]
			if !ok || len(body) == 0 || string(body) == "null" {
				t.Fatalf("no CLI body for %s in queries.jsonl", k)
			}
			var q Query
			if err := json.Unmarshal(body, &q); err != nil {
				t.Fatalf("decode body %s: %v", body, err)
			}
			m, err := q.Compile(now)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for i := range offers {
				if m.Match(&offers[i]) {
					got++
				}
			}
			if q.Limit > 0 && got > q.Limit {
				got = q.Limit
			}
			if got != c.Matches {
				t.Errorf("query %s matched %d offers, want %d", body, got, c.Matches)
			}
		})
	})
	if n != 51 {
		t.Errorf("ran %d count cases, want 51", n)
	}
}

func testOffer() Offer {
	return Offer{
		ID: 10, NumGPUs: 2, GPUName: "RTX 4090", GPURAM: 24564, GPUTotalRAM: 49128,
		CUDAMaxGood: 12.4, DriverVersion: "535.183.01", DriverVers: Some[int64](535183001),
		CPUCores: Opt[float64]{}, CPURAM: 128000, DiskSpace: 200, HasAVX: 1,
		Geolocation: Some("Quebec, CA"), HostingType: Some(1), External: Opt[bool]{},
		Verification: "verified", Vericode: 1, Reliability: 0.99, DphBase: 0.5,
		StorageCost: 0.2, MinBid: 0.3, DLPerf: 100, TotalFlops: 160, OSVersion: Some("22.04"),
		EndDate: Some(float64(1_000_000 + 86400*10)), Rentable: true, HostID: 77,
	}
}

func TestMatchSemantics(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	o := testOffer()
	cases := []struct {
		name string
		body string
		want bool
	}{
		{"numeric string equals the number it spells", `{"num_gpus":{"eq":"2"}}`, true},
		{"number against an int column", `{"num_gpus":{"gte":2.0}}`, true},
		{"several operators on one column all apply", `{"num_gpus":{"gte":"2","lte":"1"}}`, false},
		{"several operators forming a range", `{"num_gpus":{"gt":"1","lt":"3"}}`, true},
		{"neq", `{"num_gpus":{"neq":"2"}}`, false},
		{"in over a list of strings", `{"gpu_name":{"in":["RTX 3090","RTX 4090"]}}`, true},
		{"notin over a list of strings", `{"gpu_name":{"notin":["RTX 4090"]}}`, false},
		{"in over numeric strings", `{"host_id":{"in":["77","78"]}}`, true},
		{"notin over numbers", `{"host_id":{"notin":[1000,2000]}}`, true},
		{"bare value means eq", `{"gpu_name":"RTX 4090"}`, true},
		{"bool against a 0/1 int column", `{"has_avx":{"eq":true}}`, true},
		{"null column is unknown, not a mismatch", `{"cpu_cores":{"gte":"32"}}`, true},
		{"null external passes the CLI default", `{"external":{"eq":false}}`, true},
		{"verified through verification", `{"verified":{"eq":true}}`, true},
		{"datacenter through hosting_type", `{"datacenter":{"eq":false}}`, false},
		{"geolocation by country code", `{"geolocation":{"eq":"CA"}}`, true},
		{"geolocation in codes", `{"geolocation":{"in":["US","CA"]}}`, true},
		{"geolocation notin codes", `{"geolocation":{"notin":["CA"]}}`, false},
		{"geolocation by full text", `{"geolocation":{"eq":"Quebec, CA"}}`, true},
		{"driver_version as the CLI's int", `{"driver_version":{"gte":535183001}}`, true},
		{"driver_version dotted string", `{"driver_version":{"gt":"550.54.14"}}`, false},
		{"driver_version of two parts is unknown", `{"driver_version":{"eq":1}}`, true},
		{"driver_vers column", `{"driver_vers":{"eq":535183001}}`, true},
		{"duration is end_date minus now", `{"duration":{"gte":864000}}`, true},
		{"duration beyond the listing end", `{"duration":{"gt":864001}}`, false},
		{"allocated_storage acts as disk_space >=", `{"allocated_storage":250}`, false},
		{"allocated_storage within disk_space", `{"allocated_storage":200}`, true},
		{"rented is accepted and not filtered", `{"rented":{"eq":true}}`, true},
		{"unknown column is ignored", `{"no_such_column":{"eq":1}}`, true},
		{"alias dph", `{"dph":{"lte":"0.5"}}`, false},
		{"alias cuda_vers", `{"cuda_vers":{"gte":"12.4"}}`, true},
		{"alias reliability2", `{"reliability2":{"gt":"0.98"}}`, true},
		{"alias ubuntu_version compares numerically", `{"ubuntu_version":{"gte":"22.04"}}`, true},
		{"alias gpu_totalram", `{"gpu_totalram":{"gt":49000}}`, true},
		{"cpu_ram_GB in GB", `{"cpu_ram_GB":{"eq":128}}`, true},
		{"string against a number never equals", `{"num_gpus":{"eq":"two"}}`, false},
		{"string against a number is not-equal", `{"num_gpus":{"neq":"two"}}`, true},
		{"eq null against a known value", `{"num_gpus":{"eq":null}}`, false},
		{"target_reliability on a null expected_reliability", `{"target_reliability":0.99}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var q Query
			if err := json.Unmarshal([]byte(c.body), &q); err != nil {
				t.Fatal(err)
			}
			// dph_total is priced by Reprice; the plain offer leaves it at zero, so give it a value.
			oo := o
			oo.DphTotal = 0.6
			if c.name == "driver_version of two parts is unknown" {
				oo.DriverVersion = "550.76"
			}
			if got := q.Match(&oo, now); got != c.want {
				t.Errorf("Match(%s) = %v, want %v", c.body, got, c.want)
			}
		})
	}
}

func TestMatcherReportsUnknownColumns(t *testing.T) {
	var q Query
	if err := json.Unmarshal([]byte(`{"bogus":{"eq":1},"rented":{"eq":false},"gpu_name":{"eq":"x"}}`), &q); err != nil {
		t.Fatal(err)
	}
	m, err := q.Compile(time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Unknown, []string{"bogus"}) {
		t.Errorf("Unknown = %v, want [bogus]", m.Unknown)
	}
}

func TestCompileRejectsListForScalarOperator(t *testing.T) {
	q := Query{Filters: []Filter{{Field: "num_gpus", Conds: []Cond{{Op: OpEq, Value: ListValue(NumberValue(1))}}}}}
	if _, err := q.Compile(time.Unix(0, 0)); err == nil {
		t.Fatal("want an error for a list under eq")
	}
}

func TestOfferField(t *testing.T) {
	o := testOffer()
	o.Duration = Some(123.0)
	o.ExpectedReliability = Some(0.97)
	cases := []struct {
		name  string
		want  Value
		known bool
	}{
		{"reliability2", NumberValue(0.99), true},
		{"driver_version", NumberValue(535183001), true},
		{"verified", NumberValue(1), true},
		{"datacenter", NumberValue(1), true},
		{"geolocation", StringValue("Quebec, CA"), true},
		{"cpu_cores", NullValue(), false},
		{"external", NullValue(), false},
		{"duration", NumberValue(123), true},
		{"gpu_totalram", NumberValue(49128), true},
		{"target_reliability", NumberValue(0.97), true},
		{"cpu_ram_GB", NumberValue(128), true},
		{"dlperf_usd", NumberValue(0), true},
		{"nonexistent", NullValue(), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, known := OfferField(&o, c.name)
			if known != c.known || v.Kind != c.want.Kind || v.Num != c.want.Num || v.Str != c.want.Str {
				t.Errorf("OfferField(%s) = %+v,%v want %+v,%v", c.name, v, known, c.want, c.known)
			}
		})
	}
}

func TestDriverVersInt(t *testing.T) {
	for in, want := range map[string]int64{"535.183.01": 535183001, "535.129.3": 535129003, "550.54.14": 550054014, "550.76": 550076} {
		if got, ok := DriverVersInt(in); !ok || got != want {
			t.Errorf("DriverVersInt(%q) = %d,%v want %d", in, got, ok, want)
		}
	}
	if _, ok := DriverVersInt("abc"); ok {
		t.Error("DriverVersInt(abc) ok")
	}
}

func TestSortByKeysThenID(t *testing.T) {
	offers := []Offer{
		{ID: 3, Reliability: 0.9, DphTotal: 1},
		{ID: 1, Reliability: 0.99, DphTotal: 2},
		{ID: 2, Reliability: 0.99, DphTotal: 1},
		{ID: 5, Reliability: 0.99, DphTotal: 1},
		{ID: 4, Reliability: 0.9, DphTotal: 1},
	}
	q := Query{Order: []OrderBy{{Field: "reliability", Desc: true}, {Field: "dph", Desc: false}}}
	q.Sort(offers)
	var ids []int64
	for _, o := range offers {
		ids = append(ids, o.ID)
	}
	if want := []int64{2, 5, 1, 3, 4}; !slices.Equal(ids, want) {
		t.Errorf("order = %v, want %v", ids, want)
	}
}

func TestSortPutsNullsLast(t *testing.T) {
	offers := []Offer{{ID: 1}, {ID: 2, CPUCores: Some(8.0)}, {ID: 3, CPUCores: Some(16.0)}}
	for _, desc := range []bool{false, true} {
		q := Query{Order: []OrderBy{{Field: "cpu_cores", Desc: desc}}}
		q.Sort(offers)
		if offers[2].ID != 1 {
			t.Errorf("desc=%v: null cpu_cores not last: %v", desc, offers)
		}
	}
}

func TestRepriceForStorageAndType(t *testing.T) {
	cases := []struct {
		name      string
		typ       OfferType
		storage   float64
		wantTotal float64
	}{
		{"on-demand is dph_base plus storage", OnDemand, 20, 0.5 + 0.2*20/720},
		{"bid is min_bid plus storage", Bid, 20, 0.3 + 0.2*20/720},
		{"storage of 5 GB", OnDemand, 5, 0.5 + 0.2*5/720},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := Query{Type: c.typ, AllocatedStorage: Some(c.storage)}
			m, err := q.Compile(time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			o := testOffer()
			m.Reprice(&o)
			if math.Abs(o.DphTotal-c.wantTotal) > 1e-15 || o.Search.TotalHour != o.DphTotal {
				t.Errorf("dph_total = %v (search %v), want %v", o.DphTotal, o.Search.TotalHour, c.wantTotal)
			}
			if math.Abs(o.DLPerfPerDphTotal-o.DLPerf/o.DphTotal) != 0 {
				t.Errorf("dlperf_per_dphtotal = %v, want dlperf/dph_total", o.DLPerfPerDphTotal)
			}
			if o.StorageTotalCost != 0.2*c.storage/720 {
				t.Errorf("storage_total_cost = %v", o.StorageTotalCost)
			}
		})
	}
}

func BenchmarkMatch5000(b *testing.B) {
	real := loadRealOffers(b)
	offers := make([]Offer, 0, 5000)
	for len(offers) < 5000 {
		offers = append(offers, real...)
	}
	offers = offers[:5000]
	var q Query
	if err := json.Unmarshal([]byte(`{"verified":{"eq":true},"external":{"eq":false},"rentable":{"eq":true},"rented":{"eq":false},"gpu_name":{"eq":"RTX 4090"},"num_gpus":{"gte":"1"},"reliability":{"gt":"0.98"},"order":[["dph_total","asc"]],"type":"on-demand","limit":64,"allocated_storage":5.0}`), &q); err != nil {
		b.Fatal(err)
	}
	m, err := q.Compile(time.Unix(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for i := range offers {
			if m.Match(&offers[i]) {
				n++
			}
		}
		_ = n
	}
}

// FuzzQueryMatch feeds arbitrary query bodies through decode, Compile, Match and Sort: none may
// panic, and Sort must keep the offers (a permutation, ordered by its own comparison).
func FuzzQueryMatch(f *testing.F) {
	for _, s := range []string{
		`{"gpu_name":{"eq":"RTX 4090"},"num_gpus":{"gte":"2","lt":8},"order":[["dph_total","desc"]]}`,
		`{"geolocation":{"in":["US","CA"]},"driver_version":{"gte":"535.129.3"},"allocated_storage":20}`,
		`{"duration":{"gt":86400},"verified":{"eq":true},"datacenter":{"neq":null},"target_reliability":0.99}`,
		`{"cpu_cores":{"notin":[1,"2",true,null]},"os_version":"22.04","order":[["cpu_cores","asc"],["id","desc"]]}`,
	} {
		f.Add(s)
	}
	offers := []Offer{testOffer(), {ID: 1, GPUName: "RTX 3090", NumGPUs: 1}, {ID: 2, DriverVersion: "550.76", CPUCores: Some(8.0)}}
	f.Fuzz(func(t *testing.T, body string) {
		var q Query
		if err := json.Unmarshal([]byte(body), &q); err != nil {
			return
		}
		m, err := q.Compile(time.Unix(1_000_000, 0))
		if err != nil {
			return
		}
		for i := range offers {
			m.Match(&offers[i])
			o := offers[i]
			m.Reprice(&o)
		}
		got := slices.Clone(offers)
		q.Sort(got)
		if len(got) != len(offers) {
			t.Fatal("Sort lost offers")
		}
		less := q.Less()
		for i := 1; i < len(got); i++ {
			if less(&got[i-1], &got[i]) > 0 {
				t.Fatalf("Sort left %d before %d", got[i-1].ID, got[i].ID)
			}
		}
	})
}
