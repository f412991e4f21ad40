package vastapi

// Offer is one rentable offer of a search reply (docs/vast-api.md §2 "Offer fields"). It carries
// the whole field set of real replies so that matching, the simulator's replies and the exported
// prices all work from one type. Fields the API may send as null are Opt. Its json tags are the
// list of columns the decoder and the matcher are generated from (columns.go).
//
// Prices are for the whole offer in $/h; DphTotal already includes storage for the search's
// allocated_storage (use PriceFor to price another disk size).
type Offer struct {
	ID             int64      `json:"id"`
	AskContractID  int64      `json:"ask_contract_id"`
	BundleID       int64      `json:"bundle_id"`
	BundledResults Opt[int64] `json:"bundled_results"`
	Rn             int64      `json:"rn"`
	MachineID      int64      `json:"machine_id"`
	HostID         int64      `json:"host_id"`

	NumGPUs          int        `json:"num_gpus"`
	GPUName          string     `json:"gpu_name"`
	GPUArch          string     `json:"gpu_arch"`
	GPURAM           float64    `json:"gpu_ram"`       // MB per GPU
	GPUTotalRAM      float64    `json:"gpu_total_ram"` // MB, all GPUs of the offer
	GPUFrac          float64    `json:"gpu_frac"`
	GPUIDs           []int64    `json:"gpu_ids"`
	GPULanes         int        `json:"gpu_lanes"`
	GPUMaxPower      float64    `json:"gpu_max_power"`
	GPUMaxTemp       float64    `json:"gpu_max_temp"`
	GPUMemBW         float64    `json:"gpu_mem_bw"`
	GPUDisplayActive bool       `json:"gpu_display_active"`
	BwNvlink         float64    `json:"bw_nvlink"`
	ComputeCap       int        `json:"compute_cap"`
	CUDAMaxGood      float64    `json:"cuda_max_good"`
	DriverVersion    string     `json:"driver_version"`
	DriverVers       Opt[int64] `json:"driver_vers"`

	CPUArch           string       `json:"cpu_arch"`
	CPUCores          Opt[float64] `json:"cpu_cores"`
	CPUCoresEffective float64      `json:"cpu_cores_effective"`
	CPUGHz            Opt[float64] `json:"cpu_ghz"`
	CPUName           Opt[string]  `json:"cpu_name"`
	CPURAM            float64      `json:"cpu_ram"` // MB, whole machine
	HasAVX            int          `json:"has_avx"`
	MoboName          Opt[string]  `json:"mobo_name"`
	PCIGen            float64      `json:"pci_gen"`
	PCIeBW            Opt[float64] `json:"pcie_bw"`
	DiskSpace         float64      `json:"disk_space"` // GB allocatable
	DiskBW            float64      `json:"disk_bw"`
	DiskName          Opt[string]  `json:"disk_name"`
	OSVersion         Opt[string]  `json:"os_version"`
	VMsEnabled        bool         `json:"vms_enabled"`

	InetUp                float64     `json:"inet_up"`
	InetDown              float64     `json:"inet_down"`
	InetUpCost            float64     `json:"inet_up_cost"`
	InetDownCost          float64     `json:"inet_down_cost"`
	InternetUpCostPerTB   float64     `json:"internet_up_cost_per_tb"`
	InternetDownCostPerTB float64     `json:"internet_down_cost_per_tb"`
	DirectPortCount       int         `json:"direct_port_count"`
	PublicIPAddr          string      `json:"public_ipaddr" decode:"trim"`
	StaticIP              bool        `json:"static_ip"`
	Geolocation           Opt[string] `json:"geolocation"` // "Region, CC"
	Geolocode             Opt[int64]  `json:"geolocode"`
	HostingType           Opt[int]    `json:"hosting_type"` // 1 = datacenter
	External              Opt[bool]   `json:"external"`
	Hostname              Opt[string] `json:"hostname"`
	Webpage               Opt[string] `json:"webpage"`
	Logo                  string      `json:"logo"`

	Verification        string       `json:"verification"` // verified | unverified | deverified
	Vericode            int          `json:"vericode"`
	Reliability         float64      `json:"reliability"`
	Reliability2        float64      `json:"reliability2"`
	ReliabilityMult     float64      `json:"reliability_mult"`
	ExpectedReliability Opt[float64] `json:"expected_reliability"`
	Score               float64      `json:"score"`
	DLPerf              float64      `json:"dlperf"`
	TotalFlops          float64      `json:"total_flops"`
	DLPerfPerDphTotal   float64      `json:"dlperf_per_dphtotal"`
	FlopsPerDphTotal    float64      `json:"flops_per_dphtotal"`

	DphBase            float64        `json:"dph_base"` // compute only, whole offer
	DphTotal           float64        `json:"dph_total"`
	DphTotalAdj        float64        `json:"dph_total_adj"`
	StorageCost        float64        `json:"storage_cost"`       // $/GB/month
	StorageTotalCost   float64        `json:"storage_total_cost"` // $/h for the allocated storage
	VRAMCostPerHour    float64        `json:"vram_costperhour"`
	MinBid             float64        `json:"min_bid"` // whole offer, $/h
	CreditDiscountMax  float64        `json:"credit_discount_max"`
	DiscountRate       Opt[float64]   `json:"discount_rate"`
	DiscountedHourly   float64        `json:"discounted_hourly"`
	DiscountedDphTotal float64        `json:"discounted_dph_total"`
	Search             PriceBreakdown `json:"search"`
	Instance           PriceBreakdown `json:"instance"`

	Rentable           bool         `json:"rentable"`
	Rented             bool         `json:"rented"`
	IsBid              bool         `json:"is_bid"`
	StartDate          Opt[float64] `json:"start_date"`
	EndDate            Opt[float64] `json:"end_date"` // epoch seconds the listing ends
	Duration           Opt[float64] `json:"duration"` // end_date - now, seconds
	TimeRemaining      string       `json:"time_remaining"`
	TimeRemainingIsBid string       `json:"time_remaining_isbid"`
}

// PriceBreakdown is the `search` / `instance` object of offers and instances.
type PriceBreakdown struct {
	GPUCostPerHour         float64 `json:"gpuCostPerHour"`
	DiskHour               float64 `json:"diskHour"`
	TotalHour              float64 `json:"totalHour"`
	DiscountTotalHour      float64 `json:"discountTotalHour"`
	DiscountedTotalPerHour float64 `json:"discountedTotalPerHour"`
}

// HoursPerMonth converts storage_cost ($/GB/month) to $/GB/h, as the API does.
const HoursPerMonth = 720

// StoragePerHour is the $/h of diskGB on this offer.
func (o *Offer) StoragePerHour(diskGB float64) float64 {
	return o.StorageCost * diskGB / HoursPerMonth
}

// PriceFor is the on-demand price of the whole offer in $/h with diskGB of storage:
// dph_base + storage_cost × disk / 720 (docs/design.md §5: never reuse a price searched for
// another size).
func (o *Offer) PriceFor(diskGB float64) float64 {
	return o.DphBase + o.StoragePerHour(diskGB)
}
