package vastsim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// sliceFeed feeds fixed changes.
type sliceFeed []FeedChange

func (f *sliceFeed) Next() (FeedChange, bool) {
	if len(*f) == 0 {
		return FeedChange{}, false
	}
	ch := (*f)[0]
	*f = (*f)[1:]
	return ch, true
}

func fedOffer(id, machine int64, gpus []int64, base float64) *vastapi.Offer {
	return &vastapi.Offer{ID: id, AskContractID: id, MachineID: machine, HostID: 7, NumGPUs: len(gpus), GPUIDs: gpus,
		GPUName: "RTX 4090", DphBase: base, MinBid: base / 2, StorageCost: 0.15, DiskSpace: 100, Rentable: true,
		Verification: "verified", Reliability: 0.99, ReliabilityMult: 0.9, DLPerf: 30, DirectPortCount: 10,
		EndDate: vastapi.Some(float64(t0.Add(90 * 24 * time.Hour).Unix()))}
}

func rentableIDs(t *testing.T, s *Sim) map[int64]vastapi.Offer {
	t.Helper()
	got, err := s.Direct().SearchOffers(context.Background(), vastapi.Query{Filters: []vastapi.Filter{{Field: "rentable", Conds: []vastapi.Cond{{Op: vastapi.OpEq, Value: vastapi.BoolValue(true)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]vastapi.Offer{}
	for _, o := range got {
		out[o.ID] = o
	}
	return out
}

// TestFedMarketMovesAsFed: offers appear, reprice and vanish when the feed says and at no other
// time; an offer we rent leaves the market, and the recorded min_bid outbids our bids.
func TestFedMarketMovesAsFed(t *testing.T) {
	a1, a2 := fedOffer(101, 1, []int64{11}, 0.40), fedOffer(102, 1, []int64{11, 12}, 0.80)
	b := fedOffer(201, 2, []int64{21}, 0.30)
	hidden := fedOffer(301, 3, []int64{31}, 0.10)
	hidden.Rentable = false
	b2 := *b
	b2.MinBid = 0.50
	a1b := *a1
	a1b.DphBase = 0.35
	c := fedOffer(401, 4, nil, 0.20)
	feed := sliceFeed{
		{At: t0, New: []*vastapi.Offer{a1, a2, b, hidden}},
		{At: t0.Add(time.Minute), Changed: []*vastapi.Offer{&b2, &a1b}},
		{At: t0.Add(2 * time.Minute), Gone: []int64{102}, New: []*vastapi.Offer{c}},
		{At: t0.Add(3 * time.Minute), Gone: []int64{101}},
		{At: t0.Add(4 * time.Minute), New: []*vastapi.Offer{a1}},
	}
	h := newHarness(t, Options{Seed: 1, Feed: &feed})
	got := rentableIDs(t, h.sim)
	if len(got) != 3 || got[101].DphTotal != 0.40+0.15*5/720 {
		t.Fatalf("first market %v", got)
	}
	bid := h.mustCreate(201, 10, 0.40)
	if _, ok := rentableIDs(t, h.sim)[201]; ok {
		t.Fatal("a rented offer is still listed")
	}
	h.clk.Advance(59 * time.Second)
	if st := h.show(bid)["actual_status"]; st == "stopped" {
		t.Fatal("outbid before the feed raised min_bid")
	}
	h.clk.Advance(time.Second)
	if h.show(bid)["cur_state"] != "stopped" || h.show(bid)["status_msg"] != "Instance outbid: stopped" {
		t.Fatalf("not outbid once min_bid passed the bid: %v", h.show(bid))
	}
	if p := rentableIDs(t, h.sim)[101].DphBase; p != 0.35 {
		t.Fatalf("repriced offer lists at %v", p)
	}
	od := h.mustCreate(101, 10, 0)
	h.clk.Advance(time.Minute) // 102 goes, 401 comes (no GPU ids: its own)
	got = rentableIDs(t, h.sim)
	if _, ok := got[102]; ok || len(got) != 1 || got[401].ID != 401 {
		t.Fatalf("after 2m: %v", got)
	}
	h.clk.Advance(2 * time.Minute) // 101 goes and comes back while rented
	if _, ok := rentableIDs(t, h.sim)[101]; ok {
		t.Fatal("an offer we rent came back on the market")
	}
	if st := h.show(od)["actual_status"]; st != "running" {
		t.Fatalf("the instance on an unlisted offer is %v", st)
	}
	h.clk.Advance(24 * time.Hour)
	if n := len(rentableIDs(t, h.sim)); n != 1 {
		t.Fatalf("the market moved without the feed: %d offers", n)
	}
}

func TestHazards(t *testing.T) {
	run := func(o Options) (failed map[int64]string) {
		o.Credit = 1e6
		h := newHarness(t, o)
		var ids []int64
		for _, off := range h.sim.Offers() {
			if len(ids) == 40 {
				break
			}
			if off.Rentable && h.offer(off.ID).Rentable {
				if st, m := h.create(off.ID, 10, 0); st == 200 {
					ids = append(ids, int64(m["new_contract"].(float64)))
				}
			}
		}
		h.clk.Advance(10 * time.Hour)
		failed = map[int64]string{}
		for _, id := range ids {
			if st, _ := h.show(id)["actual_status"].(string); st != "running" {
				failed[id] = st
			}
		}
		return failed
	}
	if f := run(Options{Seed: 3, Machines: 200}); len(f) != 0 {
		t.Fatalf("failures without hazards: %v", f)
	}
	boot := run(Options{Seed: 3, Machines: 200, BootFailure: 0.5})
	if len(boot) < 10 || len(boot) > 30 {
		t.Errorf("%d of 40 failed booting at a rate of 0.5", len(boot))
	}
	host := run(Options{Seed: 3, Machines: 200, HostFailuresPerDay: 24 / 5.0})
	// Mean life 5 h: after 10 h about 1-e^-2 = 86% have failed.
	if len(host) < 25 {
		t.Errorf("%d of 40 failed in 10 h at a mean life of 5 h", len(host))
	}
	for _, st := range host {
		if st != FailOffline {
			t.Errorf("host failure shows %q", st)
		}
	}
	again := run(Options{Seed: 3, Machines: 200, BootFailure: 0.5})
	if len(again) != len(boot) {
		t.Errorf("the same seed failed %d, then %d", len(boot), len(again))
	}
}

// TestBillingIsWhatCreditLost: the bills add up to what the credit went down by.
func TestBillingIsWhatCreditLost(t *testing.T) {
	h := newHarness(t, Options{Seed: 4, Machines: 100, Credit: 1000, Speed: 3})
	n := 0
	for _, o := range h.sim.Offers() {
		if n < 5 && o.Rentable && h.offer(o.ID).Rentable {
			id := h.mustCreate(o.ID, 30, 0)
			n++
			h.clk.Advance(37 * time.Minute)
			if n == 2 {
				h.do("DELETE", "/api/v0/instances/"+itoa(id)+"/", nil)
			}
		}
	}
	h.clk.Advance(5 * time.Hour)
	sum := 0.0
	for _, b := range h.sim.Billing() {
		sum += b.GPU + b.Disk
	}
	if lost := 1000 - h.sim.Credit(); sum <= 0 || math.Abs(sum-lost) > 1e-9*lost {
		t.Fatalf("bills sum to %v, credit lost %v", sum, lost)
	}
}
