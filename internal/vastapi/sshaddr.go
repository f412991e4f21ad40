package vastapi

import (
	"net"
	"strconv"
	"strings"
)

// SSHEndpoint is where a person reaches an instance's sshd (as root).
type SSHEndpoint struct {
	Host string
	Port int
	// Direct: the instance's public address and the host port Vast mapped to 22/tcp, rather
	// than Vast's ssh proxy.
	Direct bool
}

// Addr is host:port, with an IPv6 host in brackets.
func (e SSHEndpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// SSH is the endpoint a person would ssh to (docs/vast-api.md §4): the direct address when
// the instance has one (public_ipaddr and the HostPort of ports["22/tcp"][0], present while it
// runs), else Vast's proxy ssh_host:ssh_port, one port higher for the jupyter launch modes, as
// the vast CLI's ssh-url reads it. ok is false when neither is usable. A host that is not a
// plain DNS name or IP address, or a port outside 1-65535, is not usable: these values go into
// ssh's command line and config files, where a space or a newline would add options.
func (in *Instance) SSH() (e SSHEndpoint, ok bool) {
	if b := in.Ports["22/tcp"]; len(b) > 0 && SafeHost(in.PublicIPAddr) {
		if p, err := strconv.Atoi(b[0].HostPort); err == nil && p > 0 && p < 65536 {
			return SSHEndpoint{Host: in.PublicIPAddr, Port: p, Direct: true}, true
		}
	}
	port := in.SSHPort
	if strings.Contains(in.ImageRuntype, "jupyter") {
		port++
	}
	if !SafeHost(in.SSHHost) || port <= 0 || port > 65535 {
		return SSHEndpoint{}, false
	}
	return SSHEndpoint{Host: in.SSHHost, Port: port}, true
}

// SafeHost reports whether h is an IP address or a DNS name (letters, digits, '-' and '.',
// not starting with '-'), and nothing else.
func SafeHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 || h[0] == '-' || h[0] == '.' {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
