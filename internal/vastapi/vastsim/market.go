package vastsim

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// otherUser marks a GPU rented by someone other than the simulated account.
const otherUser int64 = -1

// machine is one host machine; its offers are chunks of its GPUs and overlap.
type machine struct {
	id     int64
	gpus   []int64
	taken  map[int64]int64 // gpu id → instance id holding it, or otherUser
	offers []*offer
}

// offer is one listed offer, priced for 5 GB on-demand as the generator lists it. Most of an
// offer's fields are its machine's and the same for every offer of it, so they are kept once,
// in a template shared by the machine's offers; own holds the fields that are the offer's alone
// (identity, size, prices, availability). A catalogue of 10,000 offers so takes about 5 MB
// rather than 12. value rebuilds the whole offer.
type offer struct {
	tmpl *vastapi.Offer // never modified; its fields that own holds are ignored
	own  ownFields
	m    *machine
	gpus []int64
}

// ownFields are the fields of an offer that differ between offers of one machine, or change.
type ownFields struct {
	ID, AskContractID, BundleID                             int64
	NumGPUs, GPULanes                                       int
	GPUTotalRAM, GPUFrac, GPUMaxTemp, CPUCoresEffective     float64
	DiskSpace, DLPerf, TotalFlops, DLPerfPerDphTotal        float64
	FlopsPerDphTotal, Score, DphBase, DphTotal, DphTotalAdj float64
	StorageTotalCost, VRAMCostPerHour, MinBid               float64
	CreditDiscountMax, DiscountedHourly, DiscountedDphTotal float64
	GPUIDs                                                  []int64
	Search, Instance                                        vastapi.PriceBreakdown
	EndDate                                                 vastapi.Opt[float64]
	Rentable, Rented, IsBid                                 bool
}

func ownOf(v *vastapi.Offer) ownFields {
	return ownFields{
		ID: v.ID, AskContractID: v.AskContractID, BundleID: v.BundleID,
		NumGPUs: v.NumGPUs, GPULanes: v.GPULanes,
		GPUTotalRAM: v.GPUTotalRAM, GPUFrac: v.GPUFrac, GPUMaxTemp: v.GPUMaxTemp, CPUCoresEffective: v.CPUCoresEffective,
		DiskSpace: v.DiskSpace, DLPerf: v.DLPerf, TotalFlops: v.TotalFlops, DLPerfPerDphTotal: v.DLPerfPerDphTotal,
		FlopsPerDphTotal: v.FlopsPerDphTotal, Score: v.Score, DphBase: v.DphBase, DphTotal: v.DphTotal, DphTotalAdj: v.DphTotalAdj,
		StorageTotalCost: v.StorageTotalCost, VRAMCostPerHour: v.VRAMCostPerHour, MinBid: v.MinBid,
		CreditDiscountMax: v.CreditDiscountMax, DiscountedHourly: v.DiscountedHourly, DiscountedDphTotal: v.DiscountedDphTotal,
		GPUIDs: v.GPUIDs, Search: v.Search, Instance: v.Instance, EndDate: v.EndDate,
		Rentable: v.Rentable, Rented: v.Rented, IsBid: v.IsBid,
	}
}

// valueInto writes the whole offer to dst.
func (o *offer) valueInto(dst *vastapi.Offer) {
	*dst = *o.tmpl
	o.overlay(dst)
}

// overlay writes the offer's own fields to dst, which holds its template's.
func (o *offer) overlay(dst *vastapi.Offer) {
	f := &o.own
	dst.ID, dst.AskContractID, dst.BundleID = f.ID, f.AskContractID, f.BundleID
	dst.NumGPUs, dst.GPULanes = f.NumGPUs, f.GPULanes
	dst.GPUTotalRAM, dst.GPUFrac, dst.GPUMaxTemp, dst.CPUCoresEffective = f.GPUTotalRAM, f.GPUFrac, f.GPUMaxTemp, f.CPUCoresEffective
	dst.DiskSpace, dst.DLPerf, dst.TotalFlops, dst.DLPerfPerDphTotal = f.DiskSpace, f.DLPerf, f.TotalFlops, f.DLPerfPerDphTotal
	dst.FlopsPerDphTotal, dst.Score, dst.DphBase, dst.DphTotal, dst.DphTotalAdj = f.FlopsPerDphTotal, f.Score, f.DphBase, f.DphTotal, f.DphTotalAdj
	dst.StorageTotalCost, dst.VRAMCostPerHour, dst.MinBid = f.StorageTotalCost, f.VRAMCostPerHour, f.MinBid
	dst.CreditDiscountMax, dst.DiscountedHourly, dst.DiscountedDphTotal = f.CreditDiscountMax, f.DiscountedHourly, f.DiscountedDphTotal
	dst.GPUIDs, dst.Search, dst.Instance, dst.EndDate = f.GPUIDs, f.Search, f.Instance, f.EndDate
	dst.Rentable, dst.Rented, dst.IsBid = f.Rentable, f.Rented, f.IsBid
}

// value returns the whole offer (its GPUIDs shared with the catalogue: not to be modified).
func (o *offer) value() vastapi.Offer {
	var v vastapi.Offer
	o.valueInto(&v)
	return v
}

// newOffer stores v, sharing tmpl (an offer of the same machine) when v differs from it only
// in its own fields; otherwise, or without tmpl, v gets a template of its own. So sharing
// never changes an offer, whatever fields a generator or a catalogue varies.
func newOffer(v vastapi.Offer, tmpl *vastapi.Offer, m *machine, gpus []int64) *offer {
	o := &offer{tmpl: tmpl, own: ownOf(&v), m: m, gpus: gpus}
	if tmpl != nil {
		var got vastapi.Offer
		o.valueInto(&got)
		if reflect.DeepEqual(got, v) {
			return o
		}
	}
	o.tmpl = &v
	return o
}

// update changes the offer through f and stores the result. Callers hold s.mu and have called
// s.mutating().
func (o *offer) update(f func(v *vastapi.Offer)) {
	v := o.value()
	f(&v)
	o.own = ownOf(&v)
}

// refreshMachine recomputes rentable/rented of m's offers after its occupancy changed.
func (s *Sim) refreshMachine(m *machine) {
	s.mutating()
	for _, o := range m.offers {
		free, ours := true, false
		for _, g := range o.gpus {
			switch h := m.taken[g]; {
			case h == 0:
			case h > 0:
				free, ours = false, true
			default:
				free = false
			}
		}
		o.own.Rentable = free
		o.own.Rented = ours
	}
	s.changed()
}

// changed invalidates the priced catalogues and their encoded replies. Whoever changes a stored
// offer calls s.mutating() before and s.changed() after.
func (s *Sim) changed() { s.version++ }

// baseStorageGB is the allocated storage the stored catalogue is priced for (the CLI default).
const baseStorageGB = 5.0

// priceBase recomputes o's derived prices for baseStorageGB on-demand.
func priceBase(o *vastapi.Offer) {
	q := vastapi.Query{Type: vastapi.OnDemand, AllocatedStorage: vastapi.Some(baseStorageGB)}
	m, _ := q.Compile(time.Unix(0, 0))
	m.Reprice(o)
	o.IsBid = false
	o.DphTotalAdj = o.DphTotal * 1.0026
	if o.GPUTotalRAM > 0 {
		o.VRAMCostPerHour = o.DphTotal / (o.GPUTotalRAM / 1000)
	}
	o.Score = o.DLPerfPerDphTotal * o.Reliability * o.ReliabilityMult
}

func (s *Sim) loadCatalogue(cat []vastapi.Offer) error {
	byM := map[int64]*machine{}
	for i := range cat {
		c := cat[i]
		c.GPUIDs = slices.Clone(c.GPUIDs)
		if c.ID == 0 {
			return fmt.Errorf("vastsim: catalogue offer %d has no id", i)
		}
		if _, dup := s.offerBy[c.ID]; dup {
			return fmt.Errorf("vastsim: catalogue offer id %d repeated", c.ID)
		}
		m := byM[c.MachineID]
		if m == nil {
			m = &machine{id: c.MachineID, taken: map[int64]int64{}}
			byM[c.MachineID] = m
			s.machines = append(s.machines, m)
		}
		gpus := c.GPUIDs
		if len(gpus) == 0 {
			// An offer without GPU ids overlaps nothing: give it private synthetic ids.
			for g := range c.NumGPUs {
				gpus = append(gpus, -(c.ID*64 + int64(g) + 1))
			}
		}
		o := newOffer(c, nil, m, gpus)
		for _, g := range gpus {
			if !slices.Contains(m.gpus, g) {
				m.gpus = append(m.gpus, g)
			}
		}
		// An offer listed as not rentable is taken by someone else.
		if !c.Rentable {
			for _, g := range gpus {
				m.taken[g] = otherUser
			}
		}
		m.offers = append(m.offers, o)
		s.offers = append(s.offers, o)
		s.offerBy[c.ID] = o
	}
	slices.SortFunc(s.offers, func(a, b *offer) int { return int(a.own.ID - b.own.ID) })
	return nil
}

// driftStep moves prices and availability one seeded step: a few machines reprice (compute and
// bid floor), a few change whether other users rent them. The step's randomness depends only on
// the seed and the step number, so the market at a time does not depend on polling.
func (s *Sim) driftStep(step int64, now time.Time) {
	s.mutating()
	r := seedRand(s.opts.Seed^step*0x5851f42d4c957f2d, 7)
	n := max(1, len(s.machines)/50)
	for range n {
		m := s.machines[r.IntN(len(s.machines))]
		f := lognorm(r, 1, 0.03)
		fb := lognorm(r, 1, 0.08)
		for _, o := range m.offers {
			o.update(func(v *vastapi.Offer) {
				v.DphBase = round(v.DphBase*f, 6)
				v.MinBid = round(v.MinBid*fb, 6)
				priceBase(v)
			})
		}
		s.checkOutbid(m, now)
	}
	for range max(1, n/2) {
		m := s.machines[r.IntN(len(s.machines))]
		busy := false
		for g, h := range m.taken {
			if h == otherUser {
				delete(m.taken, g)
				busy = true
			}
		}
		if !busy && len(m.offers) > 0 {
			o := m.offers[r.IntN(len(m.offers))]
			free := true
			for _, g := range o.gpus {
				free = free && m.taken[g] == 0
			}
			if free {
				for _, g := range o.gpus {
					m.taken[g] = otherUser
				}
			}
		}
		s.refreshMachine(m)
	}
	s.scenarioStep(step, now)
	// Hosts relist before their listing ends, so a long-running market keeps its offers.
	nowSec := float64(now.Unix())
	for _, o := range s.offers {
		if o.own.EndDate.Valid && o.own.EndDate.V < nowSec+86400 {
			o.own.EndDate.V += 90 * 86400
		}
	}
	s.changed()
}
