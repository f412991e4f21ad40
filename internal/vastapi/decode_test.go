package vastapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Real replies travel with the repository (testdata/README.md): the search capture as the
// gzipped copy the matcher's tests also read, the instance and create replies under
// testdata/real.
const (
	realSearchGz = "testdata/match/search.json.gz"
	realDir      = "testdata/real/"
)

// plainOffer has Offer's fields and none of its methods: encoding/json decodes it by reflection,
// the reference the hand-written decoder is held to.
type plainOffer Offer

type plainInstance Instance

type plainUser User

func readReal(t testing.TB, name string) []byte {
	t.Helper()
	if name == "search.json" {
		f, err := os.Open(realSearchGz)
		if err != nil {
			t.Fatalf("read real data: %v", err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("read real data: %v", err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("read real data: %v", err)
		}
		return b
	}
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

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sameJSONValue compares a value of the raw reply with the one re-encoded from the decoded
// struct: numbers as float64, everything else structurally.
func sameJSONValue(raw, dec any) bool {
	return reflect.DeepEqual(raw, dec)
}

// Every field of Offer that a real offer carries survives decoding with its value: re-encoding
// the decoded Offer gives back the reply's value for each of them.
func TestNoOfferFieldIsLost(t *testing.T) {
	fields := jsonTags(reflect.TypeOf(Offer{}))
	covered := map[string]bool{}
	for i, r := range realOffersRaw(t) {
		var o Offer
		if err := json.Unmarshal(r, &o); err != nil {
			t.Fatalf("offer %d: %v", i, err)
		}
		var raw, dec map[string]any
		_ = json.Unmarshal(r, &raw)
		b, _ := json.Marshal(o)
		_ = json.Unmarshal(b, &dec)
		for _, f := range fields {
			rv, ok := raw[f]
			if !ok {
				continue
			}
			covered[f] = true
			if f == "public_ipaddr" {
				rv = strings.TrimSpace(rv.(string))
			}
			if !sameJSONValue(rv, dec[f]) {
				t.Fatalf("offer %d field %s: reply %v, decoded %v", i, f, rv, dec[f])
			}
		}
	}
	if len(covered) < len(fields)-1 { // expected_reliability is absent from the capture
		t.Fatalf("only %d of %d fields occur in the capture", len(covered), len(fields))
	}
}

func TestNoInstanceFieldIsLost(t *testing.T) {
	r := readReal(t, "show.json")
	var in Instance
	if err := json.Unmarshal(r, &in); err != nil {
		t.Fatal(err)
	}
	var raw, dec map[string]any
	_ = json.Unmarshal(r, &raw)
	b, _ := json.Marshal(in)
	_ = json.Unmarshal(b, &dec)
	n := 0
	for _, f := range jsonTags(reflect.TypeOf(Instance{})) {
		rv, ok := raw[f]
		if !ok {
			continue
		}
		n++
		switch f {
		case "jupyter_token": // a Secret: compared revealed, it re-encodes redacted
			if in.JupyterToken.Reveal() != rv {
				t.Fatalf("jupyter_token lost")
			}
			continue
		case "extra_env": // the object form re-encodes as the API's list of pairs
			want := EnvPairs{{"-p 5000:5000", "1"}, {"TZ", "PDT"}, {"XNAME", "XX4"}}
			if !reflect.DeepEqual(in.ExtraEnv, want) {
				t.Fatalf("extra_env = %v, want %v", in.ExtraEnv, want)
			}
			continue
		case "public_ipaddr", "local_ipaddrs":
			if f == "public_ipaddr" {
				rv = strings.TrimSpace(rv.(string))
			}
		}
		if !sameJSONValue(rv, dec[f]) {
			t.Fatalf("field %s: reply %v, decoded %v", f, rv, dec[f])
		}
	}
	if n < 50 {
		t.Fatalf("only %d instance fields compared", n)
	}
}

func jsonTags(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the decoded value (go test -update rewrites it):\n%s", path, got)
	}
}

// A few real offers and the real instance, decoded, pinned as golden JSON: offers with nulls,
// a multi-GPU offer, non-ASCII text, and the loading instance.
func TestGoldenDecodes(t *testing.T) {
	raw := realOffersRaw(t)
	picks := map[string]func(Offer) bool{
		"first":          func(o Offer) bool { return true },
		"null cpu_ghz":   func(o Offer) bool { return !o.CPUGHz.Valid },
		"eight GPUs":     func(o Offer) bool { return o.NumGPUs == 8 },
		"non-ASCII text": func(o Offer) bool { return o.CPUName.Valid && strings.ContainsRune(o.CPUName.V, '®') },
		"datacenter":     func(o Offer) bool { return o.HostingType.Valid && o.HostingType.V == 1 },
	}
	names := []string{"first", "null cpu_ghz", "eight GPUs", "non-ASCII text", "datacenter"}
	var chosen []Offer
	for _, name := range names {
		found := false
		for _, r := range raw {
			var o Offer
			if err := json.Unmarshal(r, &o); err != nil {
				t.Fatal(err)
			}
			if picks[name](o) && !slices.ContainsFunc(chosen, func(c Offer) bool { return c.ID == o.ID }) {
				chosen = append(chosen, o)
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("no real offer for %q", name)
		}
	}
	b, err := json.MarshalIndent(chosen, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "golden-offers.json", append(b, '\n'))

	var in Instance
	if err := json.Unmarshal(readReal(t, "show.json"), &in); err != nil {
		t.Fatal(err)
	}
	b, err = json.MarshalIndent(in, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "golden-instance.json", append(b, '\n'))
}

func TestInstanceDecodesBothExtraEnvForms(t *testing.T) {
	for name, body := range map[string]string{
		"API list of pairs":  `{"id":1,"extra_env":[["TZ","UTC"],["-p 8080:8080","1"]]}`,
		"CLI object":         `{"id":1,"extra_env":{"TZ":"UTC","-p 8080:8080":"1"}}`,
		"quoted numbers too": `{"id":"1","ssh_port":"22","extra_env":{"TZ":"UTC","-p 8080:8080":1}}`,
	} {
		t.Run(name, func(t *testing.T) {
			var in Instance
			if err := json.Unmarshal([]byte(body), &in); err != nil {
				t.Fatal(err)
			}
			want := EnvPairs{{"TZ", "UTC"}, {"-p 8080:8080", "1"}}
			if in.ID != 1 || !reflect.DeepEqual(in.ExtraEnv, want) {
				t.Fatalf("got %+v env %v", in.ID, in.ExtraEnv)
			}
		})
	}
}

// Numbers that arrive as strings or null decode without error into every numeric field of
// Offer, Instance and User.
func TestQuotedAndNullNumbersDecodeEverywhere(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  reflect.Type
		dec  func([]byte) (reflect.Value, error)
	}{
		{"Offer", reflect.TypeOf(Offer{}), func(b []byte) (reflect.Value, error) {
			var v Offer
			err := json.Unmarshal(b, &v)
			return reflect.ValueOf(v), err
		}},
		{"Instance", reflect.TypeOf(Instance{}), func(b []byte) (reflect.Value, error) {
			var v Instance
			err := json.Unmarshal(b, &v)
			return reflect.ValueOf(v), err
		}},
		{"User", reflect.TypeOf(User{}), func(b []byte) (reflect.Value, error) {
			var v User
			err := json.Unmarshal(b, &v)
			return reflect.ValueOf(v), err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			quoted, null := map[string]any{}, map[string]any{}
			var numeric []int
			for i := 0; i < tc.typ.NumField(); i++ {
				f := tc.typ.Field(i)
				tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				switch k := f.Type.Kind(); {
				case k == reflect.Int || k == reflect.Int64 || k == reflect.Float64:
				case k == reflect.Struct && strings.HasPrefix(f.Type.Name(), "Opt[") && f.Type.Field(0).Type.Kind() != reflect.String && f.Type.Field(0).Type.Kind() != reflect.Bool:
				default:
					continue
				}
				numeric = append(numeric, i)
				quoted[tag] = "7"
				null[tag] = nil
			}
			if len(numeric) < 4 {
				t.Fatalf("only %d numeric fields found", len(numeric))
			}
			qb, _ := json.Marshal(quoted)
			v, err := tc.dec(qb)
			if err != nil {
				t.Fatalf("quoted numbers: %v", err)
			}
			for _, i := range numeric {
				f := v.Field(i)
				if f.Kind() == reflect.Struct {
					if !f.Field(1).Bool() {
						t.Errorf("%s: quoted number left absent", tc.typ.Field(i).Name)
					}
					f = f.Field(0)
				}
				if (f.CanInt() && f.Int() != 7) || (f.CanFloat() && f.Float() != 7) {
					t.Errorf("%s: quoted \"7\" decoded as %v", tc.typ.Field(i).Name, f)
				}
			}
			nb, _ := json.Marshal(null)
			if _, err := tc.dec(nb); err != nil {
				t.Fatalf("null numbers: %v", err)
			}
		})
	}
}

func TestUserDropsAPIKey(t *testing.T) {
	var u User
	if err := json.Unmarshal([]byte(`{"id":1,"api_key":"secret-key-value","credit":"2.5"}`), &u); err != nil {
		t.Fatal(err)
	}
	if u.Credit != 2.5 || strings.Contains(fmt.Sprintf("%#v", u), "secret-key-value") {
		t.Fatalf("user %#v", u)
	}
}

// The float fast path returns exactly what strconv.ParseFloat returns.
func TestFastFloatMatchesStrconv(t *testing.T) {
	cases := []string{"0", "-0", "1", "-1", "0.5", "0.16666666666666666", "0.9985116", "24564", "-0.0", "123456789012345678",
		"9007199254740993", "0.1", "3.14159", "1.0000000000000002", "0.000001", "0.00000000000000000000001", "1e5", "12.5e-3",
		"4503599627370497.5", "0.30000000000000004", "99999999999999999999", "785.55", "0.0013888888888888889"}
	for _, c := range cases {
		want, err := strconv.ParseFloat(c, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := fastFloat([]byte(c)); ok && (got != want || math.Signbit(got) != math.Signbit(want)) {
			t.Errorf("fastFloat(%s) = %v, strconv says %v", c, got, want)
		}
	}
	for _, c := range []string{"0", "-0", "7", "-12", "123456789012345678"} {
		want, _ := strconv.ParseInt(c, 10, 64)
		if got, ok := fastInt([]byte(c)); !ok || got != want {
			t.Errorf("fastInt(%s) = %v, %v", c, got, ok)
		}
	}
}

func FuzzFastFloat(f *testing.F) {
	for _, s := range []string{"0.16666666666666666", "24564", "-0.5", "1.5e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validNumber([]byte(s)) {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if got, ok := fastFloat([]byte(s)); ok && (err != nil || got != want || math.Signbit(got) != math.Signbit(want)) {
			t.Fatalf("fastFloat(%s) = %v, strconv %v (%v)", s, got, want, err)
		}
	})
}
