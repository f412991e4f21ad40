package vastsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// wireInstance is an instance as the API sends it: vastapi.Instance plus the secret and extra
// fields its type does not carry (jupyter_token in clear, as the real API sends it).
type wireInstance struct {
	vastapi.Instance
	JupyterToken  string  `json:"jupyter_token"`
	ClientRunTime float64 `json:"client_run_time"`
	HostRunTime   float64 `json:"host_run_time"`
	ComputeCap    int     `json:"compute_cap"`
	CUDAMaxGood   float64 `json:"cuda_max_good"`
	DriverVersion string  `json:"driver_version"`
	DLPerf        float64 `json:"dlperf"`
	TotalFlops    float64 `json:"total_flops"`
	CPUName       any     `json:"cpu_name"`
	OSVersion     any     `json:"os_version"`
	External      bool    `json:"external"`
	// Ports shadows Instance.Ports on the wire: the real API leaves the key out until the
	// instance runs (testdata/real/show.json, captured while loading), and the CLI's ssh-url
	// dereferences instance.get("ports", {}), which a null breaks. A pointer, so a running
	// instance without mapped ports still shows {}.
	Ports *map[string][]vastapi.PortBinding `json:"ports,omitempty"`
}

// view renders in at now. Callers hold s.mu.
func (s *Sim) view(in *instance, now time.Time) wireInstance {
	o := in.off.value()
	storage := in.storagePerHour()
	running := in.gpuBilled()
	status := in.actualStatus()
	cur, next := in.intended, in.intended
	w := wireInstance{
		Instance: vastapi.Instance{
			ID: in.id, MachineID: o.MachineID, HostID: o.HostID, BundleID: o.BundleID,
			Label: in.label, TemplateHashID: in.templateHash,
			ActualStatus: status, IntendedStatus: in.intended, CurState: cur, NextState: next,
			StatusMsg: in.statusMsg(now),
			ImageUUID: in.image, ImageArgs: append([]string{}, in.args...), ImageRuntype: in.runtype,
			ExtraEnv: append(vastapi.EnvPairs{}, in.env...),
			SSHHost:  fmt.Sprintf("ssh%d.vast.ai", 1+in.id%9), SSHPort: in.sshPort, SSHIdx: fmt.Sprint(1 + in.id%9),
			LocalIPAddrs:    "192.168.1.20 172.17.0.1 \n",
			DirectPortStart: -1, DirectPortEnd: -1,
			StartDate: float64(in.created.UnixNano()) / 1e9, EndDate: o.EndDate,
			Duration: vastapi.Some(now.Sub(in.created).Seconds()),
			NumGPUs:  o.NumGPUs, GPUName: o.GPUName, GPURAM: o.GPURAM, GPUTotalRAM: o.GPUTotalRAM,
			CPUCores: o.CPUCores, CPURAM: o.CPURAM, DiskSpace: in.disk,
			InetUp: o.InetUp, InetDown: o.InetDown,
			DphBase: in.dphBase, DphTotal: in.dphBase + storage, StorageCost: in.storageCost,
			StorageTotalCost: storage, MinBid: in.off.own.MinBid, IsBid: in.isBid,
			Search: vastapi.PriceBreakdown{GPUCostPerHour: in.dphBase, DiskHour: storage, TotalHour: in.dphBase + storage,
				DiscountedTotalPerHour: in.dphBase + storage},
			Reliability2: o.Reliability, Verification: o.Verification, Rentable: o.Rentable,
			Geolocation: o.Geolocation, HostingType: o.HostingType,
		},
		JupyterToken: in.jupyterToken, ComputeCap: o.ComputeCap, CUDAMaxGood: o.CUDAMaxGood,
		DriverVersion: o.DriverVersion, DLPerf: o.DLPerf, TotalFlops: o.TotalFlops,
		CPUName: o.CPUName, OSVersion: o.OSVersion,
	}
	if in.outbid || in.intended == "stopped" {
		w.CurState, w.NextState = "stopped", "stopped"
	}
	gpuNow := 0.0
	if running {
		gpuNow = in.dphBase
		w.PublicIPAddr = o.PublicIPAddr
		if s.opts.PublicIPAddr != "" {
			w.PublicIPAddr = s.opts.PublicIPAddr
		}
		if o.DirectPortCount > 1 {
			w.DirectPortStart = in.portStart
			w.DirectPortEnd = in.portStart + directPorts(o.DirectPortCount) - 1
		}
		w.Instance.Ports = make(map[string][]vastapi.PortBinding, len(in.ports))
		for c, p := range in.ports {
			host := strconv.Itoa(p)
			w.Instance.Ports[c] = []vastapi.PortBinding{{HostIP: "0.0.0.0", HostPort: host}, {HostIP: "::", HostPort: host}}
		}
		ports := w.Instance.Ports
		w.Ports = &ports
		w.UptimeMins = vastapi.Some(now.Sub(in.phAt).Minutes())
		w.GPUUtil = vastapi.Some(0.0)
		w.GPUTemp = vastapi.Some(40.0)
		w.CPUUtil = vastapi.Some(0.02)
		w.MemUsage = vastapi.Some(0.5)
		w.DiskUsage = vastapi.Some(1.2)
		w.ClientRunTime = now.Sub(in.phAt).Seconds()
	}
	w.InstanceCost = vastapi.PriceBreakdown{GPUCostPerHour: gpuNow, DiskHour: storage, TotalHour: gpuNow + storage,
		DiscountedTotalPerHour: gpuNow + storage}
	if in.onstart != "" {
		w.Onstart = vastapi.Some(in.onstart)
	}
	if w.ImageRuntype == "" {
		w.ImageRuntype = "ssh"
	}
	w.HostRunTime = o.EndDate.V - float64(now.Unix())
	return w
}

// live returns the instance id if it exists and is not destroyed. Callers hold s.mu.
func (s *Sim) live(id int64) *instance {
	in, ok := s.insts[id]
	if !ok || in.destroyed {
		return nil
	}
	return in
}

func (s *Sim) handleUser(r *http.Request, _ []byte, _ route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	key, _ := presentedKey(r)
	return jsonReply(200, map[string]any{
		"id": 4242, "key_id": 1717, "sid": "sim-session", "username": "sim", "fullname": "Simulated User",
		"email": "sim@example.invalid", "api_key": key, "credit": s.credit, "balance": 0.0,
		"balance_threshold": 5.0, "balance_threshold_enabled": false, "billed_expected": 0.0,
		"billed_verified": 0.0, "billing_creditonly": 0, "can_pay": true, "has_billing": true,
		"has_payout": false, "last4": nil, "paid_expected": 0.0, "paid_verified": 0.0,
		"ssh_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeSimulatorKey sim@example.invalid",
		"user":    "sim", "rights": nil, "got_signup_credit": true, "email_verified": true,
	})
}

func (s *Sim) handleShow(_ *http.Request, _ []byte, rt route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	in := s.live(rt.id)
	if in == nil {
		return jsonReply(200, map[string]any{"instances": nil})
	}
	return jsonReply(200, map[string]any{"instances": s.view(in, now)})
}

func noSuchInstance(id int64) reply {
	return apiErr(404, "no_such_instance", fmt.Sprintf("Instance %d not found.", id))
}

func (s *Sim) handleDestroy(_ *http.Request, _ []byte, rt route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	in := s.live(rt.id)
	if in == nil {
		return noSuchInstance(rt.id)
	}
	s.destroy(in, now)
	return jsonReply(200, map[string]any{"success": true})
}

func (s *Sim) handleManage(_ *http.Request, body []byte, rt route) reply {
	var b struct {
		State *string `json:"state"`
		Label *string `json:"label"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return apiErr(400, "invalid_args", "Invalid request body: "+err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	in := s.live(rt.id)
	if in == nil {
		return noSuchInstance(rt.id)
	}
	if b.Label != nil {
		if len(*b.Label) > 1024 {
			return apiErr(400, "label_too_long", "label must be at most 1024 characters")
		}
		in.label = vastapi.Some(*b.Label)
		if b.State == nil {
			return jsonReply(200, map[string]any{"success": true, "msg": fmt.Sprintf("Instance %d label changed to %s.", in.id, *b.Label)})
		}
	}
	if b.State == nil {
		return apiErr(400, "invalid_args", "nothing to change: give state or label")
	}
	switch *b.State {
	case "stopped":
		if in.ph != phStopped {
			s.stop(in, now, false)
		}
	case "running":
		if s.credit <= 0 {
			return apiErr(200, "missing_billing", "Insufficient credit: add credit to start instances.")
		}
		if in.outbid && in.dphBase < in.off.own.MinBid {
			return apiErr(200, "bid_too_low", fmt.Sprintf("Your bid of $%.4f/hr is below the current minimum of $%.4f/hr.", in.dphBase, in.off.own.MinBid))
		}
		if in.fail == FailOffline || in.fail == FailScheduling {
			in.intended = "running"
			break
		}
		if in.ph == phStopped || in.fail != "" {
			in.fail = ""
			s.boot(in, now)
		}
	default:
		return apiErr(400, "invalid_args", fmt.Sprintf("state must be running or stopped, not %q", *b.State))
	}
	return jsonReply(200, map[string]any{"success": true})
}

func (s *Sim) handleChangeBid(_ *http.Request, body []byte, rt route) reply {
	var b struct {
		ClientID string   `json:"client_id"`
		Price    *float64 `json:"price"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return apiErr(400, "invalid_args", "Invalid request body: "+err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	in := s.live(rt.id)
	if in == nil {
		return noSuchInstance(rt.id)
	}
	price := in.off.own.MinBid // no price: the winning bid
	if b.Price != nil {
		price = *b.Price
	}
	if price < 0.001 || price > 32*float64(max(1, in.off.own.NumGPUs)) {
		return apiErr(400, "invalid_price", "price must be between 0.001 and 32 $/hour per GPU")
	}
	in.isBid = true
	in.dphBase = price
	switch {
	case in.outbid && price >= in.off.own.MinBid:
		s.boot(in, now)
	case !in.outbid && in.intended == "running" && price < in.off.own.MinBid:
		s.stop(in, now, true)
	}
	return jsonReply(200, map[string]any{"success": true})
}

// handleListV0 is the deprecated unpaginated list.
func (s *Sim) handleListV0(_ *http.Request, _ []byte, _ route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	list := []wireInstance{}
	for _, in := range s.instList {
		if !in.destroyed {
			list = append(list, s.view(in, now))
		}
	}
	return jsonReply(200, map[string]any{"instances_found": len(list), "instances": list})
}

// handleBulk is the newer CLI's multi-instance form: DELETE /api/v0/instances/
// {"instance_ids":[…]} destroys, PUT /api/v0/instances/ {"ids":[…],"state":…} starts or stops.
// The reply shape is not documented; each id gets its own result.
func (s *Sim) handleBulk(r *http.Request, body []byte, _ route) reply {
	var b struct {
		InstanceIDs []int64 `json:"instance_ids"`
		IDs         []int64 `json:"ids"`
		State       string  `json:"state"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return apiErr(400, "invalid_args", "Invalid request body: "+err.Error())
	}
	ids := b.InstanceIDs
	if r.Method == http.MethodPut {
		ids = b.IDs
		if b.State != "running" && b.State != "stopped" {
			return apiErr(400, "invalid_args", "state must be running or stopped")
		}
	}
	if len(ids) == 0 {
		return apiErr(400, "invalid_args", "no instance ids given")
	}
	results := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		var rep reply
		if r.Method == http.MethodDelete {
			rep = s.handleDestroy(r, nil, route{id: id})
		} else {
			sb, _ := json.Marshal(map[string]string{"state": b.State})
			rep = s.handleManage(r, sb, route{id: id})
		}
		var m map[string]any
		_ = json.Unmarshal(rep.body, &m)
		m["id"] = id
		results = append(results, m)
	}
	return jsonReply(200, map[string]any{"success": true, "results": results})
}

// handleReboot restarts a running instance's container (reboot) or recreates it from its image
// (recycle): it loads again for the boot delay; GPU billing pauses meanwhile.
func (s *Sim) handleReboot(_ *http.Request, _ []byte, rt route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	in := s.live(rt.id)
	if in == nil {
		return noSuchInstance(rt.id)
	}
	if in.ph == phStopped || in.ph == phScheduling || in.fail == FailOffline {
		return apiErr(200, "invalid_state", fmt.Sprintf("Instance %d is not running.", in.id))
	}
	in.fail = ""
	in.setPhase(phLoading, now, now.Add(s.scaled(s.opts.BootDelay)))
	return jsonReply(200, map[string]any{"success": true})
}
