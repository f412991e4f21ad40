package vastsim

import "net/netip"

// notOnTheInternet are the IPv4 blocks of IANA's special-purpose registry (RFC 6890 and its
// updates) that a host renting out GPUs on the internet cannot have, within the first octets the
// generator draws (20 to 219): loopback, private, shared (carrier-grade NAT), link-local,
// IETF protocol assignments, documentation, the 6to4 relay and benchmarking.
var notOnTheInternet = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

// hostIP is the public_ipaddr of a machine whose address was drawn as a: a itself, or, when a
// falls in a block no host on the internet has, the same address with its first octet raised
// until it does not. It draws nothing, so the rest of the seeded market stays as it was.
func hostIP(a [4]byte) string {
	for a[0] < 223 && reserved(netip.AddrFrom4(a)) {
		a[0]++
	}
	return netip.AddrFrom4(a).String()
}

func reserved(a netip.Addr) bool {
	for _, p := range notOnTheInternet {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
