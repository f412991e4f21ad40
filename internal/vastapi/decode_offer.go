package vastapi

import (
	"fmt"
	"io"
	"strings"
)

// decodeOffers streams a search reply, {"offers":[…]} (a bare array is accepted too), calling fn
// for each offer in order. The *Offer passed to fn is reused for the next offer: fn copies what
// it keeps. Other top-level keys are skipped, except the envelope keys, which env reports.
// delivered counts the offers fn accepted.
func decodeOffers(r io.Reader, fn func(*Offer) error) (env envelope, delivered int, err error) {
	s := newStreamScanner(r)
	var o Offer
	each := func() error {
		null, err := s.isNull()
		if err != nil || null {
			return err // a null element carries no offer
		}
		if c, _ := s.peek(); c != '{' {
			return fmt.Errorf("offer %d: %w", delivered, errType{"an object"})
		}
		o = Offer{}
		if err := s.object(func(key []byte) error { return decodeOfferField(s, &o, key) }); err != nil {
			return fmt.Errorf("offer %d: %w", delivered, err)
		}
		if err := fn(&o); err != nil {
			return &callbackError{err}
		}
		delivered++
		return nil
	}
	list := func() error {
		null, err := s.isNull()
		if err != nil || null {
			return err
		}
		if c, _ := s.peek(); c != '[' {
			if err := s.skip(); err != nil {
				return err
			}
			return fmt.Errorf("offers: %w", errType{"a list"})
		}
		return s.array(each)
	}
	c, err := s.peek()
	if err != nil {
		return env, 0, err
	}
	switch c {
	case '[':
		err = list()
	case '{':
		err = s.object(func(key []byte) error {
			if string(key) == "offers" {
				return list()
			}
			return env.field(s, key)
		})
	default:
		return env, 0, s.syntax("reply is not a JSON object")
	}
	if err != nil {
		return env, delivered, err
	}
	if eof, err := s.atEOF(); err != nil || !eof {
		if err == nil {
			err = s.syntax("data after the reply")
		}
		return env, delivered, err
	}
	return env, delivered, nil
}

// callbackError carries an error of the caller's fn out of the decoder untouched.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// UnmarshalJSON decodes one offer with the same decoder as the search stream: numbers quoted as
// strings and nulls where numbers belong are accepted, public_ipaddr is trimmed.
func (o *Offer) UnmarshalJSON(b []byte) error {
	s := newBytesScanner(b)
	null, err := s.isNull()
	if err != nil || null {
		return err
	}
	var v Offer
	if err := s.object(func(key []byte) error { return decodeOfferField(s, &v, key) }); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	if err := s.trailing(); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	*o = v
	return nil
}

func decodeOfferField(s *scanner, o *Offer, key []byte) error {
	switch string(key) {
	case "id":
		return fieldErr("id", s.int64(&o.ID))
	case "ask_contract_id":
		return fieldErr("ask_contract_id", s.int64(&o.AskContractID))
	case "bundle_id":
		return fieldErr("bundle_id", s.int64(&o.BundleID))
	case "bundled_results":
		return fieldErr("bundled_results", s.optInt64(&o.BundledResults))
	case "rn":
		return fieldErr("rn", s.int64(&o.Rn))
	case "machine_id":
		return fieldErr("machine_id", s.int64(&o.MachineID))
	case "host_id":
		return fieldErr("host_id", s.int64(&o.HostID))
	case "num_gpus":
		return fieldErr("num_gpus", s.int(&o.NumGPUs))
	case "gpu_name":
		return fieldErr("gpu_name", s.str(&o.GPUName))
	case "gpu_arch":
		return fieldErr("gpu_arch", s.str(&o.GPUArch))
	case "gpu_ram":
		return fieldErr("gpu_ram", s.float(&o.GPURAM))
	case "gpu_total_ram":
		return fieldErr("gpu_total_ram", s.float(&o.GPUTotalRAM))
	case "gpu_frac":
		return fieldErr("gpu_frac", s.float(&o.GPUFrac))
	case "gpu_ids":
		return fieldErr("gpu_ids", s.int64s(&o.GPUIDs))
	case "gpu_lanes":
		return fieldErr("gpu_lanes", s.int(&o.GPULanes))
	case "gpu_max_power":
		return fieldErr("gpu_max_power", s.float(&o.GPUMaxPower))
	case "gpu_max_temp":
		return fieldErr("gpu_max_temp", s.float(&o.GPUMaxTemp))
	case "gpu_mem_bw":
		return fieldErr("gpu_mem_bw", s.float(&o.GPUMemBW))
	case "gpu_display_active":
		return fieldErr("gpu_display_active", s.bool(&o.GPUDisplayActive))
	case "bw_nvlink":
		return fieldErr("bw_nvlink", s.float(&o.BwNvlink))
	case "compute_cap":
		return fieldErr("compute_cap", s.int(&o.ComputeCap))
	case "cuda_max_good":
		return fieldErr("cuda_max_good", s.float(&o.CUDAMaxGood))
	case "driver_version":
		return fieldErr("driver_version", s.str(&o.DriverVersion))
	case "driver_vers":
		return fieldErr("driver_vers", s.optInt64(&o.DriverVers))
	case "cpu_arch":
		return fieldErr("cpu_arch", s.str(&o.CPUArch))
	case "cpu_cores":
		return fieldErr("cpu_cores", s.optFloat(&o.CPUCores))
	case "cpu_cores_effective":
		return fieldErr("cpu_cores_effective", s.float(&o.CPUCoresEffective))
	case "cpu_ghz":
		return fieldErr("cpu_ghz", s.optFloat(&o.CPUGHz))
	case "cpu_name":
		return fieldErr("cpu_name", s.optStr(&o.CPUName))
	case "cpu_ram":
		return fieldErr("cpu_ram", s.float(&o.CPURAM))
	case "has_avx":
		return fieldErr("has_avx", s.int(&o.HasAVX))
	case "mobo_name":
		return fieldErr("mobo_name", s.optStr(&o.MoboName))
	case "pci_gen":
		return fieldErr("pci_gen", s.float(&o.PCIGen))
	case "pcie_bw":
		return fieldErr("pcie_bw", s.optFloat(&o.PCIeBW))
	case "disk_space":
		return fieldErr("disk_space", s.float(&o.DiskSpace))
	case "disk_bw":
		return fieldErr("disk_bw", s.float(&o.DiskBW))
	case "disk_name":
		return fieldErr("disk_name", s.optStr(&o.DiskName))
	case "os_version":
		return fieldErr("os_version", s.optStr(&o.OSVersion))
	case "vms_enabled":
		return fieldErr("vms_enabled", s.bool(&o.VMsEnabled))
	case "inet_up":
		return fieldErr("inet_up", s.float(&o.InetUp))
	case "inet_down":
		return fieldErr("inet_down", s.float(&o.InetDown))
	case "inet_up_cost":
		return fieldErr("inet_up_cost", s.float(&o.InetUpCost))
	case "inet_down_cost":
		return fieldErr("inet_down_cost", s.float(&o.InetDownCost))
	case "internet_up_cost_per_tb":
		return fieldErr("internet_up_cost_per_tb", s.float(&o.InternetUpCostPerTB))
	case "internet_down_cost_per_tb":
		return fieldErr("internet_down_cost_per_tb", s.float(&o.InternetDownCostPerTB))
	case "direct_port_count":
		return fieldErr("direct_port_count", s.int(&o.DirectPortCount))
	case "public_ipaddr":
		err := s.str(&o.PublicIPAddr)
		o.PublicIPAddr = strings.TrimSpace(o.PublicIPAddr)
		return fieldErr("public_ipaddr", err)
	case "static_ip":
		return fieldErr("static_ip", s.bool(&o.StaticIP))
	case "geolocation":
		return fieldErr("geolocation", s.optStr(&o.Geolocation))
	case "geolocode":
		return fieldErr("geolocode", s.optInt64(&o.Geolocode))
	case "hosting_type":
		return fieldErr("hosting_type", s.optInt(&o.HostingType))
	case "external":
		return fieldErr("external", s.optBool(&o.External))
	case "hostname":
		return fieldErr("hostname", s.optStr(&o.Hostname))
	case "webpage":
		return fieldErr("webpage", s.optStr(&o.Webpage))
	case "logo":
		return fieldErr("logo", s.str(&o.Logo))
	case "verification":
		return fieldErr("verification", s.str(&o.Verification))
	case "vericode":
		return fieldErr("vericode", s.int(&o.Vericode))
	case "reliability":
		return fieldErr("reliability", s.float(&o.Reliability))
	case "reliability2":
		return fieldErr("reliability2", s.float(&o.Reliability2))
	case "reliability_mult":
		return fieldErr("reliability_mult", s.float(&o.ReliabilityMult))
	case "expected_reliability":
		return fieldErr("expected_reliability", s.optFloat(&o.ExpectedReliability))
	case "score":
		return fieldErr("score", s.float(&o.Score))
	case "dlperf":
		return fieldErr("dlperf", s.float(&o.DLPerf))
	case "total_flops":
		return fieldErr("total_flops", s.float(&o.TotalFlops))
	case "dlperf_per_dphtotal":
		return fieldErr("dlperf_per_dphtotal", s.float(&o.DLPerfPerDphTotal))
	case "flops_per_dphtotal":
		return fieldErr("flops_per_dphtotal", s.float(&o.FlopsPerDphTotal))
	case "dph_base":
		return fieldErr("dph_base", s.float(&o.DphBase))
	case "dph_total":
		return fieldErr("dph_total", s.float(&o.DphTotal))
	case "dph_total_adj":
		return fieldErr("dph_total_adj", s.float(&o.DphTotalAdj))
	case "storage_cost":
		return fieldErr("storage_cost", s.float(&o.StorageCost))
	case "storage_total_cost":
		return fieldErr("storage_total_cost", s.float(&o.StorageTotalCost))
	case "vram_costperhour":
		return fieldErr("vram_costperhour", s.float(&o.VRAMCostPerHour))
	case "min_bid":
		return fieldErr("min_bid", s.float(&o.MinBid))
	case "credit_discount_max":
		return fieldErr("credit_discount_max", s.float(&o.CreditDiscountMax))
	case "discount_rate":
		return fieldErr("discount_rate", s.optFloat(&o.DiscountRate))
	case "discounted_hourly":
		return fieldErr("discounted_hourly", s.float(&o.DiscountedHourly))
	case "discounted_dph_total":
		return fieldErr("discounted_dph_total", s.float(&o.DiscountedDphTotal))
	case "search":
		return fieldErr("search", s.priceBreakdown(&o.Search))
	case "instance":
		return fieldErr("instance", s.priceBreakdown(&o.Instance))
	case "rentable":
		return fieldErr("rentable", s.bool(&o.Rentable))
	case "rented":
		return fieldErr("rented", s.bool(&o.Rented))
	case "is_bid":
		return fieldErr("is_bid", s.bool(&o.IsBid))
	case "start_date":
		return fieldErr("start_date", s.optFloat(&o.StartDate))
	case "end_date":
		return fieldErr("end_date", s.optFloat(&o.EndDate))
	case "duration":
		return fieldErr("duration", s.optFloat(&o.Duration))
	case "time_remaining":
		return fieldErr("time_remaining", s.str(&o.TimeRemaining))
	case "time_remaining_isbid":
		return fieldErr("time_remaining_isbid", s.str(&o.TimeRemainingIsBid))
	}
	if canon, ok := foldKey(offerKeys, key); ok {
		return decodeOfferField(s, o, []byte(canon))
	}
	return s.skip()
}

var offerKeys = foldTable("id", "ask_contract_id", "bundle_id", "bundled_results", "rn", "machine_id", "host_id", "num_gpus", "gpu_name", "gpu_arch", "gpu_ram", "gpu_total_ram", "gpu_frac", "gpu_ids", "gpu_lanes", "gpu_max_power", "gpu_max_temp", "gpu_mem_bw", "gpu_display_active", "bw_nvlink", "compute_cap", "cuda_max_good", "driver_version", "driver_vers", "cpu_arch", "cpu_cores", "cpu_cores_effective", "cpu_ghz", "cpu_name", "cpu_ram", "has_avx", "mobo_name", "pci_gen", "pcie_bw", "disk_space", "disk_bw", "disk_name", "os_version", "vms_enabled", "inet_up", "inet_down", "inet_up_cost", "inet_down_cost", "internet_up_cost_per_tb", "internet_down_cost_per_tb", "direct_port_count", "public_ipaddr", "static_ip", "geolocation", "geolocode", "hosting_type", "external", "hostname", "webpage", "logo", "verification", "vericode", "reliability", "reliability2", "reliability_mult", "expected_reliability", "score", "dlperf", "total_flops", "dlperf_per_dphtotal", "flops_per_dphtotal", "dph_base", "dph_total", "dph_total_adj", "storage_cost", "storage_total_cost", "vram_costperhour", "min_bid", "credit_discount_max", "discount_rate", "discounted_hourly", "discounted_dph_total", "search", "instance", "rentable", "rented", "is_bid", "start_date", "end_date", "duration", "time_remaining", "time_remaining_isbid")
