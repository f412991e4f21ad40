package daemon

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

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
