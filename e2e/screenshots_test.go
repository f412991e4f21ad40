//go:build e2e && screenshots

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeScreenshots writes docs/screenshots/ from what a new user sees: the README's first
// command, `vastwatch run --simulate` with the embedded example config, once the example fleet
// is at its target. It is run by `make screenshots` only (the build tag keeps it out of
// `make test`, which never rewrites tracked files); look at the pictures before committing them.
func TestReadmeScreenshots(t *testing.T) {
	chromium := requireTool(t, "chromium")
	addr := freePort(t)
	startProc(t, "vastwatch run --simulate", nil, vastwatchBinary(t), "run", "--simulate",
		"--web.listen-address", addr, "--state.dir", t.TempDir())
	eventually(t, 90*time.Second, time.Second, "example fleet at target with a price chart", func() error {
		_, page, err := httpGet("http://" + addr + "/")
		if err != nil {
			return err
		}
		_, body, err := httpGet("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		var running float64
		for _, line := range strings.Split(body, "\n") {
			_, _ = fmt.Sscanf(line, `vast_instances{fleet="inference",state="running"} %g`, &running)
		}
		if running < 2 || !strings.Contains(page, "<svg") {
			return fmt.Errorf("%v running, chart drawn: %v", running, strings.Contains(page, "<svg"))
		}
		return nil
	})
	takeScreenshots(t, chromium, "http://"+addr+"/", filepath.Join(repoRoot(t), "docs", "screenshots"))
}
