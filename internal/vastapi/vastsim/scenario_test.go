package vastsim

import (
	"slices"
	"testing"
	"time"
)

// TestScenariosDoWhatTheySay runs each scenario for a day and looks at the market every ten
// minutes: spikes raise prices, a crunch takes offers away, a storm outbids bids; and a seed
// gives the same day twice.
func TestScenariosDoWhatTheySay(t *testing.T) {
	type day struct {
		maxMedian, minMedian float64
		minRentable, maxRent int
		outbid               bool
		digest               string
	}
	watch := func(name string) day {
		o, err := WithScenario(Options{Seed: 9, Machines: 150, Credit: 1e6}, name)
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, o)
		// A bid at 1.2× min_bid on the cheapest offer, which a storm outbids.
		var bid int64
		for _, off := range h.sim.Offers() {
			if off.Rentable && off.NumGPUs == 1 {
				bid = h.mustCreate(off.ID, 10, off.MinBid*1.2)
				break
			}
		}
		d := day{minMedian: 1e9, minRentable: 1 << 30}
		for range 6 * 24 {
			h.clk.Advance(10 * time.Minute)
			var prices []float64
			for _, off := range h.sim.Offers() {
				if off.Rentable {
					prices = append(prices, off.DphBase/float64(off.NumGPUs))
				}
			}
			slices.Sort(prices)
			med := prices[len(prices)/2]
			d.maxMedian, d.minMedian = max(d.maxMedian, med), min(d.minMedian, med)
			d.minRentable, d.maxRent = min(d.minRentable, len(prices)), max(d.maxRent, len(prices))
			if h.show(bid)["status_msg"] == "Instance outbid: stopped" {
				d.outbid = true
			}
		}
		d.digest = marketDigest(t, h.sim)
		return d
	}
	calm := watch(ScenarioCalm)
	if calm.maxMedian > 1.5*calm.minMedian || calm.minRentable < calm.maxRent*7/10 {
		t.Errorf("calm: median %v–%v, rentable %d–%d", calm.minMedian, calm.maxMedian, calm.minRentable, calm.maxRent)
	}
	if s := watch(ScenarioPriceSpike); s.maxMedian < 2*s.minMedian {
		t.Errorf("price-spike: median only %v–%v", s.minMedian, s.maxMedian)
	}
	if s := watch(ScenarioSupplyCrunch); s.minRentable > s.maxRent/2 {
		t.Errorf("supply-crunch: rentable %d–%d", s.minRentable, s.maxRent)
	}
	storm := watch(ScenarioOutbidStorm)
	if !storm.outbid || calm.outbid {
		t.Errorf("outbid: storm %v, calm %v", storm.outbid, calm.outbid)
	}
	if again := watch(ScenarioOutbidStorm); again.digest != storm.digest {
		t.Error("the same seed gave another day")
	}
	if _, err := WithScenario(Options{}, "tsunami"); err == nil {
		t.Error("an unknown scenario was accepted")
	}
}
