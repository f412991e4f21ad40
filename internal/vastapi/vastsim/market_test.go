package vastsim

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

func TestSameSeedGivesSameMarket(t *testing.T) {
	a := newHarness(t, Options{Seed: 42}).sim.Offers()
	b := newHarness(t, Options{Seed: 42}).sim.Offers()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two simulators with seed 42 list different markets")
	}
	c := newHarness(t, Options{Seed: 43}).sim.Offers()
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 42 and 43 list the same market")
	}
}

func TestSameSeedDriftsTheSameWay(t *testing.T) {
	run := func(polls int) []vastapi.Offer {
		h := newHarness(t, Options{Seed: 7})
		// Polling often or once must not change where the market ends up.
		for range polls {
			h.clk.Advance(6 * time.Hour / time.Duration(polls))
			h.sim.Credit()
		}
		return h.sim.Offers()
	}
	a, b := run(1), run(36)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the market after 6h depends on how often it was polled")
	}
	if reflect.DeepEqual(a, newHarness(t, Options{Seed: 7}).sim.Offers()) {
		t.Fatal("prices and availability did not drift in 6h")
	}
}

func TestGeneratedMarketShape(t *testing.T) {
	h := newHarness(t, Options{Seed: 1})
	offers := h.sim.Offers()
	if n := len(offers); n < 1000 || n > 2000 {
		t.Errorf("300 machines listed %d offers, want roughly 5 per machine", n)
	}
	models := map[string]bool{}
	sizes := map[int]bool{}
	machines := map[int64][]vastapi.Offer{}
	for _, o := range offers {
		models[o.GPUName] = true
		sizes[o.NumGPUs] = true
		machines[o.MachineID] = append(machines[o.MachineID], o)
		t.Run("offer arithmetic", func(t *testing.T) {
			st := o.StorageCost * 5 / 720
			if o.StorageTotalCost != st || o.DphTotal != o.DphBase+st || o.Search.TotalHour != o.DphTotal {
				t.Fatalf("offer %d: storage_total_cost %v dph_total %v search.totalHour %v, want %v and %v",
					o.ID, o.StorageTotalCost, o.DphTotal, o.Search.TotalHour, st, o.DphBase+st)
			}
			if o.DLPerfPerDphTotal != o.DLPerf/o.DphTotal || o.FlopsPerDphTotal != o.TotalFlops/o.DphTotal {
				t.Fatalf("offer %d: *_per_dphtotal not exact", o.ID)
			}
			if o.GPUTotalRAM != o.GPURAM*float64(o.NumGPUs) || len(o.GPUIDs) != o.NumGPUs || o.ID != o.AskContractID {
				t.Fatalf("offer %d: inconsistent GPU fields", o.ID)
			}
			if g := o.Geolocation.V; len(g) < 4 || g[len(g)-4:len(g)-2] != ", " {
				t.Fatalf("offer %d: geolocation %q not \"Region, CC\"", o.ID, g)
			}
		})
	}
	for _, want := range []string{"RTX 3090", "RTX 4090", "RTX 5090", "A100 SXM4", "H100 SXM", "H200", "L40S", "RTX A6000"} {
		if !models[want] {
			t.Errorf("no %s in the market", want)
		}
	}
	for _, n := range []int{1, 2, 4, 8} {
		if !sizes[n] {
			t.Errorf("no %d-GPU offers", n)
		}
	}
	overlap := 0
	for _, os := range machines {
		if len(os) > 1 {
			overlap++
		}
	}
	if overlap < 50 {
		t.Errorf("only %d machines list overlapping offers", overlap)
	}
}

func TestMarketOf5000Offers(t *testing.T) {
	h := newHarness(t, Options{Seed: 3, Machines: 1050})
	if n := len(h.sim.Offers()); n < 4500 {
		t.Fatalf("1050 machines listed %d offers, want about 5,000", n)
	}
}

// TestSearchReproducesRealCounts serves the real capture and replays the CLI's bodies over HTTP:
// the counts of match-counts.jsonl come back.
func TestSearchReproducesRealCounts(t *testing.T) {
	h := newHarness(t, Options{Catalogue: realOffers(t), DriftInterval: -1})
	bodies := map[string]json.RawMessage{}
	eachLine(t, "queries.jsonl", func(b []byte) {
		var q struct {
			Args []string        `json:"args"`
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatal(err)
		}
		k, _ := json.Marshal(q.Args)
		bodies[string(k)] = q.Body
	})
	eachLine(t, "match-counts.jsonl", func(b []byte) {
		var c struct {
			Args    []string `json:"args"`
			Matches int      `json:"matches"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		k, _ := json.Marshal(c.Args)
		t.Run(string(k), func(t *testing.T) {
			r := h.do("POST", "/api/v0/bundles/", string(bodies[string(k)]))
			var got struct {
				Offers []struct {
					ID int64 `json:"id"`
				} `json:"offers"`
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Offers) != c.Matches {
				t.Errorf("search returned %d offers, want %d", len(got.Offers), c.Matches)
			}
		})
	})
}

func eachLine(t *testing.T, name string, f func([]byte)) {
	t.Helper()
	fh, err := os.Open(filepath.Join("..", "testdata", "match", name))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			f(sc.Bytes())
		}
	}
}

func TestSearchOrderLimitAndPricing(t *testing.T) {
	h := newHarness(t, Options{Seed: 5})
	t.Run("order and limit", func(t *testing.T) {
		got := h.search(`{"rentable":{"eq":true},"order":[["dph_total","asc"]],"limit":20,"allocated_storage":5.0}`)
		if len(got) != 20 {
			t.Fatalf("got %d offers, want the limit 20", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].DphTotal < got[i-1].DphTotal {
				t.Fatalf("offers not ordered by dph_total at %d", i)
			}
		}
	})
	t.Run("allocated_storage reprices dph_total exactly", func(t *testing.T) {
		got := h.search(`{"order":[["id","asc"]],"limit":50,"allocated_storage":100}`)
		for _, o := range got {
			want := o.DphBase + o.StorageCost*100/720
			if o.DphTotal != want || o.StorageTotalCost != o.StorageCost*100/720 || o.Search.TotalHour != want {
				t.Fatalf("offer %d: dph_total %v, want %v", o.ID, o.DphTotal, want)
			}
			if o.DiskSpace < 100 {
				t.Fatalf("offer %d with %v GB listed for allocated_storage 100", o.ID, o.DiskSpace)
			}
		}
	})
	t.Run("bid search is priced from min_bid", func(t *testing.T) {
		got := h.search(`{"type":"bid","limit":30,"allocated_storage":5.0}`)
		for _, o := range got {
			if want := o.MinBid + o.StorageCost*5/720; o.DphTotal != want || !o.IsBid {
				t.Fatalf("offer %d: bid dph_total %v, want min_bid+storage %v", o.ID, o.DphTotal, want)
			}
		}
	})
	t.Run("duration is end_date minus now", func(t *testing.T) {
		h.clk.Advance(time.Hour)
		now := float64(h.clk.Now().Unix())
		for _, o := range h.search(`{"limit":5}`) {
			if math.Abs(o.Duration.V-(o.EndDate.V-now)) > 1e-6 {
				t.Fatalf("duration %v, end_date-now %v", o.Duration.V, o.EndDate.V-now)
			}
		}
	})
	t.Run("rented is accepted and not filtered", func(t *testing.T) {
		a := h.search(`{"limit":100,"rented":{"eq":true}}`)
		b := h.search(`{"limit":100}`)
		if len(a) != len(b) || len(a) == 0 {
			t.Fatalf("rented filtered: %d vs %d", len(a), len(b))
		}
	})
	t.Run("GET with q and PUT search/asks answer like POST", func(t *testing.T) {
		q := `{"gpu_name":{"eq":"RTX 4090"},"order":[["id","asc"]],"limit":7}`
		post := h.do("POST", "/api/v0/bundles/", q)
		get := h.do("GET", "/api/v0/bundles/?q="+urlQuery(q), nil)
		put := h.do("PUT", "/api/v0/search/asks/", `{"select_cols":["*"],"q":`+q+`}`)
		if string(post.body) != string(get.body) || string(post.body) != string(put.body) {
			t.Fatal("GET ?q= or PUT /search/asks/ answer differently from POST")
		}
	})
	t.Run("search replies are exactly application/json", func(t *testing.T) {
		if r := h.do("POST", "/api/v0/bundles/", `{"limit":1}`); r.ctype != "application/json" {
			t.Fatalf("Content-Type %q", r.ctype)
		}
	})
}

// TestGeneratedMarketIsCalibratedOnTheRealCapture compares a generated market with the 1,396
// real offers: the same field set with the same JSON types, and distributions in the same range.
func TestGeneratedMarketIsCalibratedOnTheRealCapture(t *testing.T) {
	real := rawReal(t)
	h := newHarness(t, Options{Seed: 17, Machines: 400})
	r := h.do("POST", "/api/v0/bundles/", `{"allocated_storage":5.0}`)
	var gen struct {
		Offers []map[string]any `json:"offers"`
	}
	if err := json.Unmarshal(r.body, &gen); err != nil {
		t.Fatal(err)
	}
	kind := func(v any) string {
		switch v.(type) {
		case nil:
			return "null"
		case float64:
			return "number"
		case string:
			return "string"
		case bool:
			return "bool"
		case []any:
			return "array"
		}
		return "object"
	}
	realKinds := map[string]map[string]bool{}
	for _, o := range real {
		for k, v := range o {
			if realKinds[k] == nil {
				realKinds[k] = map[string]bool{}
			}
			realKinds[k][kind(v)] = true
		}
	}
	t.Run("same field set", func(t *testing.T) {
		for k := range realKinds {
			if _, ok := gen.Offers[0][k]; !ok {
				t.Errorf("generated offers lack %q", k)
			}
		}
		for k := range gen.Offers[0] {
			if realKinds[k] == nil && k != "expected_reliability" {
				t.Errorf("generated offers carry %q, which real offers do not", k)
			}
		}
	})
	t.Run("same JSON types", func(t *testing.T) {
		for _, o := range gen.Offers {
			for k, v := range o {
				if kinds := realKinds[k]; kinds != nil && !kinds[kind(v)] && !(kind(v) == "null" && k == "cpu_cores") {
					t.Fatalf("offer %v: %s is %s, real offers have %v", o["id"], k, kind(v), kinds)
				}
			}
		}
	})
	median := func(offers []map[string]any, f func(map[string]any) float64) float64 {
		var xs []float64
		for _, o := range offers {
			xs = append(xs, f(o))
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	num := func(k string) func(map[string]any) float64 {
		return func(o map[string]any) float64 { x, _ := o[k].(float64); return x }
	}
	ratio := func(o map[string]any) float64 { return o["min_bid"].(float64) / o["dph_base"].(float64) }
	verified := func(offers []map[string]any) float64 {
		n := 0
		for _, o := range offers {
			if o["verification"] == "verified" {
				n++
			}
		}
		return float64(n) / float64(len(offers))
	}
	cases := []struct {
		name     string
		gen, rel float64
		tol      float64 // allowed ratio between the two
	}{
		{"median reliability", median(gen.Offers, num("reliability")), median(real, num("reliability")), 1.01},
		{"median min_bid/dph_base", median(gen.Offers, ratio), median(real, ratio), 1.15},
		{"median storage_cost", median(gen.Offers, num("storage_cost")), median(real, num("storage_cost")), 1.3},
		{"median inet_down", median(gen.Offers, num("inet_down")), median(real, num("inet_down")), 1.6},
		{"median disk_space", median(gen.Offers, num("disk_space")), median(real, num("disk_space")), 2},
		{"share verified", verified(gen.Offers), verified(real), 1.3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := c.gen / c.rel; r > c.tol || r < 1/c.tol {
				t.Errorf("generated %v, real %v: ratio %.2f beyond %.2f", c.gen, c.rel, r, c.tol)
			}
		})
	}
}

func rawReal(t *testing.T) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "match", "search.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.NewDecoder(zr).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
