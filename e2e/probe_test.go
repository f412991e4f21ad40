//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// probeTarget is the server every fleet instance's readiness probe reaches: it answers 200 on
// /healthz and counts the probes.
type probeTarget struct {
	port string
	hits atomic.Int64
}

func startProbeTarget(t *testing.T) *probeTarget {
	p := &probeTarget{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		p.hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.port = u.Port()
	return p
}

// mapProbePorts maps, until the test ends, the probe port (8080/tcp) of each e2e instance the
// simulator lists to the probe target's port, as soon as the instance appears: with sim
// --public-ip 127.0.0.1 its probes then reach the target.
func (s *stack) mapProbePorts(p *probeTarget) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		mapped := map[int64]bool{}
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, id := range s.instanceIDs(ctx) {
				if !mapped[id] && s.setHostPort(ctx, id, p.port) == nil {
					mapped[id] = true
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// instanceIDs are the simulator's e2e instances; none when it cannot be asked.
func (s *stack) instanceIDs(ctx context.Context) []int64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.simAddr+"/api/v0/instances/?owner=me", nil)
	req.Header.Set("Authorization", "Bearer "+canary)
	resp, err := httpc.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out struct {
		Instances []struct {
			ID    int64   `json:"id"`
			Label *string `json:"label"`
		} `json:"instances"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	var ids []int64
	for _, in := range out.Instances {
		if in.Label != nil && strings.HasPrefix(*in.Label, "vastwatch:e2e:") {
			ids = append(ids, in.ID)
		}
	}
	return ids
}

func (s *stack) setHostPort(ctx context.Context, id int64, port string) error {
	body := fmt.Sprintf(`{"port":"8080/tcp","host_port":%s}`, port)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://%s/_sim/instances/%d/host_port", s.simAddr, id), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+canary)
	resp, err := httpc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("host_port of instance %d: HTTP %d", id, resp.StatusCode)
	}
	return nil
}
