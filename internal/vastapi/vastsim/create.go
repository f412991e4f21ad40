package vastsim

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

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

// createReq is a create body that passed the checks that need no state, with its defaults.
type createReq struct {
	createBody
	env         vastapi.EnvPairs
	requested   []string // container ports to map, from the env's -p keys
	image       string
	hasTemplate bool
	disk        float64
	onstart     string
}

// parseCreate reads and checks a create body; a refused body gets its reply.
func parseCreate(body []byte) (*createReq, *reply) {
	refuse := func(status int, code, msg string) (*createReq, *reply) {
		r := apiErr(status, code, msg)
		return nil, &r
	}
	c := &createReq{disk: 8.0}
	b := &c.createBody
	if err := json.Unmarshal(body, b); err != nil {
		return refuse(400, "invalid_args", "Invalid request body: "+err.Error())
	}
	if len(b.Env) > 0 {
		if err := json.Unmarshal(b.Env, &c.env); err != nil {
			return refuse(400, "invalid_args", "env: "+err.Error())
		}
	}
	var err error
	if c.requested, err = requestedPorts(c.env); err != nil {
		return refuse(400, "invalid_args", err.Error())
	}
	if b.Image != nil {
		c.image = *b.Image
	}
	c.hasTemplate = b.TemplateHashID != nil && *b.TemplateHashID != "" || b.TemplateID != nil
	if c.image == "" && !c.hasTemplate {
		return refuse(400, "invalid_args", "image or template_hash_id is required")
	}
	if len(c.image) > 1024 {
		return refuse(400, "invalid_args", "image name too long")
	}
	if c.image == "" {
		c.image = "vastai/base-image:cuda-12.4.1-auto" // what the template would supply
	}
	if b.Disk != nil {
		c.disk = *b.Disk
	}
	if c.disk < 1 {
		return refuse(400, "invalid_args", "disk must be at least 1 GB")
	}
	if b.Label != nil && len(*b.Label) > 1024 {
		return refuse(400, "label_too_long", "label must be at most 1024 characters")
	}
	if b.Onstart != nil {
		c.onstart = *b.Onstart
	}
	if b.ArgsStr != nil && len(*b.ArgsStr)+len(c.onstart) > 4096 {
		return refuse(400, "invalid_args", "args_str and onstart exceed 4096 characters")
	}
	if b.Price != nil && (*b.Price < 0.001 || *b.Price > 128) {
		return refuse(400, "invalid_price", "price must be between 0.001 and 128 $/hour")
	}
	return c, nil
}

func (s *Sim) handleCreate(_ *http.Request, body []byte, rt route) reply {
	c, refused := parseCreate(body)
	if refused != nil {
		return *refused
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
	if c.disk > o.own.DiskSpace {
		return apiErr(400, "invalid_args", fmt.Sprintf("Requested disk %.1f GB exceeds the %.1f GB available on this offer.", c.disk, o.own.DiskSpace))
	}
	if s.credit <= 0 {
		return apiErr(402, "insufficient_credit", "Insufficient credit")
	}
	in := s.newInstance(c, o, now)
	s.insts[in.id] = in
	s.instList = append(s.instList, in)
	s.takeGPUs(in)
	s.attachAccountKeys(in)
	res := map[string]any{"success": true, "new_contract": in.id, "instance_api_key": in.apiKey}
	switch {
	case in.isBid && in.dphBase < o.own.MinBid:
		// docs/vast-api.md §3: a bid below the floor fails yet leaves a stopped instance.
		s.stop(in, now, true)
		res["success"] = false
		res["error"] = "bid_too_low"
		res["msg"] = fmt.Sprintf("Your bid of $%.4f/hr is below the current minimum of $%.4f/hr; the instance was created stopped.", in.dphBase, o.own.MinBid)
	case c.TargetState != nil && *c.TargetState == "stopped":
		s.stop(in, now, false)
	default:
		in.setPhase(phProvisioning, now, now.Add(s.scaled(s.opts.ProvisionDelay)))
		s.arm(in, now)
	}
	s.log.Info("instance created", "id", in.id, "offer", o.own.ID, "bid", in.isBid)
	return jsonReply(200, res)
}

// newInstance rents offer o for c. Its id, ports and secrets are drawn from the instance stream
// in this order, so a seed gives the same instances.
func (s *Sim) newInstance(c *createReq, o *offer, now time.Time) *instance {
	s.nextInst += 1 + int64(s.instRng.IntN(7))
	in := &instance{
		id: s.nextInst, off: o, gpus: o.gpus, created: now,
		image: c.image, onstart: c.onstart, args: c.Args, env: c.env, disk: c.disk,
		dphBase: o.own.DphBase, storageCost: o.tmpl.StorageCost,
		sshPort:      10000 + s.instRng.IntN(50000),
		portStart:    20000 + s.instRng.IntN(40000),
		jupyterToken: randHex(s, 32),
		apiKey:       randHex(s, 32),
		intended:     "running",
	}
	in.ports = mapPorts(c.requested, in.portStart, o.value().DirectPortCount)
	if c.Runtype != nil {
		in.runtype = *c.Runtype
	} else if !c.hasTemplate {
		in.runtype = "ssh"
	}
	if c.Label != nil {
		in.label = vastapi.Some(*c.Label)
	}
	if c.TemplateHashID != nil {
		in.templateHash = vastapi.Some(*c.TemplateHashID)
	}
	if in.args == nil {
		in.args = []string{}
	}
	if c.Price != nil {
		in.isBid = true
		in.dphBase = *c.Price
	}
	return in
}

func randHex(s *Sim, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.instRng.IntN(256))
	}
	return hex.EncodeToString(b)
}
