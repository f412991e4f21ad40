package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/vastwatch/vastwatch/internal/scaler"
)

// sdGroup is one target group of Prometheus HTTP service discovery.
type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// discoveryTargets lists, for every ready managed instance of a fleet with discovery ports (running,
// passing its readiness probe if the fleet has one, not draining), one target per port at the
// instance's public address and mapped host port. Instances whose port is not mapped (yet), or
// mapped to an address vastwatch may not use (scaler.HostAddr), are left out rather than guessed.
func discoveryTargets(v *scaler.View, ports map[string][]int, only string, allowPrivate bool) []sdGroup {
	out := []sdGroup{}
	if v == nil {
		return out
	}
	for _, iv := range v.Instances {
		m := iv.Managed
		if m == nil || m.Orphan || !m.Ready || (only != "" && m.Fleet != only) {
			continue
		}
		for _, port := range ports[m.Fleet] {
			addr := scaler.PublicAddr(m.Instance, port, allowPrivate)
			if addr == "" {
				continue
			}
			out = append(out, sdGroup{Targets: []string{addr}, Labels: map[string]string{
				"fleet":          m.Fleet,
				"instance_id":    strconv.FormatInt(m.Instance.ID, 10),
				"machine_id":     strconv.FormatInt(m.Instance.MachineID, 10),
				"gpu_name":       m.Instance.GPUName,
				"num_gpus":       strconv.Itoa(m.Instance.NumGPUs),
				"container_port": strconv.Itoa(port),
			}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Targets[0] < out[j].Targets[0] })
	return out
}

// serveSD is GET /sd[?fleet=NAME].
func (d *Daemon) serveSD(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	cfg := d.cfg.current()
	if !hasDiscovery(cfg) && wantsPage(r) {
		// A person opening /sd in a browser learns why it is empty; Prometheus, which asks
		// for JSON, still gets the empty list it expects.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "/sd lists nothing: no fleet has discovery.ports configured.\n"+
			"Give a fleet discovery: {ports: [9100]} to list its ready instances' ports here (docs/design.md §10).\n")
		return
	}
	ports := make(map[string][]int, len(cfg.Fleets))
	for _, f := range cfg.Fleets {
		ports[f.Name] = f.DiscoveryPorts
	}
	groups := discoveryTargets(d.last.load().view, ports, r.URL.Query().Get("fleet"), cfg.AllowPrivateAddresses)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(groups)
}

// wantsPage reports whether the request comes from a browser (it accepts HTML and does not ask
// for JSON), rather than from Prometheus' HTTP service discovery, which asks for JSON.
func wantsPage(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "text/html") && !strings.Contains(accept, "application/json")
}
