package vastsim

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// quiet disables drift so a test's prices stay where it put them.
var quiet = Options{Seed: 11, DriftInterval: -1}

func TestRaceOnTakenOffer(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(nil)
	h.mustCreate(o.ID, 10, 0)
	st, m := h.create(o.ID, 10, 0)
	if st != 404 {
		t.Fatalf("second rent: status %d, want 404", st)
	}
	wantMsg := "error 404/3603: no_such_ask Instance type by id " + itoa(o.ID) + " is not available."
	if m["success"] != false || m["error"] != "invalid_args" || m["msg"] != wantMsg || m["ask_id"] != float64(o.ID) {
		t.Fatalf("second rent body %v, want the real no_such_ask body", m)
	}
}

func TestVanishedOfferBetweenSearchAndCreate(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(nil)
	if err := h.sim.VanishOffer(o.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.create(o.ID, 10, 0); st != 404 {
		t.Fatalf("create on a vanished offer: %d, want 404", st)
	}
	for _, got := range h.search(`{"rentable":{"eq":true},"machine_id":{"eq":` + itoa(o.MachineID) + `}}`) {
		if shares(got.GPUIDs, o.GPUIDs) {
			t.Fatalf("offer %d overlapping the vanished one is still listed", got.ID)
		}
	}
}

func TestOverlapReleaseOnDestroy(t *testing.T) {
	h := newHarness(t, quiet)
	o, others := h.overlapping()
	id := h.mustCreate(o.ID, 10, 0)
	listed := func() map[int64]bool {
		got := map[int64]bool{}
		for _, x := range h.search(`{"rentable":{"eq":true},"machine_id":{"eq":` + itoa(o.MachineID) + `}}`) {
			got[x.ID] = true
		}
		return got
	}
	l := listed()
	if l[o.ID] {
		t.Fatal("the rented offer is still listed as rentable")
	}
	for _, p := range others {
		if l[p.ID] {
			t.Fatalf("offer %d sharing GPUs with the rented one is still listed", p.ID)
		}
		if st, _ := h.create(p.ID, 10, 0); st != 404 {
			t.Fatalf("renting overlapping offer %d: %d, want 404", p.ID, st)
		}
	}
	if r := h.do("DELETE", "/api/v0/instances/"+itoa(id)+"/", `{}`); r.status != 200 {
		t.Fatalf("destroy: %d %s", r.status, r.body)
	}
	l = listed()
	for _, p := range append(others, o) {
		if !l[p.ID] {
			t.Fatalf("offer %d did not come back after destroy", p.ID)
		}
	}
}

func TestLifecycleTiming(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(func(o vastapi.Offer) bool { return o.DirectPortCount > 1 })
	id := h.mustCreate(o.ID, 10, 0)
	steps := []struct {
		at      time.Duration
		status  any
		running bool
	}{
		{0, nil, false},
		{4 * time.Second, nil, false},
		{5 * time.Second, "loading", false},
		{64 * time.Second, "loading", false},
		{65 * time.Second, "running", true},
		{time.Hour, "running", true},
	}
	for _, st := range steps {
		t.Run(st.at.String(), func(t *testing.T) {
			h.clk.Set(t0.Add(st.at))
			in := h.show(id)
			if in["actual_status"] != st.status {
				t.Fatalf("actual_status %v, want %v", in["actual_status"], st.status)
			}
			if in["intended_status"] != "running" || in["cur_state"] != "running" || in["next_state"] != "running" {
				t.Fatalf("states %v/%v/%v, want running", in["intended_status"], in["cur_state"], in["next_state"])
			}
			if st.status == "loading" && !strings.Contains(in["status_msg"].(string), "Pull") {
				t.Fatalf("loading status_msg %q has no pull text", in["status_msg"])
			}
			hasPorts := in["ports"] != nil
			hasIP := in["public_ipaddr"] != ""
			if hasPorts != st.running || hasIP != st.running {
				t.Fatalf("ports %v public_ipaddr %q while %v", in["ports"], in["public_ipaddr"], st.status)
			}
			if in["start_date"] != float64(t0.Unix()) {
				t.Fatalf("start_date %v, want the creation time %v", in["start_date"], t0.Unix())
			}
			if in["ssh_host"] == "" || in["ssh_port"] == float64(0) {
				t.Fatal("no ssh host/port")
			}
			if env, ok := in["extra_env"].([]any); !ok || env == nil {
				t.Fatalf("extra_env %v is not a list", in["extra_env"])
			}
		})
	}
}

func TestSpeedShortensDelaysNotTimestamps(t *testing.T) {
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, Speed: 10})
	o := h.rentable(nil)
	id := h.mustCreate(o.ID, 10, 0)
	h.clk.Set(t0.Add(6500 * time.Millisecond)) // (5s+60s)/10
	in := h.show(id)
	if in["actual_status"] != "running" {
		t.Fatalf("at speed 10 the instance reads %v after 6.5s, want running", in["actual_status"])
	}
	if in["start_date"] != float64(t0.Unix()) {
		t.Fatalf("start_date %v shifted from the clock's %v", in["start_date"], t0.Unix())
	}
	before := h.sim.Credit()
	h.clk.Advance(time.Hour)
	want := 10 * (o.DphBase + o.StorageCost*10/720)
	if got := before - h.sim.Credit(); math.Abs(got-want) > 1e-9 {
		t.Fatalf("one clock hour at speed 10 billed %v, want %v", got, want)
	}
}

func TestExactCreditAfterSimulatedHours(t *testing.T) {
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, Credit: 500})
	o := h.rentable(func(o vastapi.Offer) bool { return o.DphBase > 0.2 })
	a := h.mustCreate(o.ID, 40, 0)
	stopped := h.rentable(nil)
	b := h.mustCreate(stopped.ID, 20, 0)
	h.clk.Advance(2 * time.Minute)
	if r := h.do("PUT", "/api/v0/instances/"+itoa(b)+"/", `{"state":"stopped"}`); r.status != 200 {
		t.Fatal(r.status)
	}
	// A price rise after renting does not reach the rented instance.
	if err := h.sim.SetPrice(o.ID, o.DphBase*3); err != nil {
		t.Fatal(err)
	}
	const hours = 10
	h.clk.Set(t0.Add(hours * time.Hour))
	boot := 65.0 / 3600 // provisioning 5s + loading 60s, not billed for GPU
	storA := o.StorageCost * 40 / 720
	storB := stopped.StorageCost * 20 / 720
	gpuB := stopped.DphBase * (120.0 - 65) / 3600
	want := 500 - o.DphBase*(hours-boot) - storA*hours - storB*hours - gpuB
	if got := h.sim.Credit(); math.Abs(got-want) > 1e-9 {
		t.Fatalf("credit after %dh = %.12f, want %.12f", hours, got, want)
	}
	u := h.do("GET", "/api/v0/users/current/", nil).json(t)
	if math.Abs(u["credit"].(float64)-want) > 1e-9 {
		t.Fatalf("users/current credit %v, want %v", u["credit"], want)
	}
	if in := h.show(a); in["dph_base"] != o.DphBase {
		t.Fatalf("rented price moved to %v from %v", in["dph_base"], o.DphBase)
	}
}

func TestZeroCreditStopsEverythingThenDeletes(t *testing.T) {
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, Credit: 1})
	o := h.rentable(func(o vastapi.Offer) bool { return o.DphBase > 0.5 })
	id := h.mustCreate(o.ID, 10, 0)
	rate := o.DphBase + o.StorageCost*10/720
	// GPU billing starts once running, 65s after creation; storage from creation.
	hoursToZero := 65.0/3600 + (1-o.StorageCost*10/720*65/3600)/rate
	h.clk.Set(t0.Add(time.Duration((hoursToZero + 0.01) * float64(time.Hour))))
	in := h.show(id)
	if in["actual_status"] != "stopped" || in["intended_status"] != "stopped" {
		t.Fatalf("at zero credit the instance reads %v/%v, want stopped", in["actual_status"], in["intended_status"])
	}
	if c := h.sim.Credit(); c > 0 || c < -0.01 {
		t.Fatalf("credit %v, want just below zero (storage keeps billing)", c)
	}
	if r := h.do("PUT", "/api/v0/instances/"+itoa(id)+"/", `{"state":"running"}`).json(t); r["success"] != false {
		t.Fatalf("start without credit: %v", r)
	}
	h.clk.Advance(25 * time.Hour)
	if in := h.show(id); in != nil {
		t.Fatalf("instance still exists after the grace period: %v", in["actual_status"])
	}
}

func TestOutbidAndRebid(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(func(o vastapi.Offer) bool { return o.MinBid > 0.05 })
	bid := o.MinBid * 1.2
	id := h.mustCreate(o.ID, 10, bid)
	h.clk.Advance(2 * time.Minute)
	if in := h.show(id); in["actual_status"] != "running" || in["is_bid"] != true || in["dph_base"] != bid {
		t.Fatalf("bid instance: %v is_bid %v dph_base %v", in["actual_status"], in["is_bid"], in["dph_base"])
	}
	if err := h.sim.SetMinBid(o.ID, bid*1.5); err != nil {
		t.Fatal(err)
	}
	in := h.show(id)
	for _, k := range []string{"cur_state", "intended_status", "next_state"} {
		if in[k] != "stopped" {
			t.Fatalf("outbid: %s = %v, want stopped", k, in[k])
		}
	}
	before := h.sim.Credit()
	h.clk.Advance(time.Hour)
	if got, want := before-h.sim.Credit(), o.StorageCost*10/720; math.Abs(got-want) > 1e-9 {
		t.Fatalf("outbid hour billed %v, want storage only %v", got, want)
	}
	if r := h.do("PUT", "/api/v0/instances/bid_price/"+itoa(id)+"/", map[string]any{"client_id": "me", "price": bid * 2}); r.status != 200 {
		t.Fatalf("rebid: %d %s", r.status, r.body)
	}
	h.clk.Advance(2 * time.Minute)
	if in := h.show(id); in["actual_status"] != "running" || in["intended_status"] != "running" || in["dph_base"] != bid*2 {
		t.Fatalf("after rebid: %v/%v at %v", in["actual_status"], in["intended_status"], in["dph_base"])
	}
}

func TestBidBelowFloorStillCreatesStoppedInstance(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(func(o vastapi.Offer) bool { return o.MinBid > 0.05 })
	st, m := h.create(o.ID, 10, o.MinBid/2)
	if m["success"] != false || m["new_contract"] == nil {
		t.Fatalf("low bid: %d %v, want success:false with new_contract", st, m)
	}
	in := h.show(int64(m["new_contract"].(float64)))
	if in == nil || in["actual_status"] != "stopped" || in["cur_state"] != "stopped" {
		t.Fatalf("low bid left %v, want a stopped instance", in)
	}
}

func TestLostReplyStillApplies(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(nil)
	h.sim.InjectFault(Fault{Method: "PUT", Endpoint: vastapi.EPCreate, Kind: FaultLostReply, Next: 1})
	req, _ := http.NewRequest("PUT", "http://sim.invalid/api/v0/asks/"+itoa(o.ID)+"/", strings.NewReader(`{"client_id":"me","image":"x","disk":10}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	_, err := h.hc.Do(req)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("lost reply: err %v, want a connection reset", err)
	}
	if n := len(h.sim.Instances()); n != 1 {
		t.Fatalf("%d instances after a lost create reply, want 1 (applied)", n)
	}
	if st, _ := h.create(o.ID, 10, 0); st != 404 {
		t.Fatalf("retrying the lost create: %d, want 404 (the offer is taken)", st)
	}
	reqs := h.sim.Requests()
	if r := reqs[0]; r.Status != 0 || r.Fault != string(FaultLostReply) || !r.Mutating || r.Endpoint != vastapi.EPCreate {
		t.Fatalf("log entry %+v", r)
	}
}

func TestFaults(t *testing.T) {
	cases := []struct {
		kind   FaultKind
		status int
		ctype  string
		body   string
	}{
		{Fault429Text, 429, "text/plain; charset=utf-8", "API requests too frequent"},
		{Fault429JSON, 429, "application/json", `"detail"`},
		{Fault500, 500, "text/html; charset=utf-8", "Internal Server Error"},
		{Fault502, 502, "text/html", "Bad Gateway"},
		{Fault503, 503, "text/html", "Unavailable"},
		{Fault504, 504, "text/html", "Time-out"},
		{FaultSuccessFail, 200, "application/json", `"success":false`},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			h := newHarness(t, quiet)
			h.sim.InjectFault(Fault{Endpoint: vastapi.EPCurrentUser, Kind: c.kind, Next: 2})
			for range 2 {
				r := h.do("GET", "/api/v0/users/current/", nil)
				if r.status != c.status || r.ctype != c.ctype || !strings.Contains(string(r.body), c.body) {
					t.Fatalf("%d %q %s", r.status, r.ctype, r.body)
				}
				if r.header.Get("Retry-After") != "" {
					t.Fatal("Retry-After sent")
				}
			}
			if r := h.do("GET", "/api/v0/users/current/", nil); r.status != 200 {
				t.Fatalf("fault outlived its Next=2: %d", r.status)
			}
			if r := h.do("POST", "/api/v0/bundles/", `{"limit":1}`); r.status != 200 {
				t.Fatalf("fault hit another endpoint: %d", r.status)
			}
		})
	}
	t.Run("reset", func(t *testing.T) {
		h := newHarness(t, quiet)
		h.sim.InjectFault(Fault{Kind: FaultReset, Next: 1})
		_, err := h.hc.Get("http://sim.invalid/api/v0/bundles/")
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("reset: %v", err)
		}
	})
	t.Run("slow waits on the clock", func(t *testing.T) {
		h := newHarness(t, quiet)
		h.sim.InjectFault(Fault{Kind: FaultSlow, Delay: 30 * time.Second, Next: 1})
		if r := h.do("POST", "/api/v0/bundles/", `{"limit":1}`); r.status != 200 {
			t.Fatal(r.status)
		}
		if d := h.clk.Now().Sub(t0); d != 30*time.Second {
			t.Fatalf("slow reply took %v of clock time, want 30s", d)
		}
	})
	t.Run("rate is seeded", func(t *testing.T) {
		pattern := func() string {
			h := newHarness(t, quiet)
			h.sim.InjectFault(Fault{Endpoint: vastapi.EPSearch, Kind: Fault503, Rate: 0.3})
			var b strings.Builder
			for range 60 {
				b.WriteString(itoa(int64(h.do("POST", "/api/v0/bundles/", `{"limit":1}`).status)))
			}
			return b.String()
		}
		a := pattern()
		if a != pattern() {
			t.Fatal("the same seed gave different fault patterns")
		}
		if n := strings.Count(a, "503"); n < 5 || n > 35 {
			t.Fatalf("%d of 60 requests failed at rate 0.3", n)
		}
	})
	t.Run("clear", func(t *testing.T) {
		h := newHarness(t, quiet)
		h.sim.InjectFault(Fault{Kind: Fault500, Rate: 1})
		h.sim.ClearFaults()
		if r := h.do("GET", "/api/v0/users/current/", nil); r.status != 200 {
			t.Fatal(r.status)
		}
	})
}

func TestAuth(t *testing.T) {
	h := newHarness(t, quiet)
	cases := []struct {
		name, method, path, key string
		status                  int
		msg                     string
	}{
		{"bearer key works", "GET", "/api/v0/users/current/", testKey, 200, ""},
		{"wrong key is 401 Invalid user key", "GET", "/api/v0/users/current/", "nope", 401, "Invalid user key"},
		{"no key is 403", "GET", "/api/v0/users/current/", "", 403, "This action requires login."},
		{"no key on instances is 403", "GET", "/api/v1/instances/", "", 403, "This action requires login."},
		{"search works without a key", "POST", "/api/v0/bundles/", "", 200, ""},
		{"gpu names work without a key", "GET", "/api/v0/gpu_names/unique/", "", 200, ""},
		{"wrong key on search is 401", "POST", "/api/v0/bundles/", "nope", 401, "Invalid user key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.doKey(c.method, c.path, `{"limit":1}`, c.key)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.msg != "" {
				if m := r.json(t); m["msg"] != c.msg || m["error"] != "auth_error" || m["success"] != false {
					t.Fatalf("body %v", m)
				}
			}
		})
	}
	t.Run("api_key query parameter works and is not logged", func(t *testing.T) {
		r := h.doKey("GET", "/api/v0/users/current/?api_key="+testKey, nil, "")
		if r.status != 200 {
			t.Fatal(r.status)
		}
		if u := r.json(t); u["api_key"] != testKey {
			t.Fatalf("users/current api_key %v, want the key echoed", u["api_key"])
		}
		for _, q := range h.sim.Requests() {
			if strings.Contains(q.Path, testKey) {
				t.Fatalf("key in the request log: %+v", q)
			}
		}
	})
}

func TestDestroyThenShowAndRepeat(t *testing.T) {
	h := newHarness(t, quiet)
	id := h.mustCreate(h.rentable(nil).ID, 10, 0)
	if r := h.do("DELETE", "/api/v0/instances/"+itoa(id)+"/", `{}`).json(t); r["success"] != true {
		t.Fatalf("destroy: %v", r)
	}
	if r := h.do("GET", "/api/v0/instances/"+itoa(id)+"/?owner=me", nil); string(r.body) != `{"instances":null}` {
		t.Fatalf("show after destroy: %s", r.body)
	}
	r := h.do("DELETE", "/api/v0/instances/"+itoa(id)+"/", `{}`)
	if m := r.json(t); r.status != 404 || m["error"] != "no_such_instance" || m["success"] != false {
		t.Fatalf("repeat destroy: %d %v", r.status, m)
	}
	if got := h.sim.Destroyed(); len(got) != 1 || got[0] != id {
		t.Fatalf("Destroyed() = %v", got)
	}
}

func TestStartStopAndLabel(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(nil)
	id := h.mustCreate(o.ID, 10, 0)
	h.clk.Advance(2 * time.Minute)
	put := func(body string) map[string]any {
		return h.do("PUT", "/api/v0/instances/"+itoa(id)+"/", body).json(t)
	}
	if r := put(`{"state":"stopped"}`); r["success"] != true {
		t.Fatal(r)
	}
	if in := h.show(id); in["actual_status"] != "stopped" || in["intended_status"] != "stopped" || in["ports"] != nil {
		t.Fatalf("after stop: %v", in["actual_status"])
	}
	if !h.offer(o.ID).Rentable {
		t.Fatal("a stopped instance's offer did not return to the market")
	}
	if r := put(`{"state":"running"}`); r["success"] != true {
		t.Fatal(r)
	}
	if in := h.show(id); in["actual_status"] != "loading" {
		t.Fatalf("after start: %v, want loading", in["actual_status"])
	}
	h.clk.Advance(time.Minute)
	if in := h.show(id); in["actual_status"] != "running" {
		t.Fatalf("a minute after start: %v", in["actual_status"])
	}
	if r := put(`{"label":"vastwatch:prod:web:abc"}`); r["success"] != true {
		t.Fatal(r)
	}
	if in := h.show(id); in["label"] != "vastwatch:prod:web:abc" {
		t.Fatalf("label %v", in["label"])
	}
	r := h.do("PUT", "/api/v0/instances/"+itoa(id)+"/", map[string]string{"label": strings.Repeat("x", 1025)})
	if r.status != 400 || r.json(t)["error"] != "label_too_long" {
		t.Fatalf("long label: %d %s", r.status, r.body)
	}
}

func TestStartWhileGPUsTakenWaitsInScheduling(t *testing.T) {
	h := newHarness(t, quiet)
	o, others := h.overlapping()
	id := h.mustCreate(o.ID, 10, 0)
	h.do("PUT", "/api/v0/instances/"+itoa(id)+"/", `{"state":"stopped"}`)
	other := h.mustCreate(others[0].ID, 10, 0)
	h.do("PUT", "/api/v0/instances/"+itoa(id)+"/", `{"state":"running"}`)
	if in := h.show(id); in["actual_status"] != "scheduling" {
		t.Fatalf("start with GPUs taken: %v, want scheduling", in["actual_status"])
	}
	h.do("DELETE", "/api/v0/instances/"+itoa(other)+"/", `{}`)
	if in := h.show(id); in["actual_status"] != "loading" {
		t.Fatalf("after the GPUs freed: %v, want loading", in["actual_status"])
	}
}

func TestFailInstance(t *testing.T) {
	cases := []struct {
		mode   string
		status any
		msg    string
	}{
		{FailExited, "exited", "Exited"},
		{FailUnknown, "unknown", ""},
		{FailOffline, "offline", ""},
		{FailOCI, "created", ": OCI runtime create failed:"},
		{FailScheduling, "scheduling", ""},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			h := newHarness(t, quiet)
			id := h.mustCreate(h.rentable(nil).ID, 10, 0)
			h.clk.Advance(2 * time.Minute)
			if err := h.sim.FailInstance(id, c.mode); err != nil {
				t.Fatal(err)
			}
			before := h.sim.Credit()
			h.clk.Advance(10 * time.Hour)
			in := h.show(id)
			if in["actual_status"] != c.status {
				t.Fatalf("actual_status %v, want %v", in["actual_status"], c.status)
			}
			if c.msg != "" && !strings.Contains(in["status_msg"].(string), c.msg) {
				t.Fatalf("status_msg %q", in["status_msg"])
			}
			if got, want := before-h.sim.Credit(), 10*in["storage_total_cost"].(float64); math.Abs(got-want) > 1e-9 {
				t.Fatalf("a failed instance billed %v in 10h, want storage only %v", got, want)
			}
		})
	}
	t.Run("stuck never leaves loading", func(t *testing.T) {
		h := newHarness(t, quiet)
		id := h.mustCreate(h.rentable(nil).ID, 10, 0)
		if err := h.sim.FailInstance(id, FailStuck); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(48 * time.Hour)
		if in := h.show(id); in["actual_status"] != "loading" {
			t.Fatalf("stuck instance reads %v", in["actual_status"])
		}
	})
	t.Run("a stopped instance is never stuck loading: only a start gets stuck", func(t *testing.T) {
		h := newHarness(t, quiet)
		id := h.mustCreate(h.rentable(nil).ID, 10, 0)
		h.clk.Advance(2 * time.Minute)
		if r := h.do("PUT", "/api/v0/instances/"+itoa(id)+"/", `{"state":"stopped"}`); r.status != 200 {
			t.Fatalf("stop: %d", r.status)
		}
		if err := h.sim.FailInstance(id, FailStuck); err == nil {
			t.Fatal("a stopped instance was made stuck loading")
		}
		if in := h.show(id); in["actual_status"] != "stopped" {
			t.Fatalf("the stopped instance reads %v", in["actual_status"])
		}
	})
	t.Run("unknown mode and id", func(t *testing.T) {
		h := newHarness(t, quiet)
		if err := h.sim.FailInstance(1, FailExited); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestPaginationV1(t *testing.T) {
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, Machines: 200, Credit: 10000})
	var ids []int64
	for _, o := range h.sim.Offers() {
		if len(ids) == 60 {
			break
		}
		if h.offer(o.ID).Rentable {
			ids = append(ids, h.mustCreate(o.ID, 10, 0))
		}
	}
	base := "/api/v1/instances/?select_filters=%7B%7D&order_by=%5B%7B%22col%22%3A+%22id%22%2C+%22dir%22%3A+%22asc%22%7D%5D&limit=25"
	var got []int64
	path := base
	pages := 0
	for {
		r := h.do("GET", path, nil)
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.status, r.body)
		}
		m := r.json(t)
		list := m["instances"].([]any)
		if len(list) > 25 {
			t.Fatalf("page of %d", len(list))
		}
		for _, x := range list {
			got = append(got, int64(x.(map[string]any)["id"].(float64)))
		}
		pages++
		if m["next_token"] == nil {
			break
		}
		path = base + "&after_token=" + m["next_token"].(string)
	}
	if pages != 3 || len(got) != 60 {
		t.Fatalf("%d pages, %d instances; want 3 pages of 60", pages, len(got))
	}
	for i := range got {
		if got[i] != ids[i] {
			t.Fatalf("instance %d is %d, want %d (ascending id)", i, got[i], ids[i])
		}
	}
	t.Run("bad token is 400 invalid_token", func(t *testing.T) {
		r := h.do("GET", base+"&after_token=bogus", nil)
		if r.status != 400 || r.json(t)["error"] != "invalid_token" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("computed column filter is 400 invalid_request", func(t *testing.T) {
		r := h.do("GET", "/api/v1/instances/?select_filters="+urlQuery(`{"dph_total":{"lt":1}}`), nil)
		if r.status != 400 || r.json(t)["error"] != "invalid_request" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("filter on a stored column", func(t *testing.T) {
		r := h.do("GET", "/api/v1/instances/?select_filters="+urlQuery(`{"id":{"eq":`+itoa(ids[7])+`}}`), nil).json(t)
		if l := r["instances"].([]any); len(l) != 1 {
			t.Fatalf("%d rows", len(l))
		}
	})
	t.Run("select_cols projects, unknown read null", func(t *testing.T) {
		r := h.do("GET", "/api/v1/instances/?limit=3&select_cols="+urlQuery(`["id","label","nope"]`), nil).json(t)
		row := r["instances"].([]any)[0].(map[string]any)
		if len(row) != 3 || row["nope"] != nil || row["label"] != "t" {
			t.Fatalf("row %v", row)
		}
	})
	t.Run("limit 0 gives 5", func(t *testing.T) {
		r := h.do("GET", "/api/v1/instances/?limit=0", nil).json(t)
		if l := r["instances"].([]any); len(l) != 5 {
			t.Fatalf("%d rows", len(l))
		}
	})
	t.Run("v0 list is unpaginated", func(t *testing.T) {
		r := h.do("GET", "/api/v0/instances/?owner=me", nil).json(t)
		if r["instances_found"] != float64(60) || len(r["instances"].([]any)) != 60 {
			t.Fatalf("v0 list: %v", r["instances_found"])
		}
	})
}

func TestGPUNames(t *testing.T) {
	h := newHarness(t, quiet)
	m := h.doKey("GET", "/api/v0/gpu_names/unique/", nil, "").json(t)
	names, _ := m["gpu_names"].([]any)
	if m["success"] != true || len(names) < 10 {
		t.Fatalf("gpu names %v", m)
	}
}

func TestCharges(t *testing.T) {
	h := newHarness(t, quiet)
	id := h.mustCreate(h.rentable(nil).ID, 10, 0)
	h.clk.Advance(3 * time.Hour)
	if r := h.do("GET", "/api/v0/charges/", nil); r.status != 400 {
		t.Fatalf("charges without a day range: %d", r.status)
	}
	f := urlQuery(`{"day":{"gte":` + itoa(t0.Unix()-86400) + `,"lte":` + itoa(t0.Unix()+86400) + `}}`)
	m := h.do("GET", "/api/v0/charges/?select_filters="+f, nil).json(t)
	res := m["results"].([]any)
	if len(res) != 1 {
		t.Fatalf("results %v", res)
	}
	r0 := res[0].(map[string]any)
	if r0["source"] != "instance-"+itoa(id) || math.Abs(r0["amount"].(float64)-(100-h.sim.Credit())) > 1e-9 {
		t.Fatalf("charge %v does not add up to the credit spent", r0)
	}
}

func TestScopedKeys(t *testing.T) {
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, Keys: map[string][]string{
		"reader": {ScopeMisc, ScopeUserRead, ScopeInstanceRead},
	}})
	cases := []struct {
		name, method, path string
		status             int
	}{
		{"read scope lists instances", "GET", "/api/v1/instances/", 200},
		{"read scope reads the user", "GET", "/api/v0/users/current/", 200},
		{"misc scope searches", "POST", "/api/v0/bundles/", 200},
		{"no instance_write: create refused", "PUT", "/api/v0/asks/1/", 403},
		{"no instance_write: destroy refused", "DELETE", "/api/v0/instances/1/", 403},
		{"no billing_read: charges refused", "GET", "/api/v0/charges/", 403},
		{"control needs the full key", "GET", "/_sim/state", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := h.doKey(c.method, c.path, `{}`, "reader"); r.status != c.status {
				t.Fatalf("%d, want %d: %s", r.status, c.status, r.body)
			}
		})
	}
}

func TestRateLimitOnTheClock(t *testing.T) {
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, RateLimit: vastapi.DefaultPacing})
	if r := h.do("GET", "/api/v0/users/current/", nil); r.status != 200 {
		t.Fatal(r.status)
	}
	r := h.do("GET", "/api/v0/users/current/", nil)
	if r.status != 429 || r.header.Get("Retry-After") != "" || !strings.Contains(string(r.body), "threshold=1") {
		t.Fatalf("immediate repeat: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/api/v1/instances/", nil); r.status != 200 {
		t.Fatalf("another endpoint is limited separately: %d", r.status)
	}
	h.clk.Advance(time.Second)
	if r := h.do("GET", "/api/v0/users/current/", nil); r.status != 200 {
		t.Fatalf("after the threshold: %d", r.status)
	}
}

func TestControlOverHTTP(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(func(o vastapi.Offer) bool { return o.MinBid > 0.05 })
	post := func(path string, body any) int {
		t.Helper()
		return h.do("POST", path, body).status
	}
	if st := post("/_sim/credit", map[string]any{"credit": 7.5}); st != 200 || h.sim.Credit() != 7.5 {
		t.Fatalf("credit: %d %v", st, h.sim.Credit())
	}
	if st := post("/_sim/advance", map[string]any{"seconds": 90}); st != 200 || !h.clk.Now().Equal(t0.Add(90*time.Second)) {
		t.Fatalf("advance: %d %v", st, h.clk.Now())
	}
	if st := post("/_sim/offers/"+itoa(o.ID)+"/price", map[string]any{"dph_base": 9.0}); st != 200 || h.offer(o.ID).DphBase != 9 {
		t.Fatalf("price: %d", st)
	}
	if st := post("/_sim/offers/"+itoa(o.ID)+"/min_bid", map[string]any{"value": 3.0}); st != 200 || h.offer(o.ID).MinBid != 3 {
		t.Fatalf("min_bid: %d", st)
	}
	id := h.mustCreate(o.ID, 10, 0)
	if st := post("/_sim/instances/"+itoa(id)+"/fail", map[string]any{"status": "offline"}); st != 200 {
		t.Fatalf("fail: %d", st)
	}
	if in := h.show(id); in["actual_status"] != "offline" {
		t.Fatalf("after fail: %v", in["actual_status"])
	}
	if st := post("/_sim/instances/999/fail", map[string]any{"status": "offline"}); st != 404 {
		t.Fatalf("fail unknown id: %d", st)
	}
	other := h.rentable(nil)
	if st := post("/_sim/offers/"+itoa(other.ID)+"/vanish", nil); st != 200 || h.offer(other.ID).Rentable {
		t.Fatalf("vanish: %d", st)
	}
	if st := post("/_sim/faults", map[string]any{"endpoint": vastapi.EPCurrentUser, "kind": "503", "next": 1}); st != 200 {
		t.Fatalf("fault: %d", st)
	}
	if r := h.do("GET", "/api/v0/users/current/", nil); r.status != 503 {
		t.Fatalf("injected fault: %d", r.status)
	}
	if st := h.do("DELETE", "/_sim/faults", nil).status; st != 200 {
		t.Fatal(st)
	}
	m := h.do("GET", "/_sim/requests", nil).json(t)
	if reqs := m["requests"].([]any); len(reqs) < 3 {
		t.Fatalf("request log over HTTP: %d entries", len(reqs))
	}
	st := h.do("GET", "/_sim/state", nil).json(t)
	if st["instances"] != float64(1) || st["credit"] == nil {
		t.Fatalf("state %v", st)
	}
	if r := h.doKey("GET", "/_sim/state", nil, "wrong"); r.status != 401 {
		t.Fatalf("control with a wrong key: %d", r.status)
	}
}

func TestBulkAndReboot(t *testing.T) {
	h := newHarness(t, quiet)
	a := h.mustCreate(h.rentable(nil).ID, 10, 0)
	b := h.mustCreate(h.rentable(nil).ID, 10, 0)
	h.clk.Advance(2 * time.Minute)
	if r := h.do("PUT", "/api/v0/instances/reboot/"+itoa(a)+"/", `{}`).json(t); r["success"] != true {
		t.Fatalf("reboot: %v", r)
	}
	if in := h.show(a); in["actual_status"] != "loading" {
		t.Fatalf("after reboot: %v", in["actual_status"])
	}
	r := h.do("PUT", "/api/v0/instances/", map[string]any{"ids": []int64{a, b}, "state": "stopped"}).json(t)
	if r["success"] != true || len(r["results"].([]any)) != 2 {
		t.Fatalf("bulk stop: %v", r)
	}
	for _, id := range []int64{a, b} {
		if in := h.show(id); in["intended_status"] != "stopped" {
			t.Fatalf("instance %d after bulk stop: %v", id, in["intended_status"])
		}
	}
	r = h.do("DELETE", "/api/v0/instances/", map[string]any{"instance_ids": []int64{a, b, 1}}).json(t)
	res := r["results"].([]any)
	if len(res) != 3 || res[0].(map[string]any)["success"] != true || res[2].(map[string]any)["error"] != "no_such_instance" {
		t.Fatalf("bulk destroy: %v", r)
	}
	if len(h.sim.Instances()) != 0 {
		t.Fatal("instances left after bulk destroy")
	}
}
