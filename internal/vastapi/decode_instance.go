package vastapi

import (
	"encoding/json"
	"fmt"
	"strings"
)

// UnmarshalJSON decodes an instance from the list or show-instance reply: quoted numbers and
// nulls are accepted, extra_env in both forms, public_ipaddr trimmed.
func (i *Instance) UnmarshalJSON(b []byte) error {
	s := newBytesScanner(b)
	null, err := s.isNull()
	if err != nil || null {
		return err
	}
	var v Instance
	if err := s.object(func(key []byte) error { return decodeInstanceField(s, &v, key) }); err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	if err := s.trailing(); err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	*i = v
	return nil
}

// instance reads one instance object at the scanner's position.
func (s *scanner) instance() (*Instance, error) {
	if c, err := s.peek(); err != nil {
		return nil, err
	} else if c != '{' {
		return nil, fmt.Errorf("instance: %w", errType{"an object"})
	}
	inst := new(Instance)
	if err := s.object(func(key []byte) error { return decodeInstanceField(s, inst, key) }); err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	return inst, nil
}

func (s *scanner) envPairs(dst *EnvPairs) error {
	raw, err := s.rawValue()
	if err != nil {
		return err
	}
	return dst.UnmarshalJSON(raw)
}

func (s *scanner) ports(dst *map[string][]PortBinding) error {
	raw, err := s.rawValue()
	if err != nil {
		return err
	}
	var m map[string][]PortBinding
	if err := json.Unmarshal(raw, &m); err != nil {
		return errType{"a map of port bindings"}
	}
	*dst = m
	return nil
}

func decodeInstanceField(s *scanner, i *Instance, key []byte) error {
	switch string(key) {
	case "id":
		return fieldErr("id", s.int64(&i.ID))
	case "machine_id":
		return fieldErr("machine_id", s.int64(&i.MachineID))
	case "host_id":
		return fieldErr("host_id", s.int64(&i.HostID))
	case "bundle_id":
		return fieldErr("bundle_id", s.int64(&i.BundleID))
	case "label":
		return fieldErr("label", s.optStr(&i.Label))
	case "template_id":
		return fieldErr("template_id", s.optInt64(&i.TemplateID))
	case "template_hash_id":
		return fieldErr("template_hash_id", s.optStr(&i.TemplateHashID))
	case "actual_status":
		return fieldErr("actual_status", s.optStr(&i.ActualStatus))
	case "intended_status":
		return fieldErr("intended_status", s.str(&i.IntendedStatus))
	case "cur_state":
		return fieldErr("cur_state", s.str(&i.CurState))
	case "next_state":
		return fieldErr("next_state", s.str(&i.NextState))
	case "status_msg":
		return fieldErr("status_msg", s.optStr(&i.StatusMsg))
	case "image_uuid":
		return fieldErr("image_uuid", s.str(&i.ImageUUID))
	case "image_args":
		return fieldErr("image_args", s.strs(&i.ImageArgs))
	case "image_runtype":
		return fieldErr("image_runtype", s.str(&i.ImageRuntype))
	case "onstart":
		return fieldErr("onstart", s.optStr(&i.Onstart))
	case "jupyter_token":
		return fieldErr("jupyter_token", s.secret(&i.JupyterToken))
	case "extra_env":
		return fieldErr("extra_env", s.envPairs(&i.ExtraEnv))
	case "ssh_host":
		return fieldErr("ssh_host", s.str(&i.SSHHost))
	case "ssh_port":
		return fieldErr("ssh_port", s.int(&i.SSHPort))
	case "ssh_idx":
		return fieldErr("ssh_idx", s.str(&i.SSHIdx))
	case "public_ipaddr":
		err := s.str(&i.PublicIPAddr)
		i.PublicIPAddr = strings.TrimSpace(i.PublicIPAddr)
		return fieldErr("public_ipaddr", err)
	case "local_ipaddrs":
		return fieldErr("local_ipaddrs", s.str(&i.LocalIPAddrs))
	case "direct_port_start":
		return fieldErr("direct_port_start", s.int(&i.DirectPortStart))
	case "direct_port_end":
		return fieldErr("direct_port_end", s.int(&i.DirectPortEnd))
	case "ports":
		return fieldErr("ports", s.ports(&i.Ports))
	case "start_date":
		return fieldErr("start_date", s.float(&i.StartDate))
	case "end_date":
		return fieldErr("end_date", s.optFloat(&i.EndDate))
	case "uptime_mins":
		return fieldErr("uptime_mins", s.optFloat(&i.UptimeMins))
	case "duration":
		return fieldErr("duration", s.optFloat(&i.Duration))
	case "num_gpus":
		return fieldErr("num_gpus", s.int(&i.NumGPUs))
	case "gpu_name":
		return fieldErr("gpu_name", s.str(&i.GPUName))
	case "gpu_ram":
		return fieldErr("gpu_ram", s.float(&i.GPURAM))
	case "gpu_totalram":
		return fieldErr("gpu_totalram", s.float(&i.GPUTotalRAM))
	case "gpu_util":
		return fieldErr("gpu_util", s.optFloat(&i.GPUUtil))
	case "gpu_temp":
		return fieldErr("gpu_temp", s.optFloat(&i.GPUTemp))
	case "cpu_cores":
		return fieldErr("cpu_cores", s.optFloat(&i.CPUCores))
	case "cpu_ram":
		return fieldErr("cpu_ram", s.float(&i.CPURAM))
	case "cpu_util":
		return fieldErr("cpu_util", s.optFloat(&i.CPUUtil))
	case "mem_usage":
		return fieldErr("mem_usage", s.optFloat(&i.MemUsage))
	case "disk_space":
		return fieldErr("disk_space", s.float(&i.DiskSpace))
	case "disk_usage":
		return fieldErr("disk_usage", s.optFloat(&i.DiskUsage))
	case "inet_up":
		return fieldErr("inet_up", s.float(&i.InetUp))
	case "inet_down":
		return fieldErr("inet_down", s.float(&i.InetDown))
	case "dph_base":
		return fieldErr("dph_base", s.float(&i.DphBase))
	case "dph_total":
		return fieldErr("dph_total", s.float(&i.DphTotal))
	case "storage_cost":
		return fieldErr("storage_cost", s.float(&i.StorageCost))
	case "storage_total_cost":
		return fieldErr("storage_total_cost", s.float(&i.StorageTotalCost))
	case "min_bid":
		return fieldErr("min_bid", s.float(&i.MinBid))
	case "is_bid":
		return fieldErr("is_bid", s.bool(&i.IsBid))
	case "credit_balance":
		return fieldErr("credit_balance", s.optFloat(&i.CreditBalance))
	case "search":
		return fieldErr("search", s.priceBreakdown(&i.Search))
	case "instance":
		return fieldErr("instance", s.priceBreakdown(&i.InstanceCost))
	case "reliability2":
		return fieldErr("reliability2", s.float(&i.Reliability2))
	case "verification":
		return fieldErr("verification", s.str(&i.Verification))
	case "rentable":
		return fieldErr("rentable", s.bool(&i.Rentable))
	case "geolocation":
		return fieldErr("geolocation", s.optStr(&i.Geolocation))
	case "hosting_type":
		return fieldErr("hosting_type", s.optInt(&i.HostingType))
	}
	if canon, ok := foldKey(instanceKeys, key); ok {
		return decodeInstanceField(s, i, []byte(canon))
	}
	return s.skip()
}

var instanceKeys = foldTable("id", "machine_id", "host_id", "bundle_id", "label", "template_id", "template_hash_id", "actual_status", "intended_status", "cur_state", "next_state", "status_msg", "image_uuid", "image_args", "image_runtype", "onstart", "jupyter_token", "extra_env", "ssh_host", "ssh_port", "ssh_idx", "public_ipaddr", "local_ipaddrs", "direct_port_start", "direct_port_end", "ports", "start_date", "end_date", "uptime_mins", "duration", "num_gpus", "gpu_name", "gpu_ram", "gpu_totalram", "gpu_util", "gpu_temp", "cpu_cores", "cpu_ram", "cpu_util", "mem_usage", "disk_space", "disk_usage", "inet_up", "inet_down", "dph_base", "dph_total", "storage_cost", "storage_total_cost", "min_bid", "is_bid", "credit_balance", "search", "instance", "reliability2", "verification", "rentable", "geolocation", "hosting_type")
