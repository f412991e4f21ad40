package vastsim

import (
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// What a generated market is made of: GPU models, drivers, places and the names of CPUs, boards
// and disks. Changing any of them changes the market every seed gives.

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
