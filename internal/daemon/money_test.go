package daemon

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// scrape is the daemon's /metrics exposition.
func scrape(t *testing.T, d *Daemon) string {
	t.Helper()
	rec := httptest.NewRecorder()
	d.exporter.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

const twoMarketsConfig = `poll_interval: 15s
owner: demo
markets:
  - name: first
    query: "num_gpus=1"
    order: "dph_total"
    limit: 50
  - name: second
    query: "num_gpus=2"
    order: "dph_total"
    limit: 50
`

// One failing search no longer blanks everything: the failed market says so in
// vastwatch_market_search_success, and the account, the instances and the other market still
// publish (issue 16 item 4).
func TestOneFailedSearchStillPublishesTheRest(t *testing.T) {
	d := newTestDaemon(t, twoMarketsConfig)
	// The first search of the cycle (market first) answers 200 success:false, which is not
	// retried.
	d.sim.InjectFault(vastsim.Fault{Endpoint: vastapi.EPSearch, Kind: vastsim.FaultSuccessFail, Next: 1})
	d.Cycle(context.Background())
	body := scrape(t, d)
	for _, want := range []string{
		`vastwatch_market_search_success{market="first"} 0`,
		`vastwatch_market_search_success{market="second"} 1`,
		`vast_offers{market="second"}`,
		"vast_account_credit_dollars 100",
		"vastwatch_poll_success 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `vast_offers{market="first"}`) {
		t.Error("the failed market exports offer series")
	}
	page, err := renderStatus(d.statusView())
	if err != nil || !strings.Contains(string(page), "search failed") {
		t.Fatalf("the status page does not say the search failed (%v)", err)
	}
}

// /sd lists an instance only at an address vastwatch may use: a hostile port mapping or a
// private IP (without allow_private_addresses) is left out (issue 16 item 6).
func TestServiceDiscoveryRefusesHostileAddresses(t *testing.T) {
	row := func(id int64, ip, port string) scaler.InstanceView {
		in := &vastapi.Instance{ID: id, PublicIPAddr: ip,
			Ports: map[string][]vastapi.PortBinding{"9100/tcp": {{HostPort: port}}}}
		return scaler.InstanceView{Instance: in, Managed: &scaler.Managed{Instance: in, Fleet: "web", Ready: true}}
	}
	v := &scaler.View{Instances: []scaler.InstanceView{
		row(1, "203.0.113.9", "20001"),
		row(2, "203.0.113.10", "1@127.0.0.1:9090/admin?x="),
		row(3, "10.0.0.7", "20003"),
		row(4, "127.0.0.1", "20004"),
	}}
	ports := map[string][]int{"web": {9100}}
	var got []string
	for _, g := range discoveryTargets(v, ports, "", false) {
		got = append(got, g.Targets...)
	}
	if want := []string{"203.0.113.9:20001"}; !slices.Equal(got, want) {
		t.Fatalf("/sd targets %v, want %v", got, want)
	}
	got = nil
	for _, g := range discoveryTargets(v, ports, "", true) {
		got = append(got, g.Targets...)
	}
	if want := []string{"10.0.0.7:20003", "127.0.0.1:20004", "203.0.113.9:20001"}; !slices.Equal(got, want) {
		t.Fatalf("/sd targets with allow_private_addresses %v, want %v", got, want)
	}
}

// echoCreates is the simulator's API, except that a create is refused with a message that
// echoes the request's image login and environment, as a validating API may.
type echoCreates struct{ next http.RoundTripper }

func (e echoCreates) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, "/api/v0/asks/") {
		return e.next.RoundTrip(r)
	}
	var req struct {
		ImageLogin string            `json:"image_login"`
		Env        map[string]string `json:"env"`
	}
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &req)
	msg, _ := json.Marshal(map[string]any{"success": false, "error": "invalid_args",
		"msg": fmt.Sprintf("bad image_login %s for env %v", req.ImageLogin, req.Env)})
	return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(msg)), Request: r}, nil
}

const secretsConfig = `poll_interval: 15s
owner: demo
markets:
  - name: m
    query: "num_gpus=1"
    order: "dph_total"
    limit: 50
fleets:
  - name: web
    market: m
    size: {min: 1, target: 1, max: 2}
    max_price_dollars_per_hour: 5
    budget_dollars_per_hour: 10
    instance:
      image: registry.example/app
      disk_gb: 10
      image_login: {env: REGISTRY_LOGIN}
      env:
        APP_TOKEN: {env: APP_TOKEN}
        PLAIN: visible-value
    drain: {webhook: {env: DRAIN_HOOK}}
`

// API error text is scrubbed of every secret value the config holds, not only the key: an
// error echoing the create's image login or a secret env value never reaches a log line or the
// status page (issue 16 item 6).
func TestAPIErrorsAreScrubbedOfTheConfigsSecrets(t *testing.T) {
	const login, token, hook = "-u deploy -p registry-pass-4711", "app-token-0815-secret", "https://lb.example/drain?token=hook-secret-99"
	env := map[string]string{"REGISTRY_LOGIN": login, "APP_TOKEN": token, "DRAIN_HOOK": hook}
	logs, page := refusedCreate(t, env, nil)
	noSecrets(t, logs, page, login, "registry-pass-4711", token)
	if !strings.Contains(logs, "visible-value") {
		t.Error("a plain env value was scrubbed too: the scrub is not by value")
	}
}

// A reload that changes a secret scrubs the new value from the API's replies from then on, not
// only the values the daemon started with.
func TestASecretChangedByAReloadIsScrubbedToo(t *testing.T) {
	env := map[string]string{"REGISTRY_LOGIN": "-u deploy -p old-pass-1111", "APP_TOKEN": "old-token-2222",
		"DRAIN_HOOK": "https://lb.example/drain?token=old-hook-3333"}
	logs, page := refusedCreate(t, env, func(d *Daemon) {
		env["REGISTRY_LOGIN"], env["APP_TOKEN"] = "-u deploy -p new-pass-4444", "new-token-5555"
		if err := d.cfg.reload("test"); err != nil {
			t.Fatal(err)
		}
	})
	noSecrets(t, logs, page, "new-pass-4444", "new-token-5555")
}

// refusedCreate runs one cycle of secretsConfig, its secrets read from env, against an API that
// refuses each create echoing its request; before runs first. It returns the log and the status
// page, having checked that both show the refused create.
func refusedCreate(t *testing.T, env map[string]string, before func(*Daemon)) (logs, page string) {
	t.Helper()
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, _ := newAPIDaemon(t, secretsConfig, func(next http.RoundTripper) http.RoundTripper { return echoCreates{next: next} },
		func(o *Options) { o.Getenv = func(k string) string { return env[k] } }, logger)
	if before != nil {
		before(d)
	}
	d.Cycle(context.Background())
	body, err := renderStatus(d.statusView())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "invalid_args") || !strings.Contains(string(body), "create fleet=web") {
		t.Fatalf("positive control: the refused create is neither logged nor shown:\n%s", buf.String())
	}
	return buf.String(), string(body)
}

// noSecrets fails for each secret the log or the page carries.
func noSecrets(t *testing.T, logs, page string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries the secret %q", secret)
		}
		if strings.Contains(page, secret) {
			t.Errorf("the status page carries the secret %q", secret)
		}
	}
}

// blockCreates is the simulator's API with every create held until release is closed; held
// says a create is being held.
type blockCreates struct {
	next    http.RoundTripper
	held    chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockCreates) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v0/asks/") {
		b.once.Do(func() { close(b.held) })
		<-b.release
	}
	return b.next.RoundTrip(r)
}

// newAPIDaemon is a daemon whose API requests go through transport to a simulator sharing its
// fake clock (not simulate mode: the way a real API is reached).
// mut changes the options; logger nil logs to the test.
func newAPIDaemon(t *testing.T, cfgText string, transport func(http.RoundTripper) http.RoundTripper, mut func(*Options), logger *slog.Logger) (*Daemon, *vastsim.Sim) {
	t.Helper()
	const key = "sim-key-0123456789"
	clk := clock.NewFake(testEpoch)
	sim, err := vastsim.New(vastsim.Options{Seed: 3, Machines: 60, Clock: clk, APIKey: key, Credit: 100})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigFile: path, StateDir: filepath.Join(dir, "state"), Listen: []string{"127.0.0.1:0"},
		StartGrace: -1, Clock: clk, APIURL: "http://vast.test", PacingFactor: -1, PacingSet: true,
		Transport: transport(sim.Transport())}
	if mut != nil {
		mut(&o)
	}
	if logger == nil {
		logger = newTestLogger(t)
	}
	d, err := New(o, policy.Env{APIKey: vastapi.NewSecret(key)}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return d, sim
}

// The status page never waits for a cycle: while a cycle is blocked in the middle of a create
// (holding the scaler), /, /metrics, /sd and /-/ready answer from the last published cycle
// (issue 16 item 5).
func TestTheHTTPSurfaceAnswersWhileACycleIsBlocked(t *testing.T) {
	block := &blockCreates{held: make(chan struct{}), release: make(chan struct{})}
	d, _ := newAPIDaemon(t, discoveryConfig, func(next http.RoundTripper) http.RoundTripper {
		block.next = next
		return block
	}, nil, nil)
	mux := surface{metrics: d.exporter.Handler(), status: d.statusView, ready: d.last.ready.Load,
		reload: func(context.Context) error { return nil }, telemetry: "/metrics",
		extraRoutes: map[string]http.Handler{"/sd": http.HandlerFunc(d.serveSD)}}.mux()
	cycled := make(chan struct{})
	go func() {
		defer close(cycled)
		d.Cycle(context.Background())
	}()
	<-block.held // the cycle is inside its first create, the scaler's lock held
	var released sync.Once
	release := func() { released.Do(func() { close(block.release) }) }
	defer func() { release(); <-cycled }()
	answered := make(chan string, 4)
	go func() {
		for _, path := range []string{"/", "/metrics", "/sd", "/-/ready"} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			answered <- fmt.Sprintf("%s %d", path, rec.Code)
		}
	}()
	// A generous watchdog, not a timing: the requests take microseconds, or forever if they
	// wait for the cycle.
	watchdog := time.NewTimer(time.Minute)
	defer watchdog.Stop()
	for _, want := range []string{"/ 200", "/metrics 200", "/sd 200", "/-/ready 503"} {
		select {
		case got := <-answered:
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		case <-watchdog.C:
			t.Fatal("the HTTP surface waited for the blocked cycle")
		}
	}
	release()
	<-cycled
	if !d.last.ready.Load() {
		t.Fatal("positive control: the released cycle did not publish")
	}
}

const monthlyConfig = `poll_interval: 15s
owner: demo
account:
  max_spend_dollars_per_month: 5
markets:
  - name: m
    query: "num_gpus=1"
    order: "dph_total"
    limit: 50
fleets:
  - name: web
    market: m
    size: {min: 1, target: 1, max: 2}
    max_price_dollars_per_hour: 5
    budget_dollars_per_hour: 10
    instance: {image: img, disk_gb: 10}
`

// Month-to-date spend is the larger of the spend book and Vast's own charges for the month: a
// lost book (a fresh state directory) does not make a monthly budget forget money already
// spent (issue 16 item 2).
func TestMonthToDateIsNeverBelowTheBill(t *testing.T) {
	d, sim := newAPIDaemon(t, monthlyConfig, func(next http.RoundTripper) http.RoundTripper { return next }, nil, nil)
	ctx := context.Background()
	offers, err := d.api.SearchOffers(ctx, vastapi.Query{Limit: 500})
	if err != nil || len(offers) == 0 {
		t.Fatalf("search: %d offers, %v", len(offers), err)
	}
	// The cheapest offer over $0.6/h: it bills the budget over within the simulator's $100.
	slices.SortFunc(offers, func(a, b vastapi.Offer) int { return cmp.Compare(a.DphTotal, b.DphTotal) })
	i := slices.IndexFunc(offers, func(o vastapi.Offer) bool { return o.DphTotal > 0.6 })
	if i < 0 {
		t.Fatal("positive control: no offer over $0.6/h")
	}
	dear := offers[i]
	// Rented by hand twelve hours ago, on the account the budget covers: ≥ $6 this month.
	if _, err := d.api.CreateInstance(ctx, dear.ID, vastapi.CreateRequest{Image: "img", DiskGB: 10, Label: "by-hand"}); err != nil {
		t.Fatal(err)
	}
	advance(d, 12*time.Hour)
	rows, err := d.api.Charges(ctx, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), d.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	billed := 0.0
	for _, r := range rows {
		billed += r.Amount
	}
	if billed <= 5 {
		t.Fatalf("positive control: the simulator billed $%.2f, not over the $5 budget", billed)
	}
	for range 2 {
		d.Cycle(ctx)
	}
	for _, in := range sim.Instances() {
		if in.Label.Or("") != "by-hand" {
			t.Fatalf("created instance %d (%s) with $%.2f billed this month against a $5 monthly budget", in.ID, in.Label.Or(""), billed)
		}
	}
	view := d.last.load().view
	if view == nil {
		t.Fatal("no cycle published")
	}
	if view.Account.MonthSpend < billed-1e-6 {
		t.Fatalf("month-to-date spend $%.2f, want at least the $%.2f billed", view.Account.MonthSpend, billed)
	}
	if fs := view.Fleets[0]; !slices.Contains(fs.Blocked, "monthly_budget") {
		t.Fatalf("fleet web blocked by %v, want monthly_budget", fs.Blocked)
	}
}

// The bill sums the month's share of every row for the account and, by source, for each
// instance; a negative or broken amount counts as nothing.
func TestBillOfChargesRows(t *testing.T) {
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := month.Add(10 * 24 * time.Hour)
	at := func(d time.Duration) float64 { return float64(month.Add(d).Unix()) }
	rows := []vastapi.Charge{
		{Start: at(time.Hour), End: at(3 * time.Hour), Type: "instance", Source: "instance-7", Amount: 99,
			Items: []vastapi.ChargeItem{{Type: "gpu", Amount: 2}, {Type: "bwd", Amount: 0.5}}},
		// A quarter of it inside the month.
		{Start: at(-30 * 24 * time.Hour), End: at(10 * 24 * time.Hour), Type: "instance", Source: "instance-8", Amount: 40},
		{Start: at(2 * time.Hour), End: at(2 * time.Hour), Type: "reserved", Source: "reservation-3", Amount: 7},
		{Start: at(2 * time.Hour), End: at(4 * time.Hour), Type: "instance", Source: "instance-7", Amount: -50},
		{Start: at(2 * time.Hour), End: at(4 * time.Hour), Type: "instance", Source: "instance-x", Amount: 1},
	}
	b := billOf(rows, month, now)
	if b.Month != "2026-11" || !b.At.Equal(now) || math.Abs(b.Account-(2.5+10+7+1)) > 1e-9 {
		t.Fatalf("bill %+v, want $20.50 for 2026-11", b)
	}
	if len(b.Instances) != 2 || math.Abs(b.Instances[7]-2.5) > 1e-9 || math.Abs(b.Instances[8]-10) > 1e-9 {
		t.Fatalf("by instance %v", b.Instances)
	}
}
