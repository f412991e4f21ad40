package vastapi

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

const realDir = "../../../shared/testdata/vast-real/"

// plainOffer has Offer's fields and none of its methods: encoding/json decodes it by reflection,
// the reference the hand-written decoder is held to.
type plainOffer Offer

type plainInstance Instance

type plainUser User

func readReal(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(realDir + name)
	if err != nil {
		t.Fatalf("read real data: %v", err)
	}
	return b
}

func realOffersRaw(t testing.TB) []json.RawMessage {
	t.Helper()
	var raw []json.RawMessage
	if err := json.Unmarshal(readReal(t, "search.json"), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 1396 {
		t.Fatalf("search.json holds %d offers, want 1396", len(raw))
	}
	return raw
}

func TestDecodeOffersMatchesEncodingJSONOnEveryRealOffer(t *testing.T) {
	raw := realOffersRaw(t)
	body := append([]byte(`{"offers":`), readReal(t, "search.json")...)
	body = append(body, '}')
	var got []Offer
	env, n, err := decodeOffers(bytes.NewReader(body), func(o *Offer) error {
		got = append(got, *o)
		return nil
	})
	if err != nil || env.failed() || n != len(raw) {
		t.Fatalf("decodeOffers: n=%d err=%v", n, err)
	}
	for i, r := range raw {
		var want plainOffer
		if err := json.Unmarshal(r, &want); err != nil {
			t.Fatalf("offer %d: encoding/json: %v", i, err)
		}
		want.PublicIPAddr = strings.TrimSpace(want.PublicIPAddr)
		if !reflect.DeepEqual(Offer(want), got[i]) {
			t.Fatalf("offer %d differs from encoding/json:\n got %+v\nwant %+v", i, got[i], want)
		}
		var viaMethod Offer
		if err := json.Unmarshal(r, &viaMethod); err != nil || !reflect.DeepEqual(viaMethod, got[i]) {
			t.Fatalf("offer %d: Offer.UnmarshalJSON differs (err %v)", i, err)
		}
	}
}
