package vastsim

import "testing"

// A drawn address in a block no host on the internet has moves up by its first octet; any
// other is kept.
func TestHostIPLeavesTheBlocksNoInternetHostHas(t *testing.T) {
	for _, c := range []struct {
		drawn [4]byte
		want  string
	}{
		{[4]byte{20, 1, 2, 3}, "20.1.2.3"},
		{[4]byte{127, 0, 0, 1}, "128.0.0.1"},
		{[4]byte{172, 31, 9, 9}, "173.31.9.9"},
		{[4]byte{172, 32, 9, 9}, "172.32.9.9"},
		{[4]byte{192, 168, 1, 5}, "193.168.1.5"},
		{[4]byte{100, 64, 0, 1}, "101.64.0.1"},
		{[4]byte{100, 128, 0, 1}, "100.128.0.1"},
		{[4]byte{169, 254, 169, 254}, "170.254.169.254"},
		{[4]byte{198, 19, 1, 1}, "199.19.1.1"},
		{[4]byte{203, 0, 113, 7}, "204.0.113.7"},
		{[4]byte{192, 0, 2, 7}, "193.0.2.7"},
	} {
		if got := hostIP(c.drawn); got != c.want {
			t.Errorf("hostIP(%v) = %s, want %s", c.drawn, got, c.want)
		}
	}
}
