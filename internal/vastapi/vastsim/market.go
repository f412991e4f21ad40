package vastsim

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// compact moves the catalogue into a few dense arrays: machines, templates, offers, GPU ids.
// Built one offer at a time among the generator's garbage, each of these small objects would
// otherwise pin a mostly empty page of its size class for the simulator's life: megabytes of
// resident memory for a 5,000-offer market, in a daemon run with --simulate. Called by New
// before anything else holds an offer or machine.
func (s *Sim) compact() {
	nIDs := 0
	tmplAt := map[*vastapi.Offer]int{}
	for _, m := range s.machines {
		nIDs += len(m.gpus)
	}
	for _, o := range s.offers {
		if _, ok := tmplAt[o.tmpl]; !ok {
			tmplAt[o.tmpl] = len(tmplAt)
			nIDs += len(o.tmpl.GPUIDs)
		}
		nIDs += len(o.gpus) + len(o.own.GPUIDs)
	}
	ids := make([]int64, 0, nIDs)
	pack := func(v []int64) []int64 {
		if v == nil {
			return nil
		}
		start := len(ids)
		ids = append(ids, v...)
		return ids[start:len(ids):len(ids)]
	}
	machines := make([]machine, len(s.machines))
	machineAt := make(map[*machine]*machine, len(s.machines))
	for i, m := range s.machines {
		machines[i] = *m
		machines[i].gpus = pack(m.gpus)
		machineAt[m] = &machines[i]
		s.machines[i] = &machines[i]
	}
	tmpls := make([]vastapi.Offer, len(tmplAt))
	for t, i := range tmplAt {
		tmpls[i] = *t
		tmpls[i].GPUIDs = pack(t.GPUIDs)
	}
	offers := make([]offer, len(s.offers))
	offerAt := make(map[*offer]*offer, len(s.offers))
	for i, o := range s.offers {
		c := &offers[i]
		*c = *o
		c.tmpl = &tmpls[tmplAt[o.tmpl]]
		c.m = machineAt[o.m]
		sameIDs := len(o.gpus) > 0 && len(o.gpus) == len(o.own.GPUIDs) && &o.gpus[0] == &o.own.GPUIDs[0]
		c.gpus = pack(o.gpus)
		if sameIDs {
			c.own.GPUIDs = c.gpus
		} else {
			c.own.GPUIDs = pack(o.own.GPUIDs)
		}
		offerAt[o] = c
		s.offers[i] = c
		s.offerBy[c.own.ID] = c
	}
	for i := range machines {
		m := &machines[i]
		moved := make([]*offer, len(m.offers))
		for j, o := range m.offers {
			moved[j] = offerAt[o]
		}
		m.offers = moved
	}
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

// gpuModel calibrates one GPU type: per-GPU figures, medians from the real capture where the
// model is in it, current list prices otherwise.
type gpuModel struct {
	name       string
	ramMB      float64
	cc         int
	memBW      float64
	power      float64
	dlperf     float64 // per GPU
	tflops     float64 // per GPU
	price      float64 // median $/h per GPU
	weight     int
	datacenter bool // mostly 8-GPU servers in datacenters
	nvlink     float64
	minCUDA    float64
}

var gpuModels = []gpuModel{
	{"RTX 4090", 24564, 890, 1008, 450, 72, 81.4, 0.35, 22, false, 0, 11.8},
	{"RTX 3090", 24576, 860, 936, 350, 38.4, 35.3, 0.18, 14, false, 0, 11.1},
	{"RTX 5090", 32607, 1200, 1792, 575, 110, 104.8, 0.62, 12, false, 0, 12.8},
	{"RTX 3060", 12288, 860, 360, 170, 12.2, 12.1, 0.07, 6, false, 0, 11.1},
	{"RTX A4000", 16376, 860, 448, 140, 20, 20.6, 0.09, 4, false, 0, 11.1},
	{"RTX A5000", 24564, 860, 768, 230, 21.9, 27.5, 0.2, 3, false, 0, 11.1},
	{"RTX A6000", 49140, 860, 768, 300, 50.2, 36.1, 0.45, 4, false, 0, 11.1},
	{"RTX 6000Ada", 49140, 890, 960, 300, 130.8, 81.4, 0.7, 3, false, 0, 11.8},
	{"RTX PRO 6000 WS", 97887, 1200, 1792, 600, 190, 120, 1.1, 2, false, 0, 12.8},
	{"RTX 4080S", 16376, 890, 736, 320, 72.4, 50.9, 0.2, 3, false, 0, 11.8},
	{"RTX 4070S Ti", 16376, 890, 672, 285, 41.9, 42, 0.16, 2, false, 0, 11.8},
	{"RTX 5080", 16303, 1200, 960, 360, 80, 56, 0.3, 2, false, 0, 12.8},
	{"A40", 46068, 860, 696, 300, 33.5, 29.9, 0.35, 2, true, 0, 11.1},
	{"L40S", 46068, 890, 864, 350, 108.2, 73.3, 0.7, 4, true, 0, 11.8},
	{"A100 PCIE", 81920, 800, 1935, 300, 111.5, 19.5, 0.8, 2, true, 0, 11.0},
	{"A100 SXM4", 81920, 800, 2039, 400, 128.7, 19.5, 0.9, 4, true, 600, 11.0},
	{"H100 PCIE", 81559, 900, 2000, 350, 203.8, 51, 1.7, 2, true, 0, 11.8},
	{"H100 SXM", 81559, 900, 3350, 700, 308.5, 67, 1.9, 6, true, 900, 11.8},
	{"H100 NVL", 95830, 900, 3900, 400, 311.4, 60, 2.0, 1, true, 600, 11.8},
	{"H200", 143771, 900, 4800, 700, 380, 67, 2.5, 3, true, 900, 12.2},
	{"B200", 183359, 1000, 8000, 1000, 620, 90, 4.2, 1, true, 1800, 12.8},
	{"Tesla V100", 16384, 700, 900, 250, 16.6, 15.7, 0.1, 1, true, 0, 10.2},
}

var drivers = []struct {
	version string
	vers    vastapi.Opt[int64]
	cuda    float64
	weight  int
}{
	{"535.183.01", vastapi.Some[int64](535183001), 12.2, 14},
	{"550.90.07", vastapi.Some[int64](550090007), 12.4, 10},
	{"550.127.05", vastapi.Some[int64](550127005), 12.4, 8},
	{"550.76", vastapi.Opt[int64]{}, 12.4, 3},
	{"560.35.03", vastapi.Some[int64](560035003), 12.6, 14},
	{"565.57.01", vastapi.Some[int64](565057001), 12.7, 6},
	{"570.133.07", vastapi.Some[int64](570133007), 12.8, 18},
	{"575.57.08", vastapi.Some[int64](575057008), 12.9, 10},
	{"580.65.06", vastapi.Some[int64](580065006), 13.0, 12},
}

// places are weighted like the real capture (US, CA, NO, SE, JP ... lead).
var places = []struct {
	name   string
	weight int
}{
	{"Quebec, CA", 12}, {"British Columbia, CA", 3}, {"Alberta, CA", 2}, {"Sweden, SE", 8},
	{"Norway, NO", 8}, {"Japan, JP", 6}, {"United Kingdom, GB", 5}, {"Spain, ES", 4},
	{"France, FR", 4}, {", US", 3}, {"Washington, US", 4}, {"Texas, US", 5}, {"New York, US", 3},
	{"California, US", 4}, {"Minnesota, US", 2}, {"New Jersey, US", 2}, {"Virginia, US", 3},
	{"South Korea, KR", 4}, {"Taiwan, TW", 4}, {"Poland, PL", 3}, {"Iceland, IS", 3},
	{"Romania, RO", 2}, {"Czechia, CZ", 2}, {"Bulgaria, BG", 2}, {"The Netherlands, NL", 3},
	{"United Arab Emirates, AE", 2}, {"Hong Kong, HK", 2}, {"New Zealand, NZ", 2},
	{"Australia, AU", 2}, {"Germany, DE", 3}, {"Finland, FI", 2}, {"Argentina, AR", 1},
	{"China, CN", 4}, {"Vietnam, VN", 1}, {"Thailand, TH", 1}, {"Italy, IT", 1},
}

var cpuNames = []string{
	"AMD EPYC 7702 64-Core Processor", "AMD EPYC 7282 16-Core Processor", "Xeon® E5-2680 v4 ",
	"AMD EPYC 7542 32-Core Processor", "AMD EPYC 9354 32-Core Processor", "AMD Ryzen 9 7950X 16-Core Processor",
	"AMD Ryzen Threadripper PRO 5975WX 32-Cores", "Xeon® Platinum 8480+", "Xeon® Gold 6338",
	"AMD EPYC 9654 96-Core Processor", "Intel Core i9-14900K",
}

var moboNames = []string{"ROME2D32GM", "H12SSL", "X99", "Pro WS WRX80E", "MZ73-LM0", "X13DEG-OAD", "ProArt X670E", "WRX90E"}
var diskNames = []string{"nvme", "Samsung SSD 990 PRO 2TB", "Corsair MP600 PRO XT", "SAMSUNG MZQL23T8HCLS", "Micron_7450_MTFDKCC3T8TFR", "QEMU HARDDISK"}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func weighted(r *rand.Rand, n int, weight func(i int) int) int {
	total := 0
	for i := range n {
		total += weight(i)
	}
	x := r.IntN(total)
	for i := range n {
		x -= weight(i)
		if x < 0 {
			return i
		}
	}
	return n - 1
}

func lognorm(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(r.NormFloat64()*sigma)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// generate builds a market of n machines. Each machine lists its whole set of GPUs and, with
// probability 0.7 per size, every power-of-two chunk below it, so offers overlap as in the real
// market; a 8-GPU machine can list 1+2+4+8 = 15 offers.
func (s *Sim) generate(r *rand.Rand, now time.Time, n int) {
	nowSec := float64(now.Unix())
	offerID := int64(10_000_000 + r.IntN(1_000_000))
	gpuID := int64(100_000 + r.IntN(100_000))
	hostID := int64(50_000 + r.IntN(10_000))
	machineID := int64(10_000 + r.IntN(10_000))
	for range n {
		gm := gpuModels[weighted(r, len(gpuModels), func(i int) int { return gpuModels[i].weight })]
		var ngpu int
		if gm.datacenter {
			ngpu = []int{1, 2, 4, 8, 8, 8}[r.IntN(6)]
		} else {
			ngpu = []int{1, 1, 1, 2, 2, 4, 4, 8}[r.IntN(8)]
		}
		machineID += 1 + int64(r.IntN(40))
		if r.IntN(3) > 0 {
			hostID += 1 + int64(r.IntN(50))
		}
		m := &machine{id: machineID, taken: map[int64]int64{}}
		for range ngpu {
			gpuID += 1 + int64(r.IntN(5))
			m.gpus = append(m.gpus, gpuID)
		}
		s.machines = append(s.machines, m)

		// Machine-wide traits shared by its offers.
		priceGPU := lognorm(r, gm.price, 0.22)
		bidRatio := lognorm(r, 0.83, 0.15)
		drv := drivers[weighted(r, len(drivers), func(i int) int { return drivers[i].weight })]
		cuda := drv.cuda
		if cuda < gm.minCUDA {
			drv = drivers[len(drivers)-1]
			cuda = drv.cuda
		}
		place := places[weighted(r, len(places), func(i int) int { return places[i].weight })].name
		dc := gm.datacenter && r.Float64() < 0.6 || r.Float64() < 0.08
		ver := r.Float64()
		verification, vericode := "unverified", 0
		switch {
		case ver < 0.38 || dc && ver < 0.7:
			verification, vericode = "verified", 1
		case ver > 0.88:
			verification, vericode = "deverified", []int{2, 4, 8, 10, 12}[r.IntN(5)]
		}
		reliability := round(1-math.Pow(10, -1.1-2.3*r.Float64()), 7)
		cores := float64([]int{8, 16, 24, 32, 48, 64, 96, 128, 192, 256}[min(9, r.IntN(6)+ngpu/2)])
		cpuRAM := math.Round(cores * lognorm(r, 4000, 0.4))
		diskTotal := math.Round(lognorm(r, 400*float64(ngpu), 0.8)*100) / 100
		inetDown := round(lognorm(r, 700, 0.9), 1)
		inetUp := round(inetDown*lognorm(r, 0.8, 0.3), 1)
		storage := []float64{0.1, 0.1333333, 0.15, 0.2, 0.2, 0.2, 0.2, 0.25, 0.3, 0.4666667}[r.IntN(10)]
		startDate := nowSec - 86400*(1+400*r.Float64())
		endDate := math.Round(nowSec + 86400*(3+177*r.Float64()))
		ip := fmt.Sprintf("%d.%d.%d.%d", 20+r.IntN(200), r.IntN(256), r.IntN(256), 1+r.IntN(254))
		static := r.Float64() < 0.6
		ports := int(lognorm(r, 150, 1.2))
		discount := vastapi.Opt[float64]{}
		if r.Float64() < 0.35 {
			discount = vastapi.Some(round(0.1+0.3*r.Float64(), 2))
		}
		cpuCores := vastapi.Some(cores)
		if r.Float64() < 0.02 {
			cpuCores = vastapi.Opt[float64]{}
		}
		osv := vastapi.Some([]string{"20.04", "22.04", "22.04", "24.04"}[r.IntN(4)])
		if r.Float64() < 0.01 {
			osv = vastapi.Opt[string]{}
		}
		hosting := 0
		if dc {
			hosting = 1
		}
		relMult := round(0.7+0.299*r.Float64(), 7)
		pciGen := []float64{3, 4, 4, 5}[r.IntN(4)]
		cpuGHz := vastapi.Some(round(2+2*r.Float64(), 1))
		cpuName := pick(r, cpuNames)
		mobo := vastapi.Some(pick(r, moboNames))
		diskName := vastapi.Some(pick(r, diskNames))
		diskBW := round(lognorm(r, 2300, 0.7), 1)
		upCost := round(0.004*r.Float64(), 6)
		downCost := round(0.004*r.Float64(), 6)
		hasAVX := 1
		if r.Float64() < 0.03 {
			hasAVX = 0
		}
		vms := r.Float64() < 0.2
		display := r.Float64() < 0.03
		bw := round(gm.memBW*lognorm(r, 1, 0.05), 1)
		pcieBW := vastapi.Some(round(pciGen*3.9*lognorm(r, 1, 0.15), 1))

		for size := ngpu; size >= 1; size /= 2 {
			if size != ngpu && r.Float64() >= 0.7 {
				continue
			}
			for chunk := 0; chunk+size <= ngpu; chunk += size {
				offerID += 1 + int64(r.IntN(30))
				frac := float64(size) / float64(ngpu)
				o := vastapi.Offer{
					ID: offerID, AskContractID: offerID, BundleID: 1_300_000_000 + offerID*3, Rn: 1,
					MachineID: m.id, HostID: hostID,
					NumGPUs: size, GPUName: gm.name, GPUArch: "nvidia",
					GPURAM: gm.ramMB, GPUTotalRAM: gm.ramMB * float64(size), GPUFrac: frac,
					GPUIDs: slices.Clone(m.gpus[chunk : chunk+size]), GPULanes: []int{8, 16, 16}[r.IntN(3)],
					GPUMaxPower: gm.power, GPUMaxTemp: float64(80 + r.IntN(25)), GPUMemBW: bw,
					GPUDisplayActive: display, ComputeCap: gm.cc, CUDAMaxGood: cuda,
					DriverVersion: drv.version, DriverVers: drv.vers,
					CPUArch: "amd64", CPUCores: cpuCores, CPUCoresEffective: cores * frac, CPUGHz: cpuGHz,
					CPUName: vastapi.Some(cpuName), CPURAM: cpuRAM, HasAVX: hasAVX, MoboName: mobo,
					PCIGen: pciGen, PCIeBW: pcieBW, DiskSpace: round(diskTotal*frac, 2), DiskBW: diskBW,
					DiskName: diskName, OSVersion: osv, VMsEnabled: vms,
					InetUp: inetUp, InetDown: inetDown, InetUpCost: upCost, InetDownCost: downCost,
					InternetUpCostPerTB: upCost * 1024, InternetDownCostPerTB: downCost * 1024,
					DirectPortCount: ports, PublicIPAddr: ip, StaticIP: static,
					Geolocation: vastapi.Some(place), Geolocode: vastapi.Some(int64(hash32(place))),
					HostingType: vastapi.Some(hosting), Logo: "/static/logos/vastai_small2.png",
					Verification: verification, Vericode: vericode,
					Reliability: reliability, Reliability2: reliability, ReliabilityMult: relMult,
					DLPerf:     gm.dlperf * float64(size) * lognorm(r, 1, 0.08),
					TotalFlops: gm.tflops * float64(size),
					DphBase:    round(priceGPU*float64(size), 6), StorageCost: storage,
					CreditDiscountMax: []float64{0, 0, 0, 0.1, 0.2, 0.4}[r.IntN(6)],
					DiscountRate:      discount,
					BwNvlink:          gm.nvlink,
					Rentable:          true,
					StartDate:         vastapi.Some(startDate), EndDate: vastapi.Some(endDate),
					Duration: vastapi.Some(endDate - nowSec),
				}
				o.MinBid = round(o.DphBase*bidRatio, 6)
				if discount.Valid {
					o.DiscountedHourly = o.DphBase * (1 - discount.V)
				}
				priceBase(&o)
				var tmpl *vastapi.Offer
				if len(m.offers) > 0 {
					tmpl = m.offers[0].tmpl
				}
				off := newOffer(o, tmpl, m, o.GPUIDs)
				m.offers = append(m.offers, off)
				s.offers = append(s.offers, off)
				s.offerBy[o.ID] = off
			}
		}
		// Part of the market is rented by other people already.
		if r.Float64() < 0.2 && len(m.offers) > 0 {
			o := m.offers[r.IntN(len(m.offers))]
			for _, g := range o.gpus {
				m.taken[g] = otherUser
			}
		}
	}
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
	// Hosts relist before their listing ends, so a long-running market keeps its offers.
	nowSec := float64(now.Unix())
	for _, o := range s.offers {
		if o.own.EndDate.Valid && o.own.EndDate.V < nowSec+86400 {
			o.own.EndDate.V += 90 * 86400
		}
	}
	s.changed()
}
