package vastsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// bootTime is how long a new instance takes to run with the default delays.
const bootTime = 65 * time.Second

// portOffer is a one-GPU offer on its own machine listing count direct ports.
func portOffer(id int64, count int) vastapi.Offer {
	return vastapi.Offer{
		ID: id, AskContractID: id, MachineID: id * 10, HostID: 7, NumGPUs: 1, GPUName: "RTX 4090",
		GPUIDs: []int64{id * 100}, DiskSpace: 200, DphBase: 0.4, StorageCost: 0.1, Rentable: true,
		DirectPortCount: count, PublicIPAddr: "203.0.113.9",
	}
}

// createWithEnv rents offerID on demand with the given create env and returns the reply. The
// env object lists its keys in reverse order, so no mapping can owe its order to the request's.
func (h *harness) createWithEnv(offerID int64, env map[string]string) resp {
	h.t.Helper()
	keys := slices.Sorted(maps.Keys(env))
	slices.Reverse(keys)
	obj := []byte("{")
	for i, k := range keys {
		if i > 0 {
			obj = append(obj, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(env[k])
		obj = append(append(append(obj, kb...), ':'), vb...)
	}
	obj = append(obj, '}')
	body := map[string]any{"client_id": "me", "image": "pytorch/pytorch", "disk": 10, "runtype": "ssh",
		"env": json.RawMessage(obj)}
	return h.do("PUT", "/api/v0/asks/"+itoa(offerID)+"/", body)
}

func (h *harness) mustCreateWithEnv(offerID int64, env map[string]string) int64 {
	h.t.Helper()
	r := h.createWithEnv(offerID, env)
	m := r.json(h.t)
	if r.status != 200 || m["success"] != true {
		h.t.Fatalf("create on offer %d with env %v: %d %s", offerID, env, r.status, r.body)
	}
	return int64(m["new_contract"].(float64))
}

// shownPorts reads an instance through the API and returns its ports as container port → host
// port, checking that every entry has the two bindings the real API lists. nil: no ports.
func (h *harness) shownPorts(id int64) map[string]int {
	h.t.Helper()
	r := h.do("GET", "/api/v0/instances/"+itoa(id)+"/?owner=me", nil)
	var out struct {
		Instances *vastapi.Instance `json:"instances"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || out.Instances == nil {
		h.t.Fatalf("show %d: %d %s (%v)", id, r.status, r.body, err)
	}
	if out.Instances.Ports == nil {
		return nil
	}
	got := map[string]int{}
	for c, b := range out.Instances.Ports {
		if len(b) != 2 || b[0].HostIP != "0.0.0.0" || b[1].HostIP != "::" || b[0].HostPort != b[1].HostPort {
			h.t.Fatalf("%s bindings %+v, want 0.0.0.0 and :: on one host port", c, b)
		}
		p, err := strconv.Atoi(b[0].HostPort)
		if err != nil {
			h.t.Fatalf("%s host port %q: %v", c, b[0].HostPort, err)
		}
		got[c] = p
	}
	return got
}

func TestPortsAppearOnlyWhileRunning(t *testing.T) {
	h := newHarness(t, Options{Catalogue: []vastapi.Offer{portOffer(1, 50)}, DriftInterval: -1})
	id := h.mustCreateWithEnv(1, map[string]string{"-p 8000:8000": "1"})
	steps := []struct {
		name  string
		at    time.Duration
		act   func()
		ports bool
	}{
		{"provisioning shows no ports", 0, nil, false},
		{"loading shows no ports", 30 * time.Second, nil, false},
		{"running shows ssh and the requested port", bootTime, nil, true},
		{"stopped shows no ports", bootTime + time.Minute, func() {
			if r := h.do("PUT", "/api/v0/instances/"+itoa(id)+"/", map[string]any{"state": "stopped"}); r.status != 200 {
				t.Fatalf("stop: %d %s", r.status, r.body)
			}
		}, false},
		{"restarted and loading again shows no ports", bootTime + 2*time.Minute, func() {
			if r := h.do("PUT", "/api/v0/instances/"+itoa(id)+"/", map[string]any{"state": "running"}); r.status != 200 {
				t.Fatalf("start: %d %s", r.status, r.body)
			}
		}, false},
		{"running again shows the same mapping", bootTime + 4*time.Minute, nil, true},
	}
	var first map[string]int
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			h.clk.Set(t0.Add(st.at))
			if st.act != nil {
				st.act()
			}
			got := h.shownPorts(id)
			if !st.ports {
				if got != nil {
					t.Fatalf("ports %v, want none", got)
				}
				return
			}
			if len(got) != 2 || got["22/tcp"] == 0 || got["8000/tcp"] != got["22/tcp"]+1 {
				t.Fatalf("ports %v, want 22/tcp and 8000/tcp on the next port", got)
			}
			if first == nil {
				first = got
			} else if fmt.Sprint(got) != fmt.Sprint(first) {
				t.Fatalf("ports %v after a restart, want the first mapping %v", got, first)
			}
		})
	}
}

func TestPortsFollowTheCreateEnvInKeyOrder(t *testing.T) {
	many := map[string]string{}
	wantMany := map[string]int{"22/tcp": 0}
	var manyKeys []string
	for p := 30000; p < 30105; p++ {
		k := fmt.Sprintf("-p %d:%d", p, p)
		many[k] = "1"
		manyKeys = append(manyKeys, k)
	}
	slices.Sort(manyKeys)
	for i, k := range manyKeys[:maxDirectPorts-1] {
		wantMany[k[len(k)-5:]+"/tcp"] = i + 1
	}
	tests := []struct {
		name  string
		count int // the machine's direct_port_count
		env   map[string]string
		want  map[string]int // container port → host port offset from 22/tcp's
	}{
		{"no -p key maps only ssh", 50, map[string]string{"TZ": "UTC"}, map[string]int{"22/tcp": 0}},
		{"one -p key takes the next direct port", 50, map[string]string{"-p 8000:8000": "1", "TZ": "UTC"},
			map[string]int{"22/tcp": 0, "8000/tcp": 1}},
		{"keys take ports in the order they sort", 50,
			map[string]string{"-p 9000:9000": "1", "-p 8000:8000": "1", "-p 10000:10000": "1"},
			map[string]int{"22/tcp": 0, "10000/tcp": 1, "8000/tcp": 2, "9000/tcp": 3}},
		{"the host part is checked but not honoured", 50, map[string]string{"-p 18000:8000": "1"},
			map[string]int{"22/tcp": 0, "8000/tcp": 1}},
		{"udp keys keep their protocol", 50, map[string]string{"-p 5353:5353/udp": "1", "-p 5353:5353": "1"},
			map[string]int{"22/tcp": 0, "5353/tcp": 1, "5353/udp": 2}},
		{"an explicit tcp is the default protocol and maps once", 50,
			map[string]string{"-p 8000:8000/tcp": "1", "-p 8000:8000": "1", "-p 9000:8000": "1"},
			map[string]int{"22/tcp": 0, "8000/tcp": 1}},
		{"asking for ssh again keeps its port", 50, map[string]string{"-p 22:22": "1", "-p 8000:8000": "1"},
			map[string]int{"22/tcp": 0, "8000/tcp": 1}},
		{"too few direct ports leave the last keys unmapped", 3,
			map[string]string{"-p 7000:7000": "1", "-p 8000:8000": "1", "-p 9000:9000": "1"},
			map[string]int{"22/tcp": 0, "7000/tcp": 1, "8000/tcp": 2}},
		{"one direct port maps only ssh", 1, map[string]string{"-p 8000:8000": "1"}, map[string]int{"22/tcp": 0}},
		{"no direct ports map only ssh", 0, map[string]string{"-p 8000:8000": "1"}, map[string]int{"22/tcp": 0}},
		{"an instance's range stops at 100 ports however many the machine lists", 500, many, wantMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Catalogue: []vastapi.Offer{portOffer(1, tt.count)}, DriftInterval: -1})
			id := h.mustCreateWithEnv(1, tt.env)
			h.clk.Set(t0.Add(bootTime))
			got := h.shownPorts(id)
			base := got["22/tcp"]
			if base == 0 {
				t.Fatalf("no 22/tcp in %v", got)
			}
			rel := map[string]int{}
			for c, p := range got {
				rel[c] = p - base
			}
			if fmt.Sprint(rel) != fmt.Sprint(tt.want) {
				t.Fatalf("ports (offsets from 22/tcp) %v, want %v", rel, tt.want)
			}
			in := h.show(id)
			if tt.count > 1 {
				start, end := int(in["direct_port_start"].(float64)), int(in["direct_port_end"].(float64))
				if start != base {
					t.Fatalf("22/tcp on %d, want direct_port_start %d", base, start)
				}
				for c, p := range got {
					if p < start || p > end || p-start >= tt.count {
						t.Fatalf("%s on %d, outside the direct range %d-%d of %d ports", c, p, start, end, tt.count)
					}
				}
			}
		})
	}
}

func TestMalformedPortKeyRejectsCreate(t *testing.T) {
	for _, key := range []string{
		"-p", "-p 8000", "-p8000:8000", "-p :8000", "-p 8000:", "-p 0:8000", "-p 8000:0",
		"-p 65536:8000", "-p 8000:65536", "-p 8000:8000/sctp", "-p 8000:8000/", "-p a:b",
		"-p +80:80", "-p -1:80", "-p 80:80:80", "-p 127.0.0.1:80:80", "-p 8000:8000/tcp/udp",
	} {
		t.Run(fmt.Sprintf("%q is 400 invalid_args and rents nothing", key), func(t *testing.T) {
			h := newHarness(t, Options{Catalogue: []vastapi.Offer{portOffer(1, 50)}, DriftInterval: -1})
			r := h.createWithEnv(1, map[string]string{"TZ": "UTC", "-p 9000:9000": "1", key: "1"})
			m := r.json(t)
			if r.status != 400 || m["success"] != false || m["error"] != "invalid_args" {
				t.Fatalf("create: %d %s, want 400 invalid_args", r.status, r.body)
			}
			if msg, _ := m["msg"].(string); msg == "" {
				t.Fatal("no msg in the error")
			}
			if n := len(h.sim.Instances()); n != 0 {
				t.Fatalf("%d instances after a rejected create", n)
			}
			if !h.offer(1).Rentable {
				t.Fatal("the offer was taken by a rejected create")
			}
			h.clk.Set(t0.Add(time.Hour))
			if c := h.sim.Credit(); c != 100 {
				t.Fatalf("credit %v an hour after a rejected create, want 100", c)
			}
		})
	}
}

func TestPublicIPAddrOverride(t *testing.T) {
	tests := []struct {
		name   string
		option string
		at     time.Duration
		want   string
	}{
		{"without the option a running instance shows its machine's address", "", bootTime, "203.0.113.9"},
		{"with the option a running instance shows it", "127.0.0.1", bootTime, "127.0.0.1"},
		{"with the option a loading instance still shows none", "127.0.0.1", 30 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Catalogue: []vastapi.Offer{portOffer(1, 50), portOffer(2, 50)},
				DriftInterval: -1, PublicIPAddr: tt.option})
			a := h.mustCreateWithEnv(1, nil)
			b := h.mustCreateWithEnv(2, nil)
			h.clk.Set(t0.Add(tt.at))
			for _, id := range []int64{a, b} {
				if got := h.show(id)["public_ipaddr"]; got != tt.want {
					t.Fatalf("instance %d public_ipaddr %q, want %q", id, got, tt.want)
				}
			}
			for _, in := range h.sim.Instances() {
				if in.PublicIPAddr != tt.want {
					t.Fatalf("Instances() shows %d on %q, want %q", in.ID, in.PublicIPAddr, tt.want)
				}
			}
		})
	}
}

func TestSetHostPort(t *testing.T) {
	tests := []struct {
		name     string
		port     string
		hostPort int
		target   string // live | unknown | destroyed
		wantErr  error  // nil: success; errBadPort or ErrNotFound
		want     map[string]int
	}{
		{"overrides a port the create asked for", "8000/tcp", 18080, "live", nil,
			map[string]int{"22/tcp": -1, "8000/tcp": 18080}},
		{"adds a port the create did not ask for", "9090/tcp", 19090, "live", nil,
			map[string]int{"22/tcp": -1, "8000/tcp": -1, "9090/tcp": 19090}},
		{"maps a udp port apart from tcp", "8000/udp", 18081, "live", nil,
			map[string]int{"22/tcp": -1, "8000/tcp": -1, "8000/udp": 18081}},
		{"can move ssh", "22/tcp", 2222, "live", nil, map[string]int{"22/tcp": 2222, "8000/tcp": -1}},
		{"a port without protocol is refused", "8000", 18080, "live", errBadPort, nil},
		{"an unknown protocol is refused", "8000/sctp", 18080, "live", errBadPort, nil},
		{"container port 0 is refused", "0/tcp", 18080, "live", errBadPort, nil},
		{"host port 0 is refused", "8000/tcp", 0, "live", errBadPort, nil},
		{"a host port past 65535 is refused", "8000/tcp", 65536, "live", errBadPort, nil},
		{"an unknown instance is not found", "8000/tcp", 18080, "unknown", ErrNotFound, nil},
		{"a destroyed instance is not found", "8000/tcp", 18080, "destroyed", ErrNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Catalogue: []vastapi.Offer{portOffer(1, 50)}, DriftInterval: -1})
			id := h.mustCreateWithEnv(1, map[string]string{"-p 8000:8000": "1"})
			h.clk.Set(t0.Add(bootTime))
			before := h.shownPorts(id)
			target := id
			switch tt.target {
			case "unknown":
				target = id + 1_000_000
			case "destroyed":
				if r := h.do("DELETE", "/api/v0/instances/"+itoa(id)+"/", `{}`); r.status != 200 {
					t.Fatalf("destroy: %d %s", r.status, r.body)
				}
			}
			err := h.sim.SetHostPort(target, tt.port, tt.hostPort)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SetHostPort: %v, want %v", err, tt.wantErr)
				}
				if tt.target == "live" {
					if got := h.shownPorts(id); fmt.Sprint(got) != fmt.Sprint(before) {
						t.Fatalf("a refused SetHostPort changed the ports from %v to %v", before, got)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("SetHostPort: %v", err)
			}
			got := h.shownPorts(id)
			want := map[string]int{}
			for c, p := range tt.want {
				if p < 0 {
					p = before[c] // unchanged
				}
				want[c] = p
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("ports %v, want %v", got, want)
			}
		})
	}
}

func TestSetHostPortBeforeRunningShowsOnceRunning(t *testing.T) {
	h := newHarness(t, Options{Catalogue: []vastapi.Offer{portOffer(1, 50)}, DriftInterval: -1})
	id := h.mustCreateWithEnv(1, nil)
	if err := h.sim.SetHostPort(id, "8080/tcp", 18080); err != nil {
		t.Fatal(err)
	}
	if got := h.shownPorts(id); got != nil {
		t.Fatalf("ports %v while provisioning, want none", got)
	}
	h.clk.Set(t0.Add(bootTime))
	if got := h.shownPorts(id); got["8080/tcp"] != 18080 {
		t.Fatalf("ports %v once running, want 8080/tcp on 18080", got)
	}
}

func TestSetHostPortOverHTTP(t *testing.T) {
	h := newHarness(t, Options{Catalogue: []vastapi.Offer{portOffer(1, 50)}, DriftInterval: -1})
	id := h.mustCreateWithEnv(1, nil)
	h.clk.Set(t0.Add(bootTime))
	tests := []struct {
		name   string
		path   string
		body   any
		status int
	}{
		{"a port and host port map it", "/_sim/instances/" + itoa(id) + "/host_port",
			map[string]any{"port": "8080/tcp", "host_port": 18080}, 200},
		{"a missing host port is 400", "/_sim/instances/" + itoa(id) + "/host_port",
			map[string]any{"port": "8080/tcp"}, 400},
		{"a bad port is 400", "/_sim/instances/" + itoa(id) + "/host_port",
			map[string]any{"port": "8080/sctp", "host_port": 18081}, 400},
		{"an unknown instance is 404", "/_sim/instances/999/host_port",
			map[string]any{"port": "8080/tcp", "host_port": 18082}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := h.do("POST", tt.path, tt.body); r.status != tt.status {
				t.Fatalf("POST %s: %d %s, want %d", tt.path, r.status, r.body, tt.status)
			}
		})
	}
	if got := h.shownPorts(id); got["8080/tcp"] != 18080 {
		t.Fatalf("ports %v, want 8080/tcp on 18080 and no later refused change", got)
	}
}

// TestMappedPortReachableOnLoopback is what readiness probes and discovery do: read an
// instance through the real client and dial public_ipaddr:HostPort of a container port.
func TestMappedPortReachableOnLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ready")
	}))
	defer srv.Close()
	_, portStr, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portStr)

	h := newHarness(t, Options{Catalogue: []vastapi.Offer{portOffer(1, 50)}, DriftInterval: -1, PublicIPAddr: "127.0.0.1"})
	c, err := vastapi.New(vastapi.Config{BaseURL: "http://sim.invalid", Key: vastapi.NewSecret(testKey),
		HTTPClient: &http.Client{Transport: h.sim.Transport()}, Clock: h.clk, Pacing: map[string]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.CreateInstance(ctx, 1, vastapi.CreateRequest{Image: "vllm/vllm-openai", DiskGB: 20,
		Env: map[string]string{"-p 8000:8000": "1"}, Runtype: "ssh"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sim.SetHostPort(res.InstanceID, "8000/tcp", port); err != nil {
		t.Fatal(err)
	}
	h.clk.Set(t0.Add(bootTime))
	in, err := c.ShowInstance(ctx, res.InstanceID)
	if err != nil || in == nil {
		t.Fatalf("show: %v %v", in, err)
	}
	b := in.Ports["8000/tcp"]
	if len(b) == 0 {
		t.Fatalf("no 8000/tcp in %v", in.Ports)
	}
	url := "http://" + net.JoinHostPort(in.PublicIPAddr, b[0].HostPort) + "/health"
	hc := &http.Client{Timeout: 5 * time.Second}
	rsp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer rsp.Body.Close()
	body, _ := io.ReadAll(rsp.Body)
	if rsp.StatusCode != 200 || string(body) != "ready" {
		t.Fatalf("GET %s: %d %q, want the loopback server's reply", url, rsp.StatusCode, body)
	}
}
