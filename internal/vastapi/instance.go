package vastapi

// Instance is one rented instance as the instance list and show-instance replies carry it
// (docs/vast-api.md §4). ActualStatus is null while provisioning.
type Instance struct {
	ID             int64       `json:"id"`
	MachineID      int64       `json:"machine_id"`
	HostID         int64       `json:"host_id"`
	BundleID       int64       `json:"bundle_id"`
	Label          Opt[string] `json:"label"`
	TemplateID     Opt[int64]  `json:"template_id"`
	TemplateHashID Opt[string] `json:"template_hash_id"`

	ActualStatus   Opt[string] `json:"actual_status"`
	IntendedStatus string      `json:"intended_status"`
	CurState       string      `json:"cur_state"`
	NextState      string      `json:"next_state"`
	StatusMsg      Opt[string] `json:"status_msg"`

	ImageUUID    string      `json:"image_uuid"`
	ImageArgs    []string    `json:"image_args"`
	ImageRuntype string      `json:"image_runtype"`
	Onstart      Opt[string] `json:"onstart"`
	JupyterToken Secret      `json:"jupyter_token"`
	// ExtraEnv is the container environment as ordered pairs. The API sends a list of [k, v];
	// the CLI's --raw output an object: both decode.
	ExtraEnv EnvPairs `json:"extra_env"`

	SSHHost         string                   `json:"ssh_host"`
	SSHPort         int                      `json:"ssh_port"`
	SSHIdx          string                   `json:"ssh_idx"`
	PublicIPAddr    string                   `json:"public_ipaddr" decode:"trim"`
	LocalIPAddrs    string                   `json:"local_ipaddrs"`
	DirectPortStart int                      `json:"direct_port_start"`
	DirectPortEnd   int                      `json:"direct_port_end"`
	Ports           map[string][]PortBinding `json:"ports"`

	StartDate  float64      `json:"start_date"`
	EndDate    Opt[float64] `json:"end_date"` // host listing end, epoch seconds
	UptimeMins Opt[float64] `json:"uptime_mins"`
	Duration   Opt[float64] `json:"duration"`

	NumGPUs     int          `json:"num_gpus"`
	GPUName     string       `json:"gpu_name"`
	GPURAM      float64      `json:"gpu_ram"`
	GPUTotalRAM float64      `json:"gpu_totalram"`
	GPUUtil     Opt[float64] `json:"gpu_util"`
	GPUTemp     Opt[float64] `json:"gpu_temp"`
	CPUCores    Opt[float64] `json:"cpu_cores"`
	CPURAM      float64      `json:"cpu_ram"`
	CPUUtil     Opt[float64] `json:"cpu_util"`
	MemUsage    Opt[float64] `json:"mem_usage"`
	DiskSpace   float64      `json:"disk_space"` // allocated GB
	DiskUsage   Opt[float64] `json:"disk_usage"`
	InetUp      float64      `json:"inet_up"`
	InetDown    float64      `json:"inet_down"`

	DphBase          float64        `json:"dph_base"`
	DphTotal         float64        `json:"dph_total"`
	StorageCost      float64        `json:"storage_cost"`
	StorageTotalCost float64        `json:"storage_total_cost"`
	MinBid           float64        `json:"min_bid"`
	IsBid            bool           `json:"is_bid"`
	CreditBalance    Opt[float64]   `json:"credit_balance"`
	Search           PriceBreakdown `json:"search"`
	InstanceCost     PriceBreakdown `json:"instance"`

	Reliability2 float64     `json:"reliability2"`
	Verification string      `json:"verification"`
	Rentable     bool        `json:"rentable"`
	Geolocation  Opt[string] `json:"geolocation"`
	HostingType  Opt[int]    `json:"hosting_type"`
}

// PortBinding is one entry of an instance's `ports` map.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// EnvPair is one container environment entry.
type EnvPair struct{ Name, Value string }

// EnvPairs is an ordered environment. It decodes from [[k,v],…] and from {k:v,…}.
type EnvPairs []EnvPair

// Status returns actual_status, "" while it is null (provisioning).
func (i *Instance) Status() string { return i.ActualStatus.Or("") }
