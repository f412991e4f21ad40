package policy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// cliArgs splits a `vastai search offers` argument list into options and the query text the
// way the CLI's argparse does (the positional query is nargs="*", joined with spaces).
func cliArgs(t *testing.T, args []string) (string, SearchOptions) {
	t.Helper()
	var opts SearchOptions
	var query []string
	for i := 0; i < len(args); i++ {
		next := func() string {
			i++
			if i >= len(args) {
				t.Fatalf("flag %s without value", args[i-1])
			}
			return args[i]
		}
		switch args[i] {
		case "-o", "--order":
			opts.Order = next()
		case "--type":
			opts.Type = next()
		case "--limit":
			n, err := strconv.Atoi(next())
			if err != nil {
				t.Fatal(err)
			}
			opts.Limit = n
		case "--storage":
			f, err := strconv.ParseFloat(next(), 64)
			if err != nil {
				t.Fatal(err)
			}
			opts.StorageGB = f
		case "-n", "--no-default":
			opts.NoDefaults = true
		default:
			query = append(query, args[i])
		}
	}
	return strings.Join(query, " "), opts
}

// normalize turns a decoded JSON value into one where numbers and numeric strings are float64,
// so bodies compare as the API reads them.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case json.Number:
		f, _ := x.Float64()
		return f
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f
		}
		return x
	}
	return v
}

func decodeBody(t *testing.T, b []byte) (map[string]any, []string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	// top-level key order
	dec = json.NewDecoder(bytes.NewReader(b))
	var keys []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch d := tok.(type) {
		case json.Delim:
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 && dec.More() {
				keys = append(keys, d)
				// skip the value
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return m, keys
}

func assertSameBody(t *testing.T, got vastapi.Query, want []byte) {
	t.Helper()
	gb, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	gm, gkeys := decodeBody(t, gb)
	wm, wkeys := decodeBody(t, want)
	delete(wm, "rented") // the legacy CLI's default; the server ignores it
	var wk []string
	for _, k := range wkeys {
		if k != "rented" {
			wk = append(wk, k)
		}
	}
	if !reflect.DeepEqual(normalize(gm), normalize(wm)) {
		t.Fatalf("body mismatch\n got: %s\nwant: %s", gb, want)
	}
	if !reflect.DeepEqual(gkeys, wk) {
		t.Fatalf("key order\n got: %v\nwant: %v", gkeys, wk)
	}
	// what is POSTed decodes back to the same query: the sent body and the local match agree
	var back vastapi.Query
	if err := json.Unmarshal(gb, &back); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	bb, _ := json.Marshal(back)
	if !bytes.Equal(bb, gb) {
		t.Fatalf("round trip changed the body\n got: %s\nwant: %s", bb, gb)
	}
}

// matchData holds the official vast CLI's captured request bodies (queries.jsonl), a real
// search reply of 1,396 offers (search.json.gz) and the counts a separate program matched in
// it (match-counts.jsonl). vastapi's tests read the same files; they live there because the
// matcher is vastapi's. A missing file fails the test: a skip would hide it in CI.
const matchData = "../vastapi/testdata/match/"

// readGzip returns the decompressed content of the gzip file at path.
func readGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("real capture: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

func TestParseQueryMatchesOfficialCLICaptures(t *testing.T) {
	f, err := os.Open(matchData + "queries.jsonl")
	if err != nil {
		t.Fatalf("official CLI captures: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var c struct {
			Args  []string        `json:"args"`
			Body  json.RawMessage `json:"body"`
			Error bool            `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		t.Run(strings.Join(c.Args, " "), func(t *testing.T) {
			text, opts := cliArgs(t, c.Args)
			q, err := ParseQuery(text, opts)
			if c.Error {
				var qe *QueryError
				if !errors.As(err, &qe) {
					t.Fatalf("want a CLI-style error, got %v (body %s)", err, q.Key())
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			assertSameBody(t, q, c.Body)
		})
	}
	if n < 59 {
		t.Fatalf("read %d captured cases, want 59", n)
	}
}

func TestParseQueryOwnCases(t *testing.T) {
	d := `"verified": {"eq": true}, "external": {"eq": false}, "rentable": {"eq": true}`
	tail := `"order": [["score", "desc"]], "type": "on-demand", "allocated_storage": 5.0`
	cases := []struct {
		name, text string
		opts       SearchOptions
		want       string // JSON body, or "" when an error is expected
		err        string // exact message
	}{
		{name: "an underscored name, a count and a threshold", text: "gpu_name=RTX_4090 num_gpus>=2 reliability>0.98",
			want: `{` + d + `, "gpu_name": {"eq": "RTX 4090"}, "num_gpus": {"gte": "2"}, "reliability": {"gt": "0.98"}, ` + tail + `}`},
		{name: "spaced operators with several per field", text: "num_gpus >= 2  num_gpus <= 8",
			want: `{` + d + `, "num_gpus": {"gte": "2", "lte": "8"}, ` + tail + `}`},
		{name: "not eq and noteq are neq", text: "gpu_arch not eq amd cpu_arch noteq arm64",
			want: `{` + d + `, "gpu_arch": {"neq": "amd"}, "cpu_arch": {"neq": "arm64"}, ` + tail + `}`},
		{name: "nin is notin", text: "geolocation nin [CN,VN]",
			want: `{` + d + `, "geolocation": {"notin": ["CN", "VN"]}, ` + tail + `}`},
		{name: "quoted list items lose their quotes", text: `gpu_name in ["RTX 4090", "RTX 3090"]`,
			want: `{` + d + `, "gpu_name": {"in": ["RTX 4090", "RTX 3090"]}, ` + tail + `}`},
		{name: "a later condition on the same op replaces the earlier in place", text: "num_gpus>=2 gpu_name=A100 num_gpus>=4",
			want: `{` + d + `, "num_gpus": {"gte": "4"}, "gpu_name": {"eq": "A100"}, ` + tail + `}`},
		{name: "a default overridden keeps its position", text: "verified=false num_gpus=1",
			want: `{"verified": {"eq": false}, "external": {"eq": false}, "rentable": {"eq": true}, "num_gpus": {"eq": "1"}, ` + tail + `}`},
		{name: "wildcard then value re-adds at the end", text: "verified=* verified=true",
			want: `{"external": {"eq": false}, "rentable": {"eq": true}, "verified": {"eq": true}, ` + tail + `}`},
		{name: "question mark wildcard", text: "rentable=?",
			want: `{"verified": {"eq": true}, "external": {"eq": false}, ` + tail + `}`},
		{name: "null and None are JSON null", text: "cpu_cores=None static_ip!=null",
			want: `{` + d + `, "cpu_cores": {"eq": null}, "static_ip": {"neq": null}, ` + tail + `}`},
		{name: "True and False are literals", text: "datacenter=True has_avx=False",
			want: `{` + d + `, "datacenter": {"eq": true}, "has_avx": {"eq": false}, ` + tail + `}`},
		{name: "two-part driver version is an error like numeric_version", text: "driver_version>=535.86",
			err: `Invalid version string format. Expected format: X.X.X (driver_version '535.86')`},
		{name: "driver version without dots stays a string", text: "driver_version=535",
			want: `{` + d + `, "driver_version": {"eq": "535"}, ` + tail + `}`},
		{name: "alias on order and descending plus ascending", opts: SearchOptions{Order: "dph-, dlperf_usd+"}, text: "num_gpus=1",
			want: `{` + d + `, "num_gpus": {"eq": "1"}, "order": [["dph_total", "desc"], ["dlperf_per_dphtotal", "asc"]], "type": "on-demand", "allocated_storage": 5.0}`},
		{name: "no defaults", opts: SearchOptions{NoDefaults: true}, text: "num_gpus=1",
			want: `{"num_gpus": {"eq": "1"}, ` + tail + `}`},
		{name: "interruptible is bid", opts: SearchOptions{Type: "interruptible", StorageGB: 40, Limit: 64}, text: "",
			want: `{` + d + `, "order": [["score", "desc"]], "type": "bid", "limit": 64, "allocated_storage": 40}`},
		{name: "fractional GB and days", text: "gpu_ram>=23.5 duration>=0.5",
			want: `{` + d + `, "gpu_ram": {"gte": 23500}, "duration": {"gte": 43200}, ` + tail + `}`},
		{name: "unknown field is still sent", text: "reliability2>0.9",
			want: `{` + d + `, "reliability2": {"gt": "0.9"}, ` + tail + `}`},
		{name: "leading and trailing whitespace", text: "  num_gpus=1 \t",
			want: `{` + d + `, "num_gpus": {"eq": "1"}, ` + tail + `}`},
		{name: "unconsumed text", text: "num_gpus=1 -x",
			err: `Unconsumed text. Did you forget to quote your query? 'num_gpus=1 x' != 'num_gpus=1 -x'`},
		{name: "field without operator", text: "num_gpus 2",
			err: `Unknown operator. Did you forget to quote your query? ''`},
		{name: "unknown operator", text: "num_gpus=>2",
			err: `Unknown operator. Did you forget to quote your query? '=>'`},
		{name: "blank value", text: "num_gpus>",
			err: `Value cannot be blank. Did you forget to quote your query? ('num_gpus', '>', '')`},
		{name: "empty list", text: "gpu_name in [,]",
			err: `Value cannot be blank. Did you forget to quote your query? ('gpu_name', 'in', [])`},
		{name: "wildcard with another operator", text: "num_gpus>any",
			err: `Wildcard only makes sense with equals.`},
		{name: "not a number for a converted field", text: "cpu_ram>=lots",
			err: `could not convert string to float: 'lots'`},
		{name: "a list for a converted field", text: "gpu_ram in [16,24]",
			err: `float() argument must be a string or a real number, not 'list' (gpu_ram in)`},
		{name: "infinite converted value", text: "gpu_ram>inf",
			err: `gpu_ram > 'inf' is not a finite number`},
		{name: "top-level key written as a filter", text: "limit=5",
			err: `'limit' is a search option, not a filter; set it with its own flag or config key`},
		{name: "bad type", opts: SearchOptions{Type: "spot"}, text: "num_gpus=1",
			err: `invalid type 'spot'; allowed: on-demand, bid, reserved, interruptible`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := ParseQuery(c.text, c.opts)
			if c.err != "" {
				if err == nil {
					t.Fatalf("want error %q, got body %s", c.err, q.Key())
				}
				if err.Error() != c.err {
					t.Fatalf("error\n got: %s\nwant: %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			assertSameBody(t, q, []byte(c.want))
		})
	}
}

func TestParseQueryWarnsOnUnrecognizedFields(t *testing.T) {
	_, warns, err := ParseQueryWarnings("gpu_nam=RTX_4090 num_gpus=1", SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Warning: Unrecognized field: gpu_nam, see list of recognized fields."}
	if !reflect.DeepEqual(warns, want) {
		t.Fatalf("warnings %q, want %q", warns, want)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"gpu_name=RTX_4090 num_gpus>=2", "geolocation in [SE,NO]", `gpu_name="RTX A6000"`,
		"driver_version>=550.54.14", "verified=any", "num_gpus gte 2 num_gpus lte 4", "gpu_ram>16", "x", "a=[", `b="`} {
		f.Add(s, "score-", 0)
	}
	f.Fuzz(func(t *testing.T, text, order string, limit int) {
		if limit < 0 {
			limit = -limit
		}
		if limit < 0 {
			limit = 0
		}
		q, err := ParseQuery(text, SearchOptions{Order: order, Limit: limit})
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		b, err := json.Marshal(q)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if !json.Valid(b) {
			t.Fatalf("invalid JSON %s", b)
		}
		var back vastapi.Query
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("the body does not decode as a query: %v\n%s", err, b)
		}
		bb, _ := json.Marshal(back)
		if !bytes.Equal(b, bb) {
			t.Fatalf("round trip changed the body\n%s\n%s", b, bb)
		}
		for _, fl := range q.Filters {
			if fl.Field == "" || len(fl.Conds) == 0 {
				t.Fatalf("empty filter in %s", b)
			}
		}
	})
}

// TestParsedQueriesSelectTheRealCounts closes the loop "the body sent and the local match come
// from one value": the query ParseQuery builds from the CLI's arguments, matched locally
// against the 1,396 real offers, selects as many as a separate program counted.
func TestParsedQueriesSelectTheRealCounts(t *testing.T) {
	raw := readGzip(t, matchData+"search.json.gz")
	var reply struct{ Offers []vastapi.Offer }
	if err := json.Unmarshal(raw, &reply.Offers); err != nil {
		t.Fatal(err)
	}
	counts, err := os.ReadFile(matchData + "match-counts.jsonl")
	if err != nil {
		t.Fatalf("counts: %v", err)
	}
	now := time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, line := range bytes.Split(bytes.TrimSpace(counts), []byte("\n")) {
		var c struct {
			Args    []string `json:"args"`
			Matches int      `json:"matches"`
		}
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		t.Run(strings.Join(c.Args, " "), func(t *testing.T) {
			text, opts := cliArgs(t, c.Args)
			q, err := ParseQuery(text, opts)
			if err != nil {
				t.Fatal(err)
			}
			m, err := q.Compile(now)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for i := range reply.Offers {
				if m.Match(&reply.Offers[i]) {
					got++
				}
			}
			if q.Limit > 0 && got > q.Limit {
				got = q.Limit
			}
			if got != c.Matches {
				t.Fatalf("matched %d, want %d (body %s)", got, c.Matches, q.Key())
			}
		})
	}
}

// A value that holds an operator is read as the vast CLI reads it, as one value, with a warning
// that says so; a query written as filters gets none.
func TestAnOperatorInsideAValueIsWarnedAbout(t *testing.T) {
	q, warns, err := ParseQueryWarnings("gpu_name= num_gpus>>2", SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := q.MarshalJSON(); !strings.Contains(string(body), `"gpu_name": {"eq": "num gpus\u003e\u003e2"}`) {
		t.Fatalf("the CLI's reading changed: %s", body)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "the value of gpu_name, 'num_gpus>>2', holds an operator (>)") {
		t.Fatalf("warnings %q", warns)
	}
	for _, ok := range []string{"gpu_name=RTX_4090 num_gpus>=2 reliability>0.98", "gpu_name in [RTX_4090,RTX_3090]", "cuda_vers!=12.0"} {
		if _, warns, err := ParseQueryWarnings(ok, SearchOptions{}); err != nil || len(warns) != 0 {
			t.Errorf("%q: warnings %q, err %v", ok, warns, err)
		}
	}
}
