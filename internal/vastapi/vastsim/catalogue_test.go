package vastsim

import (
	"strings"
	"testing"
)

func TestParseCatalogue(t *testing.T) {
	for _, in := range []string{`[{"id": 7, "gpu_name": "RTX 4090"}]`, `{"offers": [{"id": 7, "gpu_name": "RTX 4090"}]}`} {
		offers, err := ParseCatalogue([]byte(in))
		if err != nil || len(offers) != 1 || offers[0].ID != 7 {
			t.Errorf("%s: %v %v", in, offers, err)
		}
	}
	for in, want := range map[string]string{`[]`: "holds no offers", `{"offers": []}`: "holds no offers", `{"x": 1}`: "want a JSON array", `nope`: "want a JSON array"} {
		if _, err := ParseCatalogue([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}
