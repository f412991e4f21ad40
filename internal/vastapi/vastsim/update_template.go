package vastsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// updateTemplateBody is PUT /instances/update_template/{id}/: a template to apply (hash first),
// and fields that override it. env is the CLI's docker-options string or an object; args a
// list or a string. image_login is accepted and never kept.
type updateTemplateBody struct {
	TemplateID     int64           `json:"template_id"`
	TemplateHashID string          `json:"template_hash_id"`
	Image          *string         `json:"image"`
	Onstart        *string         `json:"onstart"`
	Env            json.RawMessage `json:"env"`
	Args           json.RawMessage `json:"args"`
	ImageLogin     *string         `json:"image_login"`
	Disk           *float64        `json:"disk"`
	Recycle        bool            `json:"recycle"`
}

// instanceUpdate is what an update changes, checked before anything is.
type instanceUpdate struct {
	image, onstart *string
	env            vastapi.EnvPairs
	envSet         bool
	args           []string
	templateHash   string
	disk           *float64
}

// handleUpdateTemplate changes an instance's image, onstart, env, args, template or disk. The
// container keeps running as it was; with recycle it is recreated from the instance's settings
// (it loads again for the boot delay, its ports mapped from its env), as a recycle would.
func (s *Sim) handleUpdateTemplate(_ *http.Request, body []byte, rt route) reply {
	var b updateTemplateBody
	if rep := readJSON(body, &b); rep != nil {
		return *rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	in := s.live(rt.id)
	if in == nil {
		return apiErr(404, "not_found", "Instance not found or you don't have permission to modify it")
	}
	u, rep := s.planUpdate(&b, in)
	if rep != nil {
		return *rep
	}
	if u.image != nil {
		in.image = *u.image
	}
	if u.onstart != nil {
		in.onstart = *u.onstart
	}
	if u.envSet {
		in.env = u.env
	}
	if u.args != nil {
		in.args = u.args
	}
	if u.templateHash != "" {
		in.templateHash = vastapi.Some(u.templateHash)
	}
	if u.disk != nil {
		in.disk = *u.disk // storage bills at the new size from now on
	}
	if !b.Recycle {
		return jsonReply(200, map[string]any{"success": true})
	}
	if in.ph == phStopped || in.ph == phScheduling || in.fail == FailOffline {
		return apiErr(200, "invalid_state", fmt.Sprintf("Instance %d is not running.", in.id))
	}
	if requested, err := requestedPorts(in.env); err == nil { // checked when the env was set
		in.ports = mapPorts(requested, in.portStart, in.off.value().DirectPortCount)
	}
	in.fail = ""
	in.setPhase(phLoading, now, now.Add(s.scaled(s.opts.BootDelay)))
	return jsonReply(200, map[string]any{"success": true})
}

// planUpdate resolves an update's template and fields. Callers hold s.mu.
func (s *Sim) planUpdate(b *updateTemplateBody, in *instance) (*instanceUpdate, *reply) {
	refuse := func(status int, code, msg string) (*instanceUpdate, *reply) {
		r := apiErr(status, code, msg)
		return nil, &r
	}
	u := &instanceUpdate{image: b.Image, onstart: b.Onstart}
	if b.TemplateHashID != "" || b.TemplateID != 0 {
		t := s.templateByRef(b.TemplateHashID, b.TemplateID)
		if t == nil {
			return refuse(404, "not_found", "Template not found.")
		}
		u.templateHash = t.HashID
		img := t.Image
		if t.Tag != nil && *t.Tag != "" && !strings.Contains(img[strings.LastIndex(img, "/")+1:], ":") {
			img += ":" + *t.Tag
		}
		if u.image == nil {
			u.image = &img
		}
		if u.onstart == nil {
			u.onstart = t.Onstart
		}
		if len(b.Env) == 0 && t.Env != nil {
			u.env, u.envSet = dockerEnv(*t.Env), true
		}
	}
	if len(b.Env) > 0 && string(b.Env) != "null" {
		var str string
		if json.Unmarshal(b.Env, &str) == nil {
			u.env = dockerEnv(str)
		} else if err := json.Unmarshal(b.Env, &u.env); err != nil {
			return refuse(400, "invalid_args", "env is neither docker options nor an object: "+err.Error())
		}
		u.envSet = true
	}
	if _, err := requestedPorts(u.env); err != nil {
		return refuse(400, "invalid_args", err.Error())
	}
	if len(b.Args) > 0 && string(b.Args) != "null" {
		var one string
		if json.Unmarshal(b.Args, &one) == nil {
			u.args = strings.Fields(one)
		} else if err := json.Unmarshal(b.Args, &u.args); err != nil {
			return refuse(400, "invalid_args", "args is neither a string nor a list of strings")
		}
	}
	if u.image != nil && (*u.image == "" || len(*u.image) > 1024) {
		return refuse(400, "invalid_args", "image must be 1 to 1024 characters")
	}
	if d := b.Disk; d != nil && (*d < 8 || *d > in.off.own.DiskSpace) {
		return refuse(400, "invalid_args", fmt.Sprintf("disk must be between 8 GB and the %.1f GB the machine offers", in.off.own.DiskSpace))
	}
	u.disk = b.Disk
	return u, nil
}

// dockerEnv reads the CLI's docker-options string ("-e K=V -p 8080:8080 …") into env pairs the
// way the CLI's parse_env does: -e K=V sets K, -p/-v/-n VALUE become the key "-p VALUE" set to
// "1", -h takes its value; anything else is skipped.
func dockerEnv(s string) vastapi.EnvPairs {
	env := vastapi.EnvPairs{}
	set := func(k, v string) {
		for i := range env {
			if env[i].Name == k {
				env[i].Value = v
				return
			}
		}
		env = append(env, vastapi.EnvPair{Name: k, Value: v})
	}
	prev := ""
	for _, tok := range shellFields(s) {
		switch {
		case prev == "" && (tok == "-e" || tok == "-p" || tok == "-h" || tok == "-v" || tok == "-n"):
			prev = tok
			continue
		case prev == "-e":
			if k, v, ok := strings.Cut(tok, "="); ok {
				set(k, strings.Trim(v, `'"`))
			}
		case prev == "-h":
			set(prev, tok)
		case prev != "":
			set(prev+" "+tok, "1")
		}
		prev = ""
	}
	return env
}

// shellFields splits s on spaces outside single or double quotes, keeping the quotes (as the
// CLI's smart_split does; dockerEnv trims them from values).
func shellFields(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == ' ' || r == '\t' || r == '\n':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// handleBalance answers show deposit: the simulator has no prepaid (reserved) instances, so a
// live instance's refundable deposit and discount are zero.
func (s *Sim) handleBalance(_ *http.Request, _ []byte, rt route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	if s.live(rt.id) == nil {
		return noSuchInstance(rt.id)
	}
	return jsonReply(200, map[string]any{"success": true, "refundable_deposit": 0.0, "total_discount": 0.0, "discount_months": 0.0})
}
