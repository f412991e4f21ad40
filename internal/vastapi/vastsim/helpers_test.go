package vastsim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

const testKey = "sim-test-key-0123456789"

var t0 = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)

type harness struct {
	t   testing.TB
	sim *Sim
	clk *clock.Fake
	hc  *http.Client
}

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	clk := clock.NewFake(t0)
	opts.Clock = clk
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, sim: s, clk: clk, hc: &http.Client{Transport: s.Transport()}}
}

type resp struct {
	status int
	ctype  string
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("reply %d is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// do sends a request with the test key as a Bearer header.
func (h *harness) do(method, path string, body any) resp {
	h.t.Helper()
	return h.doKey(method, path, body, testKey)
}

func (h *harness) doKey(method, path string, body any, key string) resp {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				h.t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, "http://sim.invalid"+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), header: res.Header, body: b}
}

// search POSTs a query body and decodes the offers.
func (h *harness) search(body string) []vastapi.Offer {
	h.t.Helper()
	r := h.do("POST", "/api/v0/bundles/", body)
	if r.status != 200 {
		h.t.Fatalf("search: %d %s", r.status, r.body)
	}
	var out struct {
		Offers []vastapi.Offer `json:"offers"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		h.t.Fatalf("decode search: %v", err)
	}
	return out.Offers
}

// create rents offer id with an on-demand body (or a bid when price > 0) and returns the reply.
func (h *harness) create(offerID int64, disk float64, price float64) (int, map[string]any) {
	h.t.Helper()
	body := map[string]any{"client_id": "me", "image": "pytorch/pytorch", "disk": disk, "label": "t", "runtype": "ssh"}
	if price > 0 {
		body["price"] = price
	}
	r := h.do("PUT", "/api/v0/asks/"+itoa(offerID)+"/", body)
	return r.status, r.json(h.t)
}

func (h *harness) mustCreate(offerID int64, disk, price float64) int64 {
	h.t.Helper()
	st, m := h.create(offerID, disk, price)
	if st != 200 || m["success"] != true {
		h.t.Fatalf("create on offer %d: %d %v", offerID, st, m)
	}
	return int64(m["new_contract"].(float64))
}

func (h *harness) show(id int64) map[string]any {
	h.t.Helper()
	r := h.do("GET", "/api/v0/instances/"+itoa(id)+"/?owner=me", nil)
	if r.status != 200 {
		h.t.Fatalf("show %d: %d %s", id, r.status, r.body)
	}
	m := r.json(h.t)
	inst, _ := m["instances"].(map[string]any)
	return inst
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// realOffers loads the real capture shared with vastapi's matcher tests.
func realOffers(t testing.TB) []vastapi.Offer {
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
	var offers []vastapi.Offer
	if err := json.NewDecoder(zr).Decode(&offers); err != nil {
		t.Fatal(err)
	}
	return offers
}

// overlapping returns a free offer that shares GPUs with at least one other offer of its
// machine, and those others.
func (h *harness) overlapping() (vastapi.Offer, []vastapi.Offer) {
	h.t.Helper()
	offers := h.sim.Offers()
	byMachine := map[int64][]vastapi.Offer{}
	for _, o := range offers {
		byMachine[o.MachineID] = append(byMachine[o.MachineID], o)
	}
	for _, o := range offers {
		if !o.Rentable || o.NumGPUs < 2 {
			continue
		}
		var others []vastapi.Offer
		for _, p := range byMachine[o.MachineID] {
			if p.ID != o.ID && shares(o.GPUIDs, p.GPUIDs) {
				others = append(others, p)
			}
		}
		if len(others) > 0 && allRentable(others) {
			return o, others
		}
	}
	h.t.Fatal("no overlapping offers in the market")
	return vastapi.Offer{}, nil
}

func allRentable(os []vastapi.Offer) bool {
	for _, o := range os {
		if !o.Rentable {
			return false
		}
	}
	return true
}

func shares(a, b []int64) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// cheapRentable returns a rentable offer with the given GPU count, whatever else.
func (h *harness) rentable(pred func(o vastapi.Offer) bool) vastapi.Offer {
	h.t.Helper()
	for _, o := range h.sim.Offers() {
		if o.Rentable && (pred == nil || pred(o)) {
			return o
		}
	}
	h.t.Fatal("no rentable offer matches")
	return vastapi.Offer{}
}

func (h *harness) offer(id int64) vastapi.Offer {
	for _, o := range h.sim.Offers() {
		if o.ID == id {
			return o
		}
	}
	h.t.Fatalf("offer %d not in catalogue", id)
	return vastapi.Offer{}
}

func urlQuery(s string) string { return url.QueryEscape(s) }
