//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSimulateDemo is the README's first command: `vastwatch run --simulate` with no config and
// no key serves metrics and the status page, and the embedded example fleet reaches its target
// within 60 seconds of start.
func TestSimulateDemo(t *testing.T) {
	bin := vastwatchBinary(t)
	addr := freePort(t)
	start := time.Now()
	p := startProc(t, "vastwatch run --simulate", nil, bin, "run", "--simulate",
		"--web.listen-address", addr, "--state.dir", t.TempDir())
	eventually(t, 60*time.Second, time.Second, "example fleet at target", func() error {
		_, body, err := httpGet("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		target, running := -1.0, -1.0
		for _, line := range strings.Split(body, "\n") {
			if _, err := fmt.Sscanf(line, `vastwatch_fleet_target_instances{fleet="inference"} %g`, &target); err == nil {
				continue
			}
			_, _ = fmt.Sscanf(line, `vast_instances{fleet="inference",state="running"} %g`, &running)
		}
		if target < 2 || running != target {
			return fmt.Errorf("target %v, running %v", target, running)
		}
		return nil
	})
	t.Logf("example fleet at target %s after start", time.Since(start).Round(time.Second))
	code, body, err := httpGet("http://" + addr + "/")
	if err != nil || code != 200 || !strings.Contains(body, "inference") || !strings.Contains(body, "running") {
		t.Fatalf("status page: %d %v", code, err)
	}
	if strings.Contains(p.output(), "level=ERROR") {
		t.Fatalf("errors in the demo log:\n%s", lastLines(p.output(), 30))
	}
}
