package vastsim

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
		w.Ports = make(map[string][]vastapi.PortBinding, len(in.ports))
		for c, p := range in.ports {
			host := strconv.Itoa(p)
			w.Ports[c] = []vastapi.PortBinding{{HostIP: "0.0.0.0", HostPort: host}, {HostIP: "::", HostPort: host}}
		}
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

// createBody is the create request; pointers tell absent/null from zero.
type createBody struct {
	ClientID       string          `json:"client_id"`
	Image          *string         `json:"image"`
	Disk           *float64        `json:"disk"`
	Label          *string         `json:"label"`
	Onstart        *string         `json:"onstart"`
	Env            json.RawMessage `json:"env"`
	Price          *float64        `json:"price"`
	Args           []string        `json:"args"`
	ArgsStr        *string         `json:"args_str"`
	Runtype        *string         `json:"runtype"`
	TemplateHashID *string         `json:"template_hash_id"`
	TemplateID     *int64          `json:"template_id"`
	ImageLogin     *string         `json:"image_login"`
	CancelUnavail  *bool           `json:"cancel_unavail"`
	TargetState    *string         `json:"target_state"`
	Extra          any             `json:"extra"`
	VolumeInfo     map[string]any  `json:"volume_info"`
	Vm             *bool           `json:"vm"`
	User           *string         `json:"user"`
	Force          *bool           `json:"force"`
	JupyterDir     *string         `json:"jupyter_dir"`
	UseJupyterLab  *bool           `json:"use_jupyter_lab"`
	PythonUTF8     *bool           `json:"python_utf8"`
	LangUTF8       *bool           `json:"lang_utf8"`
}

func (s *Sim) handleCreate(_ *http.Request, body []byte, rt route) reply {
	var b createBody
	if err := json.Unmarshal(body, &b); err != nil {
		return apiErr(400, "invalid_args", "Invalid request body: "+err.Error())
	}
	var env vastapi.EnvPairs
	if len(b.Env) > 0 {
		if err := json.Unmarshal(b.Env, &env); err != nil {
			return apiErr(400, "invalid_args", "env: "+err.Error())
		}
	}
	requested, err := requestedPorts(env)
	if err != nil {
		return apiErr(400, "invalid_args", err.Error())
	}
	image := ""
	if b.Image != nil {
		image = *b.Image
	}
	hasTemplate := b.TemplateHashID != nil && *b.TemplateHashID != "" || b.TemplateID != nil
	if image == "" && !hasTemplate {
		return apiErr(400, "invalid_args", "image or template_hash_id is required")
	}
	if len(image) > 1024 {
		return apiErr(400, "invalid_args", "image name too long")
	}
	if image == "" {
		image = "vastai/base-image:cuda-12.4.1-auto" // what the template would supply
	}
	disk := 8.0
	if b.Disk != nil {
		disk = *b.Disk
	}
	if disk < 1 {
		return apiErr(400, "invalid_args", "disk must be at least 1 GB")
	}
	if b.Label != nil && len(*b.Label) > 1024 {
		return apiErr(400, "label_too_long", "label must be at most 1024 characters")
	}
	onstart := ""
	if b.Onstart != nil {
		onstart = *b.Onstart
	}
	if b.ArgsStr != nil && len(*b.ArgsStr)+len(onstart) > 4096 {
		return apiErr(400, "invalid_args", "args_str and onstart exceed 4096 characters")
	}
	if b.Price != nil && (*b.Price < 0.001 || *b.Price > 128) {
		return apiErr(400, "invalid_price", "price must be between 0.001 and 128 $/hour")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	o, ok := s.offerBy[rt.id]
	if !ok || !o.own.Rentable {
		return jsonReply(404, map[string]any{
			"success": false, "error": "invalid_args", "ask_id": rt.id,
			"msg": fmt.Sprintf("error 404/3603: no_such_ask Instance type by id %d is not available.", rt.id),
		})
	}
	if disk > o.own.DiskSpace {
		return apiErr(400, "invalid_args", fmt.Sprintf("Requested disk %.1f GB exceeds the %.1f GB available on this offer.", disk, o.own.DiskSpace))
	}
	if s.credit <= 0 {
		return apiErr(402, "insufficient_credit", "Insufficient credit")
	}
	s.nextInst += 1 + int64(s.instRng.IntN(7))
	in := &instance{
		id: s.nextInst, off: o, gpus: o.gpus, created: now,
		image: image, onstart: onstart, args: b.Args, env: env, disk: disk,
		dphBase: o.own.DphBase, storageCost: o.tmpl.StorageCost,
		sshPort:      10000 + s.instRng.IntN(50000),
		portStart:    20000 + s.instRng.IntN(40000),
		jupyterToken: randHex(s, 32),
		apiKey:       randHex(s, 32),
		intended:     "running",
	}
	in.ports = mapPorts(requested, in.portStart, o.value().DirectPortCount)
	if b.Runtype != nil {
		in.runtype = *b.Runtype
	} else if !hasTemplate {
		in.runtype = "ssh"
	}
	if b.Label != nil {
		in.label = vastapi.Some(*b.Label)
	}
	if b.TemplateHashID != nil {
		in.templateHash = vastapi.Some(*b.TemplateHashID)
	}
	if in.args == nil {
		in.args = []string{}
	}
	if b.Price != nil {
		in.isBid = true
		in.dphBase = *b.Price
	}
	s.insts[in.id] = in
	s.instList = append(s.instList, in)
	s.takeGPUs(in)
	res := map[string]any{"success": true, "new_contract": in.id, "instance_api_key": in.apiKey}
	switch {
	case in.isBid && in.dphBase < o.own.MinBid:
		// vast-api.md §3: a bid below the floor fails yet leaves a stopped instance.
		s.stop(in, now, true)
		res["success"] = false
		res["error"] = "bid_too_low"
		res["msg"] = fmt.Sprintf("Your bid of $%.4f/hr is below the current minimum of $%.4f/hr; the instance was created stopped.", in.dphBase, o.own.MinBid)
	case b.TargetState != nil && *b.TargetState == "stopped":
		s.stop(in, now, false)
	default:
		in.setPhase(phProvisioning, now, now.Add(s.scaled(s.opts.ProvisionDelay)))
	}
	s.log.Info("instance created", "id", in.id, "offer", o.own.ID, "bid", in.isBid)
	return jsonReply(200, res)
}

func randHex(s *Sim, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.instRng.IntN(256))
	}
	return hex.EncodeToString(b)
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

// maxChargesLimit is the most rows one charges page returns (vast-api.md §5: limit ≤ 500).
const maxChargesLimit = 500

// handleCharges lists what each instance was charged, gpu and disk items as billed (bandwidth is
// not simulated), newest first with latest_first=true, a page of limit rows (default 100, at
// most 500) at a time, the next page named by next_token.
func (s *Sim) handleCharges(r *http.Request, _ []byte, _ route) reply {
	var f map[string]map[string]json.RawMessage
	qv := r.URL.Query()
	raw := qv.Get("select_filters")
	if raw == "" || json.Unmarshal([]byte(raw), &f) != nil || f["day"] == nil {
		return apiErr(400, "invalid_request", "select_filters with a day range is required")
	}
	num := func(k string) (float64, bool) {
		var v float64
		b, ok := f["day"][k]
		return v, ok && json.Unmarshal(b, &v) == nil
	}
	from, ok1 := num("gte")
	to, ok2 := num("lte")
	if !ok1 || !ok2 {
		return apiErr(400, "invalid_request", "day needs gte and lte")
	}
	limit := 100
	if l := qv.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return apiErr(400, "invalid_request", "limit must be a positive integer")
		}
		limit = min(n, maxChargesLimit)
	}
	offset := 0
	if t := qv.Get("after_token"); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "c"))
		if err != nil || n < 0 || !strings.HasPrefix(t, "c") {
			return apiErr(400, "invalid_request", "after_token is not a token this server issued")
		}
		offset = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	results := []map[string]any{}
	total := 0.0
	for _, in := range s.instList {
		end := now
		if in.destroyed {
			end = in.destroyedAt
		}
		if float64(end.Unix()) < from || float64(in.created.Unix()) > to {
			continue
		}
		amount := in.gpuCost + in.diskCost
		total += amount
		hours := end.Sub(in.created).Hours() * s.speed
		results = append(results, map[string]any{
			"start": float64(in.created.Unix()), "end": float64(end.Unix()), "type": "instance",
			"source": fmt.Sprintf("instance-%d", in.id), "description": fmt.Sprintf("Instance %d", in.id),
			"amount": amount, "metadata": map[string]any{"label": in.label, "template_id": nil},
			"items": []map[string]any{
				{"type": "gpu", "amount": in.gpuCost, "description": fmt.Sprintf("%.3f hours at $%.3f/hour", in.gpuSecs/3600, in.dphBase)},
				{"type": "disk", "amount": in.diskCost, "description": fmt.Sprintf("%.3f hours at $%.3f/hour", hours, in.storagePerHour())},
			},
		})
	}
	if qv.Get("latest_first") == "true" {
		slices.Reverse(results) // instList is in creation order
	}
	count := len(results)
	results = results[min(offset, len(results)):]
	var next any
	if len(results) > limit {
		results = results[:limit]
		next = fmt.Sprintf("c%d", offset+limit)
	}
	return jsonReply(200, map[string]any{"success": true, "count": count, "total": total, "next_token": next, "results": results})
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
