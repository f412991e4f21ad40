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
	var in struct {
		Credit   *float64 `json:"credit"`
		Seconds  float64  `json:"seconds"`
		Status   string   `json:"status"`
		Value    *float64 `json:"value"`
		DphBase  *float64 `json:"dph_base"`
		Port     string   `json:"port"`
		HostPort *int     `json:"host_port"`
	}
	if len(body) > 0 && r.Method != http.MethodGet {
		if err := json.Unmarshal(body, &in); err != nil && !strings.HasSuffix(r.URL.Path, "/faults") {
			return apiErr(400, "invalid_args", "control body: "+err.Error())
		}
	}
	ok := jsonReply(200, map[string]any{"success": true})
	fail := func(err error) reply {
		if errors.Is(err, ErrNotFound) {
			return apiErr(404, "not_found", err.Error())
		}
		return apiErr(400, "invalid_args", err.Error())
	}
	p := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim/"), "/")
	seg := strings.Split(p, "/")
	switch {
	case p == "state" && r.Method == http.MethodGet:
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
	case p == "credit" && r.Method == http.MethodPost:
		if in.Credit == nil {
			return apiErr(400, "invalid_args", `want {"credit": dollars}`)
		}
		s.SetCredit(*in.Credit)
		return ok
	case p == "advance" && r.Method == http.MethodPost:
		adv, can := s.clock.(interface{ Advance(time.Duration) })
		if !can {
			return apiErr(400, "invalid_args", "the simulator runs on a clock that cannot be advanced")
		}
		if in.Seconds < 0 {
			return apiErr(400, "invalid_args", "seconds must not be negative")
		}
		adv.Advance(time.Duration(in.Seconds * float64(time.Second)))
		return ok
	case p == "step" && r.Method == http.MethodPost:
		s.Step()
		return ok
	case p == "faults" && r.Method == http.MethodPost:
		var f Fault
		if err := json.Unmarshal(body, &f); err != nil || f.Kind == "" {
			return apiErr(400, "invalid_args", "want a fault {method, endpoint, kind, rate|next, delay}")
		}
		s.InjectFault(f)
		return ok
	case p == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		return ok
	case p == "requests" && r.Method == http.MethodGet:
		return jsonReply(200, map[string]any{"success": true, "requests": s.Requests()})
	case len(seg) >= 3 && r.Method == http.MethodPost:
		id, err := strconv.ParseInt(seg[1], 10, 64)
		if err != nil {
			return apiErr(400, "invalid_args", "bad id")
		}
		switch seg[0] + "/" + strings.Join(seg[2:], "/") {
		case "instances/fail":
			if err := s.FailInstance(id, in.Status); err != nil {
				return fail(err)
			}
			return ok
		case "instances/host_port":
			if in.Port == "" || in.HostPort == nil {
				return apiErr(400, "invalid_args", `want {"port": "8080/tcp", "host_port": port}`)
			}
			if err := s.SetHostPort(id, in.Port, *in.HostPort); err != nil {
				return fail(err)
			}
			return ok
		case "offers/min_bid":
			if in.Value == nil {
				return apiErr(400, "invalid_args", `want {"value": dollars_per_hour}`)
			}
			if err := s.SetMinBid(id, *in.Value); err != nil {
				return fail(err)
			}
			return ok
		case "offers/price":
			if in.DphBase == nil {
				return apiErr(400, "invalid_args", `want {"dph_base": dollars_per_hour}`)
			}
			if err := s.SetPrice(id, *in.DphBase); err != nil {
				return fail(err)
			}
			return ok
		case "offers/vanish":
			if err := s.VanishOffer(id); err != nil {
				return fail(err)
			}
			return ok
		}
	}
	return apiErr(404, "not_found", fmt.Sprintf("no control %s %s", r.Method, r.URL.Path))
}
