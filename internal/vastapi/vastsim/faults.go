package vastsim

import (
	"fmt"
	"time"
)

// FaultKind is one kind of injected failure.
type FaultKind string

// The fault kinds of docs/vast-api.md §7.11.
const (
	Fault429Text     FaultKind = "429_text"      // 429, plain-text body, no Retry-After
	Fault429JSON     FaultKind = "429_json"      // 429, {"detail":"API requests too frequent endpoint threshold=…"}
	Fault500         FaultKind = "500"           // not retried by the official client
	Fault502         FaultKind = "502"           // text/html gateway page
	Fault503         FaultKind = "503"           // text/html
	Fault504         FaultKind = "504"           // text/html
	FaultReset       FaultKind = "reset"         // connection closed before any processing
	FaultSlow        FaultKind = "slow"          // Delay, then the normal reply
	FaultLostReply   FaultKind = "lost_reply"    // the request is applied, then the connection drops
	FaultSuccessFail FaultKind = "success_false" // 200 {"success":false,"error":"server_error",…}
)

// Fault describes an injected failure. It applies to requests whose method and endpoint template
// match (empty matches any): to the next Next of them when Next > 0, else to each with
// probability Rate, drawn from the simulator's seeded stream (reproducible for a seed and a
// request order). Delay adds latency before the outcome (on the clock when it can sleep, e.g. a
// fake clock, otherwise real time); a FaultSlow fault is only that delay.
type Fault struct {
	Method   string        `json:"method,omitempty"`
	Endpoint string        `json:"endpoint,omitempty"` // a vastapi.EP* template
	Kind     FaultKind     `json:"kind"`
	Rate     float64       `json:"rate,omitempty"`
	Next     int           `json:"next,omitempty"`
	Delay    time.Duration `json:"delay,omitempty"`
}

type faultState struct {
	Fault
	left int
}

// InjectFault adds a fault; faults are checked in the order added, first match wins.
func (s *Sim) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Kind == FaultSlow && f.Delay == 0 {
		f.Delay = 5 * time.Second
	}
	s.faults = append(s.faults, &faultState{Fault: f, left: f.Next})
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// drawFault returns the fault that hits this request, if any. Callers hold s.mu.
func (s *Sim) drawFault(method, endpoint string) *Fault {
	for i, f := range s.faults {
		if (f.Method != "" && f.Method != method) || (f.Endpoint != "" && f.Endpoint != endpoint) {
			continue
		}
		if f.Next > 0 {
			if f.left <= 0 {
				continue
			}
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			ff := f.Fault
			return &ff
		}
		if f.Rate > 0 && s.faultRng.Float64() < f.Rate {
			ff := f.Fault
			return &ff
		}
	}
	return nil
}

// before reports whether the fault replaces the request's processing.
func (k FaultKind) before() bool {
	switch k {
	case FaultSlow, FaultLostReply:
		return false
	}
	return true
}

func textReply(status int, ctype, body string) reply {
	return reply{status: status, ctype: ctype, body: []byte(body)}
}

func (k FaultKind) reply(f *Fault) reply {
	switch k {
	case Fault429Text:
		return textReply(429, "text/plain; charset=utf-8", "API requests too frequent: endpoint threshold=2.0")
	case Fault429JSON:
		return textReply(429, "application/json", `{"detail": "API requests too frequent endpoint threshold=2.0"}`)
	case Fault500:
		return textReply(500, "text/html; charset=utf-8", "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n")
	case Fault502:
		return textReply(502, "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
	case Fault503:
		return textReply(503, "text/html", "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
	case Fault504:
		return textReply(504, "text/html", "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
	case FaultReset:
		return reply{abort: true}
	case FaultSuccessFail:
		return apiErr(200, "server_error", "Something went wrong, please try again later.")
	}
	return apiErr(500, "server_error", fmt.Sprintf("unknown injected fault %q", string(k)))
}
