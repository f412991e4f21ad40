package vastsim

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// generate builds a market of n machines. Each machine lists its whole set of GPUs and, with
// probability 0.7 per size, every power-of-two chunk below it, so offers overlap as in the real
// market; a 8-GPU machine can list 1+2+4+8 = 15 offers.
func (s *Sim) generate(r *rand.Rand, now time.Time, n int) {
	g := &marketGen{s: s, r: r, nowSec: float64(now.Unix())}
	g.offerID = int64(10_000_000 + r.IntN(1_000_000))
	g.gpuID = int64(100_000 + r.IntN(100_000))
	g.hostID = int64(50_000 + r.IntN(10_000))
	g.machineID = int64(10_000 + r.IntN(10_000))
	for range n {
		g.machine()
	}
}

// marketGen draws a market from one random stream. A seed must always give the same market
// (TestSeededMarketIsPinned), so every draw stays where it is: a draw moved, added or skipped
// shifts everything after it.
type marketGen struct {
	s      *Sim
	r      *rand.Rand
	nowSec float64
	// the last id handed out of each kind; ids grow by random steps
	offerID, gpuID, hostID, machineID int64
}

// machine draws one machine, lists its offers and lets other people rent some of it.
func (g *marketGen) machine() {
	r := g.r
	gm := gpuModels[weighted(r, len(gpuModels), func(i int) int { return gpuModels[i].weight })]
	var ngpu int
	if gm.datacenter {
		ngpu = []int{1, 2, 4, 8, 8, 8}[r.IntN(6)]
	} else {
		ngpu = []int{1, 1, 1, 2, 2, 4, 4, 8}[r.IntN(8)]
	}
	g.machineID += 1 + int64(r.IntN(40))
	if r.IntN(3) > 0 {
		g.hostID += 1 + int64(r.IntN(50))
	}
	m := &machine{id: g.machineID, taken: map[int64]int64{}}
	for range ngpu {
		g.gpuID += 1 + int64(r.IntN(5))
		m.gpus = append(m.gpus, g.gpuID)
	}
	g.s.machines = append(g.s.machines, m)

	t := machineTraits{gm: gm, ngpu: ngpu}
	g.drawHost(&t)
	g.drawHardware(&t)
	for size := ngpu; size >= 1; size /= 2 {
		if size != ngpu && r.Float64() >= 0.7 {
			continue
		}
		for chunk := 0; chunk+size <= ngpu; chunk += size {
			o := g.offer(&t, m, size, chunk)
			var tmpl *vastapi.Offer
			if len(m.offers) > 0 {
				tmpl = m.offers[0].tmpl
			}
			off := newOffer(o, tmpl, m, o.GPUIDs)
			m.offers = append(m.offers, off)
			g.s.offers = append(g.s.offers, off)
			g.s.offerBy[o.ID] = off
		}
	}
	// Part of the market is rented by other people already.
	if r.Float64() < 0.2 && len(m.offers) > 0 {
		o := m.offers[r.IntN(len(m.offers))]
		for _, gpu := range o.gpus {
			m.taken[gpu] = otherUser
		}
	}
}

// machineTraits is what a machine's offers share: shared holds the offer fields they all carry
// alike, the others are what each offer's own fields are computed from.
type machineTraits struct {
	gm                 gpuModel
	ngpu               int
	priceGPU, bidRatio float64 // on-demand $/h of one GPU; min_bid as a share of dph_base
	cores, diskTotal   float64 // the whole machine's
	discount           vastapi.Opt[float64]
	shared             vastapi.Offer
}

// drawHost draws the machine's host: price, driver, place, verification, reliability, size of
// CPU, RAM and disk, network, storage price, listing dates, address and ports.
func (g *marketGen) drawHost(t *machineTraits) {
	r, gm, o := g.r, t.gm, &t.shared
	t.priceGPU = lognorm(r, gm.price, 0.22)
	t.bidRatio = lognorm(r, 0.83, 0.15)
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
	t.cores = float64([]int{8, 16, 24, 32, 48, 64, 96, 128, 192, 256}[min(9, r.IntN(6)+t.ngpu/2)])
	o.CPURAM = math.Round(t.cores * lognorm(r, 4000, 0.4))
	t.diskTotal = math.Round(lognorm(r, 400*float64(t.ngpu), 0.8)*100) / 100
	o.InetDown = round(lognorm(r, 700, 0.9), 1)
	o.InetUp = round(o.InetDown*lognorm(r, 0.8, 0.3), 1)
	o.StorageCost = []float64{0.1, 0.1333333, 0.15, 0.2, 0.2, 0.2, 0.2, 0.25, 0.3, 0.4666667}[r.IntN(10)]
	startDate := g.nowSec - 86400*(1+400*r.Float64())
	endDate := math.Round(g.nowSec + 86400*(3+177*r.Float64()))
	o.PublicIPAddr = hostIP([4]byte{byte(20 + r.IntN(200)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
	o.StaticIP = r.Float64() < 0.6
	o.DirectPortCount = int(lognorm(r, 150, 1.2))

	o.GPUName, o.GPURAM, o.GPUMaxPower, o.ComputeCap = gm.name, gm.ramMB, gm.power, gm.cc
	o.BwNvlink, o.CUDAMaxGood, o.DriverVersion, o.DriverVers = gm.nvlink, cuda, drv.version, drv.vers
	o.Geolocation, o.Geolocode = vastapi.Some(place), vastapi.Some(int64(hash32(place)))
	o.HostingType = vastapi.Some(0)
	if dc {
		o.HostingType = vastapi.Some(1)
	}
	o.Verification, o.Vericode = verification, vericode
	o.Reliability, o.Reliability2 = reliability, reliability
	o.StartDate, o.EndDate = vastapi.Some(startDate), vastapi.Some(endDate)
	o.Duration = vastapi.Some(endDate - g.nowSec)
}

// drawHardware draws the rest of the machine, after its host: discount, CPU, OS, board, disk,
// network prices and the GPUs' bus and memory bandwidth.
func (g *marketGen) drawHardware(t *machineTraits) {
	r, o := g.r, &t.shared
	if r.Float64() < 0.35 {
		t.discount = vastapi.Some(round(0.1+0.3*r.Float64(), 2))
	}
	o.CPUCores = vastapi.Some(t.cores)
	if r.Float64() < 0.02 {
		o.CPUCores = vastapi.Opt[float64]{}
	}
	o.OSVersion = vastapi.Some([]string{"20.04", "22.04", "22.04", "24.04"}[r.IntN(4)])
	if r.Float64() < 0.01 {
		o.OSVersion = vastapi.Opt[string]{}
	}
	o.ReliabilityMult = round(0.7+0.299*r.Float64(), 7)
	o.PCIGen = []float64{3, 4, 4, 5}[r.IntN(4)]
	o.CPUGHz = vastapi.Some(round(2+2*r.Float64(), 1))
	o.CPUName = vastapi.Some(pick(r, cpuNames))
	o.MoboName = vastapi.Some(pick(r, moboNames))
	o.DiskName = vastapi.Some(pick(r, diskNames))
	o.DiskBW = round(lognorm(r, 2300, 0.7), 1)
	o.InetUpCost = round(0.004*r.Float64(), 6)
	o.InetDownCost = round(0.004*r.Float64(), 6)
	o.HasAVX = 1
	if r.Float64() < 0.03 {
		o.HasAVX = 0
	}
	o.VMsEnabled = r.Float64() < 0.2
	o.GPUDisplayActive = r.Float64() < 0.03
	o.GPUMemBW = round(t.gm.memBW*lognorm(r, 1, 0.05), 1)
	o.PCIeBW = vastapi.Some(round(o.PCIGen*3.9*lognorm(r, 1, 0.15), 1))

	o.Rn, o.GPUArch, o.CPUArch = 1, "nvidia", "amd64"
	o.InternetUpCostPerTB, o.InternetDownCostPerTB = o.InetUpCost*1024, o.InetDownCost*1024
	o.Logo = "/static/logos/vastai_small2.png"
	o.DiscountRate = t.discount
	o.Rentable = true
}

// offer draws the offer of GPUs [chunk, chunk+size) of machine m.
func (g *marketGen) offer(t *machineTraits, m *machine, size, chunk int) vastapi.Offer {
	r, gm := g.r, t.gm
	g.offerID += 1 + int64(r.IntN(30))
	frac := float64(size) / float64(t.ngpu)
	o := t.shared
	o.ID, o.AskContractID, o.BundleID = g.offerID, g.offerID, 1_300_000_000+g.offerID*3
	o.MachineID, o.HostID = m.id, g.hostID
	o.NumGPUs, o.GPUTotalRAM, o.GPUFrac = size, gm.ramMB*float64(size), frac
	o.GPUIDs = slices.Clone(m.gpus[chunk : chunk+size])
	o.GPULanes = []int{8, 16, 16}[r.IntN(3)]
	o.GPUMaxTemp = float64(80 + r.IntN(25))
	o.CPUCoresEffective = t.cores * frac
	o.DiskSpace = round(t.diskTotal*frac, 2)
	o.DLPerf = gm.dlperf * float64(size) * lognorm(r, 1, 0.08)
	o.TotalFlops = gm.tflops * float64(size)
	o.DphBase = round(t.priceGPU*float64(size), 6)
	o.CreditDiscountMax = []float64{0, 0, 0, 0.1, 0.2, 0.4}[r.IntN(6)]
	o.MinBid = round(o.DphBase*t.bidRatio, 6)
	if t.discount.Valid {
		o.DiscountedHourly = o.DphBase * (1 - t.discount.V)
	}
	priceBase(&o)
	return o
}

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
