package vastsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveControl is the /_sim/ surface: the Go control API over HTTP for demos and other
// clients. It needs the configured key like the API does, and is not logged.
//
//	GET    /_sim/state                      credit, clock, counts
//	POST   /_sim/credit        {"credit":D}
//	POST   /_sim/advance       {"seconds":S} (only when the clock can Advance)
//	POST   /_sim/step                       one drift step now
//	POST   /_sim/instances/{id}/fail  {"status":"exited|unknown|offline|oci|stuck|scheduling"}
//	POST   /_sim/instances/{id}/host_port {"port":"8080/tcp","host_port":N}
//	POST   /_sim/offers/{id}/min_bid  {"value":D}
//	POST   /_sim/offers/{id}/price    {"dph_base":D}
//	POST   /_sim/offers/{id}/vanish
//	POST   /_sim/faults        Fault as JSON (delay in nanoseconds)
//	DELETE /_sim/faults
//	GET    /_sim/requests
func (s *Sim) serveControl(r *http.Request) reply {
	if rep, ok := s.authorize(r, route{}); !ok {
		return rep
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return reply{abort: true}
	}
	c := &controlCall{raw: body}
	if len(body) > 0 && r.Method != http.MethodGet {
		if err := json.Unmarshal(body, &c.body); err != nil && !strings.HasSuffix(r.URL.Path, "/faults") {
			return apiErr(400, "invalid_args", "control body: "+err.Error())
		}
	}
	p := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim/"), "/")
	if h, ok := controls[r.Method+" "+p]; ok {
		return h(s, c)
	}
	if seg := strings.Split(p, "/"); len(seg) >= 3 && r.Method == http.MethodPost {
		if c.id, err = strconv.ParseInt(seg[1], 10, 64); err != nil {
			return apiErr(400, "invalid_args", "bad id")
		}
		if h, ok := idControls[seg[0]+"/"+strings.Join(seg[2:], "/")]; ok {
			return h(s, c)
		}
	}
	return apiErr(404, "not_found", fmt.Sprintf("no control %s %s", r.Method, r.URL.Path))
}

// controlCall is one control request: its body, read as JSON and raw, and the {id} it names.
type controlCall struct {
	body struct {
		Credit   *float64 `json:"credit"`
		Seconds  float64  `json:"seconds"`
		Status   string   `json:"status"`
		Value    *float64 `json:"value"`
		DphBase  *float64 `json:"dph_base"`
		Port     string   `json:"port"`
		HostPort *int     `json:"host_port"`
	}
	raw []byte
	id  int64
}

// controls are the calls on the whole simulator, by method and path under /_sim/.
var controls = map[string]func(s *Sim, c *controlCall) reply{
	"GET state":     (*Sim).controlState,
	"POST credit":   (*Sim).controlCredit,
	"POST advance":  (*Sim).controlAdvance,
	"POST step":     func(s *Sim, _ *controlCall) reply { s.Step(); return controlDone(nil) },
	"POST faults":   (*Sim).controlFault,
	"DELETE faults": func(s *Sim, _ *controlCall) reply { s.ClearFaults(); return controlDone(nil) },
	"GET requests": func(s *Sim, _ *controlCall) reply {
		return jsonReply(200, map[string]any{"success": true, "requests": s.Requests()})
	},
}

// idControls are the calls on one instance or offer, POST /_sim/{instances|offers}/{id}/{action},
// by kind and action.
var idControls = map[string]func(s *Sim, c *controlCall) reply{
	"instances/fail": func(s *Sim, c *controlCall) reply { return controlDone(s.FailInstance(c.id, c.body.Status)) },
	"instances/host_port": func(s *Sim, c *controlCall) reply {
		if c.body.Port == "" || c.body.HostPort == nil {
			return apiErr(400, "invalid_args", `want {"port": "8080/tcp", "host_port": port}`)
		}
		return controlDone(s.SetHostPort(c.id, c.body.Port, *c.body.HostPort))
	},
	"offers/min_bid": func(s *Sim, c *controlCall) reply {
		if c.body.Value == nil {
			return apiErr(400, "invalid_args", `want {"value": dollars_per_hour}`)
		}
		return controlDone(s.SetMinBid(c.id, *c.body.Value))
	},
	"offers/price": func(s *Sim, c *controlCall) reply {
		if c.body.DphBase == nil {
			return apiErr(400, "invalid_args", `want {"dph_base": dollars_per_hour}`)
		}
		return controlDone(s.SetPrice(c.id, *c.body.DphBase))
	},
	"offers/vanish": func(s *Sim, c *controlCall) reply { return controlDone(s.VanishOffer(c.id)) },
}

// controlDone is the reply to a control call that returned err.
func controlDone(err error) reply {
	switch {
	case err == nil:
		return jsonReply(200, map[string]any{"success": true})
	case errors.Is(err, ErrNotFound):
		return apiErr(404, "not_found", err.Error())
	}
	return apiErr(400, "invalid_args", err.Error())
}

func (s *Sim) controlState(_ *controlCall) reply {
	s.mu.Lock()
	now := s.now()
	live := 0
	for _, in := range s.instList {
		if !in.destroyed {
			live++
		}
	}
	st := map[string]any{"success": true, "now": float64(now.UnixNano()) / 1e9, "credit": s.credit,
		"instances": live, "offers": len(s.offers), "speed": s.speed, "drift_steps": s.drift}
	s.mu.Unlock()
	return jsonReply(200, st)
}

func (s *Sim) controlCredit(c *controlCall) reply {
	if c.body.Credit == nil {
		return apiErr(400, "invalid_args", `want {"credit": dollars}`)
	}
	s.SetCredit(*c.body.Credit)
	return controlDone(nil)
}

func (s *Sim) controlAdvance(c *controlCall) reply {
	adv, can := s.clock.(interface{ Advance(time.Duration) })
	if !can {
		return apiErr(400, "invalid_args", "the simulator runs on a clock that cannot be advanced")
	}
	if c.body.Seconds < 0 {
		return apiErr(400, "invalid_args", "seconds must not be negative")
	}
	adv.Advance(time.Duration(c.body.Seconds * float64(time.Second)))
	return controlDone(nil)
}

func (s *Sim) controlFault(c *controlCall) reply {
	var f Fault
	if err := json.Unmarshal(c.raw, &f); err != nil || f.Kind == "" {
		return apiErr(400, "invalid_args", "want a fault {method, endpoint, kind, rate|next, delay}")
	}
	s.InjectFault(f)
	return controlDone(nil)
}
