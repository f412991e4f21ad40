package scaler

import (
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// offerRow is the part of an offer the planner's walk reads, packed so that walking tens of
// thousands of offers per fleet stays within the cache (an Offer is ~1 KB).
type offerRow struct {
	base, storage, minBid, disk float64
	end                         float64 // epoch seconds; 0 = unknown
	machine, id, host           int64
	country                     string
	mi                          int32 // the machine's index among the market's machines
}

// rows returns the packed offers of a market, built once per plan.
func (p *planner) rows(market string) []offerRow {
	if r, ok := p.rowCache[market]; ok {
		return r
	}
	offers := p.obs.Offers[market]
	r := make([]offerRow, len(offers))
	index := make(map[int64]int32, len(offers))
	for i := range offers {
		o := &offers[i]
		mi, ok := index[o.MachineID]
		if !ok {
			mi = int32(len(index))
			index[o.MachineID] = mi
		}
		r[i] = offerRow{base: o.DphBase, storage: o.StorageCost, minBid: o.MinBid, disk: o.DiskSpace,
			end: o.EndDate.Or(0), machine: o.MachineID, id: o.ID, host: o.HostID,
			country: Country(o.Geolocation.Or("")), mi: mi}
	}
	if p.rowCache == nil {
		p.rowCache = map[string][]offerRow{}
		p.machineIdx = map[string]map[int64]int32{}
	}
	p.rowCache[market] = r
	p.machineIdx[market] = index
	return r
}

// pick narrows pickOffer for a replacement.
type pick struct {
	ceiling     float64       // > 0: the price must not exceed it (rebalance savings)
	minDuration time.Duration // > 0: the listing must last at least this long (beyond min_duration)
	notMachine  int64         // != 0: not on this machine (the one being left)
	// lapse: when only offers on machines avoided for the fleet fit, take the one whose
	// avoidance is first in LapseOrder and end that avoidance early (a fleet below target is
	// never kept there by avoidance alone).
	lapse bool
}

// offerStage is how far an offer got through pickOffer's checks, in their order. The order is
// the order in which a blocked fleet's reasons win (docs/design.md §8): what the offer is worth
// (price cap, rebalance savings), then where it would go (spread), then what the fleet and the
// account may spend (budget, account cap, monthly budget), then avoidance. So a fleet is said to
// be blocked by money when there are offers it could place but cannot pay for, and by its spread
// only when every offer it could pay for is on a machine, host or country it may not use.
type offerStage int

const (
	stageNone offerStage = iota
	stagePrice
	stageSavings
	stageSpread
	stageBudget
	stageAccount
	stageMonthly
	stageAvoided
)

// stageReasons says why no offer was picked when the furthest-getting offer failed at a stage.
var stageReasons = [...]string{
	stageNone:    ReasonNoOffers,
	stagePrice:   ReasonPriceCap,
	stageSavings: ReasonSavingsBelow,
	stageBudget:  ReasonBudget,
	stageAccount: ReasonAccountCap,
	stageMonthly: ReasonMonthlyBudget,
	stageSpread:  ReasonSpread,
	stageAvoided: ReasonAvoidedMachine,
}

// pickOffer walks the market's offers in the order the search returned them (the market's
// `order`) and takes the first that passes every check, with its price and bid. When none
// does, the reason is the last check that the furthest-getting offer failed, in the order of
// offerStage: an offer under the price cap that only its spread keeps out says spread, one the
// spread allows but the budget does not says budget_exhausted, and one that only an avoided
// machine keeps out says avoided_machine, unless opt.lapse lets that avoidance lapse
// (docs/design.md §8).
func (fp *fleetPlan) pickOffer(opt pick) (*vastapi.Offer, float64, float64, string) {
	f := fp.f
	rows := fp.rows(f.Market.Name)
	stage := stageNone
	disk := f.Instance.DiskGB
	accountCap := fp.cfg.Account.MaxSpendPerHour
	spread := f.Spread.Any()
	minEnd := 0.0
	if d := max(f.MinDuration, opt.minDuration); d > 0 {
		minEnd = float64(fp.now.Add(d).Unix())
	}
	lapseAt := -1 // with opt.lapse: the row on an avoided machine first in LapseOrder
	var lapseBy AvoidedMachine
	for i := range rows {
		r := &rows[i]
		if disk > 0 && r.disk > 0 && r.disk+eps < disk {
			continue
		}
		if minEnd > 0 && r.end > 0 && r.end < minEnd {
			continue // the host's listing ends too soon (min_duration)
		}
		if opt.notMachine != 0 && r.machine == opt.notMachine {
			continue
		}
		price, bid, ok := rowPrice(f, r.base, r.storage, r.minBid)
		if !ok || (f.MaxPrice > 0 && price > f.MaxPrice+eps) {
			stage = max(stage, stagePrice)
			continue
		}
		if opt.ceiling > 0 && price > opt.ceiling+eps {
			stage = max(stage, stageSavings)
			continue
		}
		if spread && !fp.spreadAllows(r.machine, r.host, r.country) {
			stage = max(stage, stageSpread)
			continue
		}
		if f.Budget > 0 && fp.committed+price > f.Budget+eps {
			stage = max(stage, stageBudget)
			continue
		}
		if accountCap > 0 && fp.account+price > accountCap+eps {
			stage = max(stage, stageAccount)
			continue
		}
		if !fp.monthFits(price) {
			stage = max(stage, stageMonthly)
			continue
		}
		if fp.takenOff[r.id] || fp.takenMac[r.machine] {
			continue // chosen by an earlier create of this plan
		}
		if am, ok := fp.avoid.kept[r.machine]; ok {
			stage = stageAvoided
			if opt.lapse && (lapseAt < 0 || LapseOrder(am, lapseBy) < 0) {
				lapseAt, lapseBy = i, am
			}
			continue
		}
		return &fp.obs.Offers[f.Market.Name][i], price, bid, ""
	}
	if lapseAt >= 0 {
		r := &rows[lapseAt]
		price, bid, _ := rowPrice(f, r.base, r.storage, r.minBid)
		fp.avoid.lapse(r.machine)
		return &fp.obs.Offers[f.Market.Name][lapseAt], price, bid, ""
	}
	return nil, 0, 0, stageReasons[stage]
}
