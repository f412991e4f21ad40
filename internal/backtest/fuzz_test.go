package backtest

import (
	"strings"
	"testing"
)

// FuzzReadDemandCSV: a demand file either reads as rising rows of finite values ≥ 0 or is
// refused; it never panics.
func FuzzReadDemandCSV(f *testing.F) {
	f.Add("time,value\n2026-01-05T00:00:00Z,3\n2026-01-05T01:00:00Z,4.5\n")
	f.Add("1767571200,1\n1767571260,0\n")
	f.Add("# comment\n\n1,2\n1,3\n")
	f.Fuzz(func(t *testing.T, s string) {
		pts, err := readCSV(strings.NewReader(s))
		if err != nil {
			return
		}
		for i, p := range pts {
			if p.Value < 0 || p.Value != p.Value || (i > 0 && !p.At.After(pts[i-1].At)) {
				t.Fatalf("row %d: %+v", i, p)
			}
		}
	})
}

func TestDemandShapesAndFiles(t *testing.T) {
	pts, err := readCSV(strings.NewReader("time,value\n2026-01-05T00:00:00Z,3\n1767574800,8\n"))
	if err != nil || len(pts) != 2 || pts[1].Value != 8 {
		t.Fatalf("%v %v", pts, err)
	}
	for _, bad := range []string{"", "time,value\n", "2026-01-05T00:00:00Z,-1\n", "2,x\n", "2,1\n1,1\n", "5\n"} {
		if _, err := readCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("%q read", bad)
		}
	}
}
