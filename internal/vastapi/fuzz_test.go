package vastapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// chunkReader returns at most n bytes per Read, to drive the scanner across refills.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.n, len(c.b))
	copy(p, c.b[:k])
	c.b = c.b[k:]
	return k, nil
}

func addSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

func offerSeeds(f *testing.F) {
	raw := realOffersRaw(f)
	addSeeds(f,
		`{"offers":[`+string(raw[0])+`,`+string(raw[1])+`]}`,
		`{"offers":[{"id":"1","dph_total":"0.5","cpu_cores":null,"gpu_ids":[1,2],"search":{"totalHour":1}}],"success":true}`,
		`[{"id":1}]`, `{"offers":null}`, `{"success":false,"msg":"x"}`, `{"offers":[null,{"ID":2,"Search":{"TOTALHOUR":3}}]}`,
		`{"offers":[{"cpu_name":"Xeon\u00ae \ud800 \ud83d\ude00 \"q\""}]}`,
	)
}

// FuzzDecodeOffers feeds arbitrary bytes to the streaming offers decoder: it never panics, and
// reading the same input one byte at a time or in odd chunks gives the same offers and the same
// success as reading it whole.
func FuzzDecodeOffers(f *testing.F) {
	offerSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		decode := func(r io.Reader) ([]Offer, envelope, error) {
			var out []Offer
			env, _, err := decodeOffers(r, func(o *Offer) error {
				out = append(out, *o)
				return nil
			})
			return out, env, err
		}
		whole, env1, err1 := decode(bytes.NewReader(data))
		for _, n := range []int{1, 7} {
			parts, env2, err2 := decode(&chunkReader{b: data, n: n})
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("chunks of %d: err %v, whole: %v", n, err2, err1)
			}
			if err1 == nil && (!reflect.DeepEqual(whole, parts) || !reflect.DeepEqual(env1, env2)) {
				t.Fatalf("chunks of %d decode differently", n)
			}
		}
	})
}

// FuzzOfferMatchesEncodingJSON: whenever encoding/json accepts an object into Offer's fields
// (by reflection), the hand-written decoder accepts it too and yields the same value. Inputs
// with non-ASCII bytes or \u escapes beyond Latin-1 are left out: encoding/json folds a few
// Unicode letters (ſ, K) onto ASCII key names, which the API never sends.
func FuzzOfferMatchesEncodingJSON(f *testing.F) {
	for _, r := range realOffersRaw(f)[:20] {
		f.Add([]byte(r))
	}
	addSeeds(f, `{"id":1,"ID":2,"gpu_ids":[1,null],"gpu_ids":[3],"search":{"totalHour":1},"search":{"diskHour":2}}`,
		`{"cpu_cores":" 7 ","cpu_ghz":"","external":true,"public_ipaddr":" 1.2.3.4 \n"}`, `null`, `{"rn":-0,"dph_base":1e-7}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		if !latin1Only(data) {
			return
		}
		var want plainOffer
		if json.Unmarshal(data, &want) != nil {
			return
		}
		var got Offer
		if err := got.UnmarshalJSON(data); err != nil {
			t.Fatalf("encoding/json accepts %q, the decoder says %v", data, err)
		}
		want.PublicIPAddr = strings.TrimSpace(want.PublicIPAddr)
		if !reflect.DeepEqual(Offer(want), got) {
			t.Fatalf("decoded differently from encoding/json:\n got %+v\nwant %+v", got, want)
		}
	})
}

func latin1Only(b []byte) bool {
	for i, c := range b {
		if c >= 0x80 {
			return false
		}
		if c == '\\' && i+2 < len(b) && b[i+1] == 'u' && !(b[i+2] == '0' && i+3 < len(b) && b[i+3] == '0') {
			return false
		}
	}
	return true
}

// FuzzDecodeInstanceList feeds arbitrary bytes to the v1/v0 list decoder: no panic, and a
// decoded list re-decodes through Instance.UnmarshalJSON without error.
func FuzzDecodeInstanceList(f *testing.F) {
	show := string(readReal(f, "show.json"))
	addSeeds(f, `{"success":true,"instances":[`+show+`],"next_token":"abc"}`,
		`{"instances":[{"id":"1","extra_env":[["A","1"]],"ports":{"22/tcp":[{"HostIp":"0.0.0.0","HostPort":"2200"}]}}],"next_token":null}`,
		`{"instances":[{"extra_env":{"A":1,"B":null}}]}`, `{"success":false,"error":"invalid_token"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		list, _, _, err := decodeInstanceList(data)
		if err != nil {
			return
		}
		for i := range list {
			b, merr := json.Marshal(list[i])
			if merr != nil {
				t.Fatalf("decoded instance does not encode: %v", merr)
			}
			var again Instance
			if err := json.Unmarshal(b, &again); err != nil {
				t.Fatalf("decoded instance does not re-decode: %v", err)
			}
		}
	})
}

// FuzzDecodeShowInstance feeds arbitrary bytes to the show-instance decoder: no panic.
func FuzzDecodeShowInstance(f *testing.F) {
	addSeeds(f, `{"instances":`+string(readReal(f, "show.json"))+`}`, `{"instances":null}`, `{"instances":[]}`,
		`{"instances":[{"id":1}]}`, `{"instances":{"id":1,"public_ipaddr":5}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		in, _, err := decodeShowInstance(data)
		if err == nil && in != nil && in.PublicIPAddr != strings.TrimSpace(in.PublicIPAddr) {
			t.Fatalf("public_ipaddr not trimmed: %q", in.PublicIPAddr)
		}
	})
}

// FuzzDecodeUser feeds arbitrary bytes to the user decoder: no panic, and the api_key never
// reaches the User, whatever surrounds it.
func FuzzDecodeUser(f *testing.F) {
	addSeeds(f, `{"id":1,"credit":"2.5","api_key":"k3y-value","balance":null}`, `{"api_key":{"nested":"k3y-value"},"email":"e"}`,
		`{"API_KEY":"k3y-value","username":"u"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		u, _, err := decodeUserReply(data)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil {
			return
		}
		var key string
		for k, v := range m {
			if strings.EqualFold(k, "api_key") {
				_ = json.Unmarshal(v, &key)
			}
		}
		if len(key) >= 8 && strings.Contains(fmtUser(u), key) {
			t.Fatalf("api_key reached the user: %+v", u)
		}
	})
}

func fmtUser(u User) string {
	b, _ := json.Marshal(u)
	return string(b)
}

// FuzzErrorBody feeds arbitrary bytes to the error-body decoder as the client uses it: no
// panic, a message of bounded length without control characters, and never the key.
func FuzzErrorBody(f *testing.F) {
	const key = "fuzz-canary-key-0123456789"
	addSeeds(f, `{"success":false,"error":"auth_error","msg":"Invalid user key"}`, "API requests too frequent endpoint threshold=2.0",
		`{"detail":[{"loc":["body"],"msg":"`+key+`"}]}`, `{"message":"a\nb`+key+`"}`, `<html>`+key+`</html>`,
		`{"success":false,"new_contract":"12","ask_id":5}`)
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Key: NewSecret(key)})
	if err != nil {
		f.Fatal(err)
	}
	rq := &request{method: "PUT", tmpl: EPCreate}
	f.Fuzz(func(t *testing.T, data []byte) {
		ae := c.apiError(rq, 400, data)
		s := ae.Error()
		if strings.Contains(s, key) {
			t.Fatalf("key in error: %s", s)
		}
		if len(ae.Msg) > maxMsg+len("…") || strings.ContainsAny(ae.Msg, "\n\r\t\x00") {
			t.Fatalf("message not cleaned: %q", ae.Msg)
		}
		var target *APIError
		if !errors.As(error(ae), &target) {
			t.Fatal("not an APIError")
		}
	})
}
