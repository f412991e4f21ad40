package vastapi_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

func TestInstanceSSHEndpoint(t *testing.T) {
	ports := func(host string) map[string][]vastapi.PortBinding {
		return map[string][]vastapi.PortBinding{"22/tcp": {{HostIP: "0.0.0.0", HostPort: host}, {HostIP: "::", HostPort: host}}}
	}
	cases := []struct {
		name string
		in   vastapi.Instance
		want vastapi.SSHEndpoint
		ok   bool
	}{
		{"direct while running", vastapi.Instance{PublicIPAddr: "203.0.113.7", Ports: ports("41022"), SSHHost: "ssh4.vast.ai", SSHPort: 11610},
			vastapi.SSHEndpoint{Host: "203.0.113.7", Port: 41022, Direct: true}, true},
		{"direct over IPv6", vastapi.Instance{PublicIPAddr: "2001:db8::7", Ports: ports("41022")},
			vastapi.SSHEndpoint{Host: "2001:db8::7", Port: 41022, Direct: true}, true},
		{"proxy without ports", vastapi.Instance{PublicIPAddr: "203.0.113.7", SSHHost: "ssh4.vast.ai", SSHPort: 11610, ImageRuntype: "ssh_direc ssh_proxy"},
			vastapi.SSHEndpoint{Host: "ssh4.vast.ai", Port: 11610}, true},
		{"proxy without a public address", vastapi.Instance{Ports: ports("41022"), SSHHost: "ssh4.vast.ai", SSHPort: 11610},
			vastapi.SSHEndpoint{Host: "ssh4.vast.ai", Port: 11610}, true},
		{"proxy one port up for jupyter", vastapi.Instance{SSHHost: "ssh4.vast.ai", SSHPort: 11610, ImageRuntype: "jupyter_proxy ssh_proxy"},
			vastapi.SSHEndpoint{Host: "ssh4.vast.ai", Port: 11611}, true},
		{"a bad direct port falls back to the proxy", vastapi.Instance{PublicIPAddr: "203.0.113.7", Ports: ports("70000"), SSHHost: "ssh4.vast.ai", SSHPort: 11610},
			vastapi.SSHEndpoint{Host: "ssh4.vast.ai", Port: 11610}, true},
		{"nothing", vastapi.Instance{}, vastapi.SSHEndpoint{}, false},
		{"a host that would add an ssh option", vastapi.Instance{SSHHost: "h\n  ProxyCommand touch /tmp/x", SSHPort: 22}, vastapi.SSHEndpoint{}, false},
		{"a host that reads as an option", vastapi.Instance{SSHHost: "-oProxyCommand=x", SSHPort: 22}, vastapi.SSHEndpoint{}, false},
		{"a public address with a space", vastapi.Instance{PublicIPAddr: "1.2.3.4 x", Ports: ports("41022")}, vastapi.SSHEndpoint{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.in.SSH()
			if got != tc.want || ok != tc.ok {
				t.Fatalf("SSH() = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestRealInstanceSSHEndpoint: the real loading instance has no ports yet, so its endpoint is
// the proxy.
func TestRealInstanceSSHEndpoint(t *testing.T) {
	b, err := os.ReadFile("testdata/real/show.json")
	if err != nil {
		t.Fatal(err)
	}
	var in vastapi.Instance
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	e, ok := in.SSH()
	if !ok || e != (vastapi.SSHEndpoint{Host: "ssh4.vast.ai", Port: 11610}) || e.Addr() != "ssh4.vast.ai:11610" {
		t.Fatalf("SSH() = %+v, %v", e, ok)
	}
	if a := (vastapi.SSHEndpoint{Host: "2001:db8::7", Port: 22}).Addr(); a != "[2001:db8::7]:22" {
		t.Fatalf("Addr() = %q", a)
	}
}
