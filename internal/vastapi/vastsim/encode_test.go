package vastsim

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// wantJSON is the reply form of o as encoding/json writes it, duration computed from end_date.
func wantJSON(t *testing.T, o vastapi.Offer, now float64) []byte {
	t.Helper()
	mark := -987654321.125
	o.Duration = vastapi.Some(mark)
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	dur := "null"
	if o.EndDate.Valid {
		dur = strconv.FormatFloat(o.EndDate.V-now, 'f', -1, 64)
	}
	return bytes.Replace(b, []byte(strconv.FormatFloat(mark, 'f', -1, 64)), []byte(dur), 1)
}

func TestAppendOfferWritesWhatEncodingJSONWrites(t *testing.T) {
	if offerFieldsErr != nil {
		t.Fatalf("vastapi.Offer has a field appendOffer cannot write, so every reply falls back to encoding/json: %v", offerFieldsErr)
	}
	const now = 1.7e9 + 0.25
	t.Run("every offer of a generated market", func(t *testing.T) {
		for _, o := range newHarness(t, Options{Seed: 7, Machines: 300}).sim.Offers() {
			got, err := appendOffer(nil, &o, now)
			if err != nil {
				t.Fatal(err)
			}
			if want := wantJSON(t, o, now); !bytes.Equal(got, want) {
				t.Fatalf("offer %d:\n got %s\nwant %s", o.ID, got, want)
			}
		}
	})
	t.Run("every offer of the real captures", func(t *testing.T) {
		for _, o := range realOffers(t) {
			got, err := appendOffer(nil, &o, now)
			if err != nil {
				t.Fatal(err)
			}
			if want := wantJSON(t, o, now); !bytes.Equal(got, want) {
				t.Fatalf("offer %d:\n got %s\nwant %s", o.ID, got, want)
			}
		}
	})
	edge := []struct {
		name string
		edit func(o *vastapi.Offer)
	}{
		{"strings needing escapes: quotes, HTML, control, unicode, bad UTF-8", func(o *vastapi.Offer) {
			o.GPUName = `RTX "4090" <b>&</b>` + "\n\t\x01"
			o.Logo = "caf\u00e9 \u2028 \u2029 \xff"
			o.CPUName = vastapi.Some(`a\b`)
		}},
		{"numbers in exponent form and negative zero", func(o *vastapi.Offer) {
			o.DphTotal = 1e-9
			o.DphBase = 1.5e-7
			o.TotalFlops = 3e21
			o.Score = -2.5e22
			o.DiskBW = math.Copysign(0, -1)
			o.CPUGHz = vastapi.Some(1e-300)
		}},
		{"nil gpu_ids", func(o *vastapi.Offer) { o.GPUIDs = nil }},
		{"empty gpu_ids", func(o *vastapi.Offer) { o.GPUIDs = []int64{} }},
		{"every Opt absent", func(o *vastapi.Offer) {
			*o = vastapi.Offer{ID: 9, GPUName: "x"}
		}},
		{"every Opt present", func(o *vastapi.Offer) {
			o.BundledResults, o.DriverVers, o.Geolocode = vastapi.Some[int64](3), vastapi.Some[int64](535), vastapi.Some[int64](-1)
			o.HostingType, o.External = vastapi.Some(1), vastapi.Some(false)
			o.Hostname, o.Webpage, o.MoboName = vastapi.Some(""), vastapi.Some("https://x/?a=1&b=2"), vastapi.Some("m")
			o.EndDate, o.StartDate = vastapi.Some(now+12.5), vastapi.Some(now-1)
		}},
	}
	base := newHarness(t, Options{Seed: 7, Machines: 3}).sim.Offers()[0]
	for _, tc := range edge {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.edit(&o)
			got, err := appendOffer([]byte("prefix"), &o, now)
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]byte("prefix"), wantJSON(t, o, now)...); !bytes.Equal(got, want) {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
		})
	}
	t.Run("the cached form, duration written later, and the encoding/json fallback agree", func(t *testing.T) {
		for _, edit := range []func(o *vastapi.Offer){
			func(o *vastapi.Offer) { o.EndDate = vastapi.Some(now + 3600.5) },
			func(o *vastapi.Offer) { o.EndDate = vastapi.Opt[float64]{} },
		} {
			o := base
			edit(&o)
			want := wantJSON(t, o, now)
			b, at, err := appendOfferSplit(nil, &o)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			(&encOffer{json: b, at: at, endDate: o.EndDate}).write(&buf, now)
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("cached form:\n got %s\nwant %s", buf.Bytes(), want)
			}
			if got, err := appendOfferJSON([]byte("x"), &o, now); err != nil || !bytes.Equal(got[1:], want) {
				t.Fatalf("encoding/json fallback (err %v):\n got %s\nwant %s", err, got[1:], want)
			}
		}
	})
	t.Run("a NaN price is an error, as with encoding/json", func(t *testing.T) {
		o := base
		o.DphTotal = math.NaN()
		if _, err := appendOffer(nil, &o, now); err == nil {
			t.Fatal("no error for a NaN dph_total")
		}
	})
}

// A reply is encoded into its chunk buffer without allocating per offer.
func TestAppendOfferAllocatesNothing(t *testing.T) {
	offers := newHarness(t, Options{Seed: 7, Machines: 50}).sim.Offers()
	buf := make([]byte, 0, 4<<20)
	allocs := testing.AllocsPerRun(20, func() {
		b := buf[:0]
		for i := range offers {
			b, _ = appendOffer(b, &offers[i], 1.7e9)
		}
	})
	if allocs > 0 {
		t.Fatalf("%.0f allocations to encode %d offers, want 0", allocs, len(offers))
	}
}
