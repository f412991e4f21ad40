//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// simRequests reads the simulator's request log over its control API.
func (s *stack) simRequests() []struct {
	Method, Endpoint string
	Status           int
	Mutating         bool
} {
	s.t.Helper()
	req, _ := newRequest("GET", "http://"+s.simAddr+"/_sim/requests", "")
	req.Header.Set("Authorization", "Bearer "+canary)
	resp, err := httpc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Requests []struct {
			Method, Endpoint string
			Status           int
			Mutating         bool
		} `json:"requests"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatalf("sim requests: %v: %s", err, b)
	}
	return out.Requests
}

// ourInstances lists the simulator's live instances labelled with the e2e owner tag.
func (s *stack) ourInstances() ([]string, error) {
	req, _ := newRequest("GET", "http://"+s.simAddr+"/api/v0/instances/?owner=me", "")
	req.Header.Set("Authorization", "Bearer "+canary)
	resp, err := httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Instances []struct {
			Label *string `json:"label"`
		} `json:"instances"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	var labels []string
	for _, in := range out.Instances {
		if in.Label != nil && strings.HasPrefix(*in.Label, "vastwatch:e2e:") {
			labels = append(labels, *in.Label)
		}
	}
	return labels, nil
}

// TestSigtermDuringCreate stops the daemon while a create is in flight (the simulator holds the
// reply, then applies it): the daemon exits 0 with the create journalled, and after a restart
// with the same state dir the fleet reaches its target without renting anything twice.
func TestSigtermDuringCreate(t *testing.T) {
	s := newStack(t)
	s.startSim()
	s.simControl("POST", "/_sim/faults",
		`{"method":"PUT","endpoint":"/api/v0/asks/{id}/","kind":"slow","next":1,"delay":6000000000}`)
	run := s.startRun()
	journal := filepath.Join(s.stateDir, "journal.json")
	eventually(t, 60*time.Second, 50*time.Millisecond, "create intent journalled", func() error {
		b, err := os.ReadFile(journal)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), `"intent"`) {
			return fmt.Errorf("no intent yet")
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond) // the create request is now held by the simulator
	run.signal(syscall.SIGTERM)
	if code := run.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM during a create: %d", code)
	}
	b, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"unknown"`) && !strings.Contains(string(b), `"created"`) {
		t.Fatalf("the interrupted create is not journalled as unknown or created:\n%s", b)
	}
	time.Sleep(7 * time.Second) // the simulator's held create ends (applied, or dropped with the connection)

	// A short pending grace, so that a create the simulator dropped is given up in seconds
	// rather than the default ten minutes; an applied one is found by its label at once.
	s.startRun("--scaler.pending-grace", "15s")
	eventually(t, 90*time.Second, time.Second, "fleet at target after the restart", func() error {
		v, err := s.metricValue(`vast_instances{fleet="inference",state="running"}`)
		if err == nil && v != 2 {
			err = fmt.Errorf("running = %v", v)
		}
		return err
	})
	time.Sleep(5 * time.Second) // a few more cycles: nothing more may be rented
	labels, err := s.ourInstances()
	if err != nil {
		t.Fatal(err)
	}
	creates, deletes := 0, 0
	for _, r := range s.simRequests() {
		if r.Method == "PUT" && r.Endpoint == "/api/v0/asks/{id}/" && r.Status == 200 {
			creates++
		}
		if r.Method == "DELETE" {
			deletes++
		}
	}
	if deletes != 0 {
		t.Fatalf("%d destroys: something was rented beyond the target and had to be undone", deletes)
	}
	if len(labels) != 2 || creates != 2 {
		t.Fatalf("after the restart: %d managed instances %v and %d successful creates; want exactly 2 of each (nothing rented twice)",
			len(labels), labels, creates)
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if seen[l] {
			t.Fatalf("label %s rented twice", l)
		}
		seen[l] = true
	}
}

// oneInstanceID returns the id of one live instance of the e2e owner.
func (s *stack) oneInstanceID() int64 {
	s.t.Helper()
	if ids := s.instanceIDs(context.Background()); len(ids) > 0 {
		return ids[0]
	}
	s.t.Fatal("no e2e instance to fail")
	return 0
}
