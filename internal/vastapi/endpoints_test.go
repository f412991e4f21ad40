package vastapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// cliRequest is one line of the official CLI's captured requests.
type cliRequest struct {
	Command string          `json:"command"`
	Method  string          `json:"method"`
	Path    string          `json:"path"`
	Body    json.RawMessage `json:"body"`
}

func loadCLIRequests(t *testing.T) map[string]cliRequest {
	t.Helper()
	f, err := os.Open("testdata/match/requests.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]cliRequest{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r cliRequest
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out[r.Command] = r
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// okReply answers every endpoint with a minimal success body of its shape.
func okReply(w http.ResponseWriter, r *http.Request, _ []byte) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v0/users/current"):
		writeJSON(w, 200, `{"id":1,"credit":10}`)
	case r.URL.Path == "/api/v0/bundles/":
		writeJSON(w, 200, `{"offers":[]}`)
	case strings.HasPrefix(r.URL.Path, "/api/v0/asks/"):
		writeJSON(w, 200, `{"success":true,"new_contract":999}`)
	case r.URL.Path == "/api/v1/instances/" || r.URL.Path == "/api/v0/instances/" && r.Method == "GET":
		writeJSON(w, 200, `{"success":true,"instances":[],"next_token":null}`)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/api/v0/instances/"):
		writeJSON(w, 200, `{"instances":{"id":123}}`)
	default:
		writeJSON(w, 200, `{"success":true}`)
	}
}

// Every request the client makes has the method, path, query and body the official CLI sends
// for the same operation (bodies compared as JSON values; paths modulo a trailing slash).
func TestRequestsMatchTheOfficialCLI(t *testing.T) {
	cli := loadCLIRequests(t)
	var search vastapi.Query
	if err := json.Unmarshal(cli["vastai search offers 'gpu_name=RTX_4090 num_gpus=1' -o dph_total --limit 20"].Body, &search); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		command string
		call    func(context.Context, *vastapi.Client) error
	}{
		{"vastai show user", func(ctx context.Context, c *vastapi.Client) error { _, err := c.CurrentUser(ctx); return err }},
		{"vastai show instances", func(ctx context.Context, c *vastapi.Client) error { _, err := c.ListInstances(ctx); return err }},
		{"vastai show instance 123", func(ctx context.Context, c *vastapi.Client) error { _, err := c.ShowInstance(ctx, 123); return err }},
		{"vastai search offers 'gpu_name=RTX_4090 num_gpus=1' -o dph_total --limit 20", func(ctx context.Context, c *vastapi.Client) error {
			_, err := c.SearchOffers(ctx, search)
			return err
		}},
		{"vastai create instance 456 --image pytorch/pytorch --disk 20 --label demo --onstart-cmd 'nvidia-smi' --ssh --direct", func(ctx context.Context, c *vastapi.Client) error {
			_, err := c.CreateInstance(ctx, 456, vastapi.CreateRequest{Image: "pytorch/pytorch", DiskGB: 20, Label: "demo", Onstart: "nvidia-smi", Runtype: "ssh_direct", CancelUnavail: ptr(false)})
			return err
		}},
		{"vastai create instance 456 --template_hash 661d064bbda1f2a133816b6d55da07c3 --disk 64 --bid_price 0.1", func(ctx context.Context, c *vastapi.Client) error {
			_, err := c.CreateInstance(ctx, 456, vastapi.CreateRequest{TemplateHashID: "661d064bbda1f2a133816b6d55da07c3", DiskGB: 64, Price: ptr(0.1), CancelUnavail: ptr(false)})
			return err
		}},
		{"vastai create instance 456 --image ubuntu:22.04 --disk 10 --env '-e TZ=UTC -p 8080:8080'", func(ctx context.Context, c *vastapi.Client) error {
			_, err := c.CreateInstance(ctx, 456, vastapi.CreateRequest{Image: "ubuntu:22.04", DiskGB: 10, Env: map[string]string{"TZ": "UTC", "-p 8080:8080": "1"}, CancelUnavail: ptr(false)})
			return err
		}},
		{"vastai destroy instance 123", func(ctx context.Context, c *vastapi.Client) error { return c.DestroyInstance(ctx, 123) }},
		{"vastai stop instance 123", func(ctx context.Context, c *vastapi.Client) error { return c.SetInstanceState(ctx, 123, "stopped") }},
		{"vastai start instance 123", func(ctx context.Context, c *vastapi.Client) error { return c.SetInstanceState(ctx, 123, "running") }},
		{"vastai label instance 123 mylabel", func(ctx context.Context, c *vastapi.Client) error { return c.SetLabel(ctx, 123, "mylabel") }},
		{"vastai change bid 123 --price 0.25", func(ctx context.Context, c *vastapi.Client) error { return c.ChangeBid(ctx, 123, 0.25) }},
	}
	if len(cases) != len(cli) {
		t.Fatalf("%d cases for %d captured requests", len(cases), len(cli))
	}
	for _, tc := range cases {
		t.Run(tc.command, func(t *testing.T) {
			want, ok := cli[tc.command]
			if !ok {
				t.Fatalf("no capture for %q", tc.command)
			}
			srv := newServer(t, okReply)
			c := newClient(t, srv.URL)
			if err := tc.call(context.Background(), c.Client); err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			got := reqs[0]
			wu, _ := url.Parse(want.Path)
			if got.Method != want.Method || strings.TrimSuffix(got.Path, "/") != strings.TrimSuffix(wu.Path, "/") {
				t.Fatalf("request %s %s, want %s %s", got.Method, got.Path, want.Method, wu.Path)
			}
			gq, _ := url.ParseQuery(got.RawQuery)
			wq := wu.Query()
			if len(gq) != len(wq) {
				t.Fatalf("query %q, want %q", got.RawQuery, wu.RawQuery)
			}
			for k := range wq {
				if !jsonishEqual(gq.Get(k), wq.Get(k)) {
					t.Errorf("query %s = %q, want %q", k, gq.Get(k), wq.Get(k))
				}
			}
			if string(want.Body) == "null" {
				if len(got.Body) != 0 {
					t.Fatalf("body %s, want none", got.Body)
				}
				return
			}
			jsonEqual(t, got.Body, string(want.Body))
			if ct := got.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// jsonishEqual compares query values as JSON when both parse, else as text.
func jsonishEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil {
		return reflect.DeepEqual(x, y)
	}
	return a == b
}

func TestCreateInstance(t *testing.T) {
	t.Run("success returns the instance id and its key", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			writeJSON(w, 200, `{"success":true,"new_contract":13445220,"instance_api_key":"inst-secret"}`)
		})
		c := newClient(t, srv.URL)
		res, err := c.CreateInstance(context.Background(), 456, vastapi.CreateRequest{Image: "img"})
		if err != nil {
			t.Fatal(err)
		}
		if res.InstanceID != 13445220 || res.InstanceAPIKey.Reveal() != "inst-secret" {
			t.Fatalf("result %+v", res)
		}
		if s := fmt.Sprint(res); strings.Contains(s, "inst-secret") {
			t.Fatalf("result prints its key: %s", s)
		}
	})
	t.Run("the real create reply decodes", func(t *testing.T) {
		b, err := os.ReadFile("testdata/real/create.json")
		if err != nil {
			t.Fatal(err)
		}
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { writeJSON(w, 200, string(b)) })
		res, err := newClient(t, srv.URL).CreateInstance(context.Background(), 1, vastapi.CreateRequest{Image: "x"})
		if err != nil || res.InstanceID != 13445220 {
			t.Fatalf("got %+v, %v", res, err)
		}
	})
	invalid := []struct {
		name  string
		offer int64
		req   vastapi.CreateRequest
	}{
		{"no image and no template is refused before sending", 1, vastapi.CreateRequest{}},
		{"a zero offer id is refused", 0, vastapi.CreateRequest{Image: "x"}},
		{"a bid above 128 $/h is refused", 1, vastapi.CreateRequest{Image: "x", Price: ptr(500.0)}},
		{"an unknown runtype is refused", 1, vastapi.CreateRequest{Image: "x", Runtype: "telnet"}},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, okReply)
			_, err := newClient(t, srv.URL).CreateInstance(context.Background(), tc.offer, tc.req)
			if err == nil || len(srv.requests()) != 0 {
				t.Fatalf("err %v after %d requests", err, len(srv.requests()))
			}
		})
	}
	t.Run("runtypes travel as the CLI spells them", func(t *testing.T) {
		for rt, wire := range map[string]string{
			"": "ssh", "ssh": "ssh", "ssh_direct": "ssh_direc ssh_proxy", "ssh_proxy": "ssh_proxy",
			"jupyter": "jupyter_proxy ssh_proxy", "jupyter_direct": "jupyter_direc ssh_direc ssh_proxy", "args": "args",
		} {
			srv := newServer(t, okReply)
			if _, err := newClient(t, srv.URL).CreateInstance(context.Background(), 1, vastapi.CreateRequest{Image: "x", Runtype: rt}); err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			_ = json.Unmarshal(srv.requests()[0].Body, &body)
			if body["runtype"] != wire {
				t.Errorf("runtype %q sent as %v, want %q", rt, body["runtype"], wire)
			}
			if _, ok := body["cancel_unavail"]; ok {
				t.Errorf("cancel_unavail sent although unset")
			}
		}
	})
}

func TestListInstancesFollowsEveryNextToken(t *testing.T) {
	const total = 60 // three pages of at most 25
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		q := r.URL.Query()
		start := 0
		if tok := q.Get("after_token"); tok != "" {
			fmt.Sscanf(tok, "tok+%d", &start)
		}
		var items []string
		for id := start + 1; id <= total && len(items) < 25; id++ {
			items = append(items, fmt.Sprintf(`{"id":%d,"label":"l%d","actual_status":"running","extra_env":[["A","b"]]}`, id, id))
		}
		next := "null"
		if end := start + len(items); end < total {
			next = fmt.Sprintf(`"tok+%d"`, end) // '+' must survive URL encoding
		}
		writeJSON(w, 200, fmt.Sprintf(`{"success":true,"instances_found":%d,"total_instances":%d,"next_token":%s,"instances":[%s]}`, len(items), total, next, strings.Join(items, ",")))
	})
	c := newClient(t, srv.URL)
	list, err := c.ListInstances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != total {
		t.Fatalf("%d instances, want %d", len(list), total)
	}
	for i, in := range list {
		if in.ID != int64(i+1) || in.Status() != "running" || len(in.ExtraEnv) != 1 {
			t.Fatalf("instance %d: %+v", i, in)
		}
	}
	reqs := srv.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d pages requested, want 3", len(reqs))
	}
	if got := reqs[1].RawQuery; !strings.HasSuffix(got, "&after_token=tok%2B25") || !strings.HasPrefix(got, "select_filters=") {
		t.Fatalf("second page query %q", got)
	}
	if d := c.clock.Now().Sub(epoch); d < 2*vastapi.DefaultPacing["GET "+vastapi.EPListV1] {
		t.Fatalf("pages were not paced: %s for 3 pages", d)
	}
}

func TestListInstancesStopsOnARepeatedToken(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, `{"success":true,"next_token":"same","instances":[{"id":1}]}`)
	})
	_, err := newClient(t, srv.URL).ListInstances(context.Background())
	if err == nil || !strings.Contains(err.Error(), "repeats") || len(srv.requests()) != 2 {
		t.Fatalf("err %v after %d requests", err, len(srv.requests()))
	}
}

func TestListInstancesV0(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, `{"instances_found":2,"instances":[{"id":1,"ssh_port":"2200"},{"id":2,"public_ipaddr":" 1.2.3.4\n"}]}`)
	})
	list, err := newClient(t, srv.URL).ListInstancesV0(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].SSHPort != 2200 || list[1].PublicIPAddr != "1.2.3.4" {
		t.Fatalf("list %+v", list)
	}
	if r := srv.requests()[0]; r.Path != "/api/v0/instances/" || r.RawQuery != "owner=me" {
		t.Fatalf("request %s?%s", r.Path, r.RawQuery)
	}
}

func TestShowInstance(t *testing.T) {
	show, err := os.ReadFile("testdata/real/show.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		status int
		body   string
		wantID int64 // 0: nil instance
	}{
		{"the real instance decodes", 200, `{"instances":` + string(show) + `}`, 13518557},
		{"instances null means gone", 200, `{"instances":null}`, 0},
		{"a 404 no_such_instance means gone", 404, `{"success":false,"error":"no_such_instance","msg":"Instance 5 not found"}`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { writeJSON(w, tc.status, tc.body) })
			in, err := newClient(t, srv.URL).ShowInstance(context.Background(), 13518557)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantID == 0 {
				if in != nil {
					t.Fatalf("instance %+v, want nil", in)
				}
				return
			}
			if in == nil || in.ID != tc.wantID || in.Status() != "loading" || len(in.ExtraEnv) != 3 {
				t.Fatalf("instance %+v", in)
			}
		})
	}
}

func TestSearchOffersFuncStreamsAndStopsOnCallbackError(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, `{"offers":[{"id":1,"dph_total":"0.5"},{"id":2,"dph_total":null},{"id":3}]}`)
	})
	c := newClient(t, srv.URL)
	var ids []int64
	err := c.SearchOffersFunc(context.Background(), vastapi.Query{Limit: 3}, func(o *vastapi.Offer) error {
		ids = append(ids, o.ID)
		return nil
	})
	if err != nil || !reflect.DeepEqual(ids, []int64{1, 2, 3}) {
		t.Fatalf("ids %v err %v", ids, err)
	}
	stop := fmt.Errorf("enough")
	n := 0
	err = c.SearchOffersFunc(context.Background(), vastapi.Query{}, func(o *vastapi.Offer) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Fatalf("callback error: got %v after %d offers", err, n)
	}
	offers, err := c.SearchOffers(context.Background(), vastapi.Query{})
	if err != nil || len(offers) != 3 || offers[0].DphTotal != 0.5 || offers[0].ID == offers[1].ID {
		t.Fatalf("offers %+v err %v", offers, err)
	}
}

func TestInvalidArgumentsAreRefusedBeforeSending(t *testing.T) {
	srv := newServer(t, okReply)
	c := newClient(t, srv.URL)
	ctx := context.Background()
	for name, err := range map[string]error{
		"state other than running/stopped": c.SetInstanceState(ctx, 1, "paused"),
		"label over 1024 bytes":            c.SetLabel(ctx, 1, strings.Repeat("x", 1025)),
		"bid of zero":                      c.ChangeBid(ctx, 1, 0),
		"destroy of id 0":                  c.DestroyInstance(ctx, 0),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestNewRejectsUnsafeConfig(t *testing.T) {
	for name, cfg := range map[string]vastapi.Config{
		"no base URL":            {},
		"a query in the base":    {BaseURL: "https://console.vast.ai/?api_key=" + testKey, Key: vastapi.NewSecret(testKey)},
		"credentials in the URL": {BaseURL: "https://u:p@console.vast.ai"},
		"a key with a newline":   {BaseURL: "https://console.vast.ai", Key: vastapi.NewSecret("abc\ndef")},
		"an ftp URL":             {BaseURL: "ftp://console.vast.ai"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := vastapi.New(cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("error carries the key: %v", err)
			}
		})
	}
}

func TestRepliesAreSizeCapped(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, `{"instances":[`+strings.Repeat(`{"id":1},`, 1000)+`{"id":2}]}`)
	})
	c := newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.MaxBodyBytes = 1000 })
	_, err := c.ListInstancesV0(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") || len(srv.requests()) != 1 {
		t.Fatalf("err %v after %d requests", err, len(srv.requests()))
	}
}

func TestDefaultUserAgentAndNoKey(t *testing.T) {
	srv := newServer(t, okReply)
	c, err := vastapi.New(vastapi.Config{BaseURL: srv.URL + "/api/v0/", Pacing: map[string]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SearchOffers(context.Background(), vastapi.Query{}); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()[0]
	if ua := r.Header.Get("User-Agent"); ua != vastapi.DefaultUserAgent {
		t.Errorf("User-Agent %q", ua)
	}
	if _, ok := r.Header["Authorization"]; ok {
		t.Errorf("an Authorization header without a key")
	}
	if r.Path != "/api/v0/bundles/" {
		t.Errorf("a base URL ending in /api/v0 doubled the prefix: %s", r.Path)
	}
}

func TestObserverSeesTransportFailuresAsCodeZero(t *testing.T) {
	srv := newServer(t, flaky(1, func(w http.ResponseWriter, _ *http.Request) { reset(w) }))
	c := newClient(t, srv.URL)
	if _, err := c.ListInstancesV0(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := *c.infos
	if len(got) != 2 || got[0].Code != 0 || got[0].Attempt != 1 || got[1].Code != 200 || got[1].Attempt != 2 || got[1].Endpoint != vastapi.EPListV0 {
		t.Fatalf("observations %+v", got)
	}
}

func TestSearchReplyWithStructuredErrorFields(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, `{"detail":[{"msg":"x"}],"success":false,"error":{"code":1}}`)
	})
	_, err := newClient(t, srv.URL).SearchOffers(context.Background(), vastapi.Query{})
	var ae *vastapi.APIError
	if !errors.As(err, &ae) || ae.Status != 200 {
		t.Fatalf("err %v, want an APIError for success:false", err)
	}
}
