//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/record"
)

const recordConfig = `poll_interval: 1s
owner: rec
account: {credit_floor_dollars: 0, max_spend_dollars_per_hour: 20}
markets:
  - name: gpu1
    query: "num_gpus=1"
    order: "dph_total"
    limit: 200
    storage_gb: 20
fleets:
  - name: web
    market: gpu1
    size: {min: 1, target: 2, max: 3}
    max_price_dollars_per_hour: 2
    budget_dollars_per_hour: 6
    instance: {image: "img", disk_gb: 20}
`

// recordedPolls reads dir as a backtest would and counts the polls and the cut segments.
func recordedPolls(t *testing.T, dir string) (int, int) {
	t.Helper()
	r, err := record.OpenReader(dir, time.Time{}, time.Time{})
	if err != nil {
		return 0, 0
	}
	n := 0
	for {
		if _, err := r.Next(); errors.Is(err, io.EOF) {
			return n, len(r.Cuts())
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// TestRecordingSurvivesAKill: `run --simulate --record.dir` records for a while and is killed
// (SIGKILL, no shutdown); the recording replays with `vastwatch backtest` up to its last whole
// poll, and so does one whose last frame the kill cut in two.
func TestRecordingSurvivesAKill(t *testing.T) {
	bin := vastwatchBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(recordConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(dir, "rec")
	p := startProc(t, "vastwatch run", nil, bin, "run", "--simulate", "--simulate.machines", "200", "--config.file", cfg,
		"--record.dir", rec, "--state.dir", filepath.Join(dir, "state"), "--web.listen-address", freePort(t))
	eventually(t, 60*time.Second, 200*time.Millisecond, "8 polls recorded", func() error {
		if n, _ := recordedPolls(t, rec); n < 8 {
			return errors.New("fewer than 8 polls")
		}
		return nil
	})
	p.kill()
	polls, _ := recordedPolls(t, rec)
	replay := func() map[string]any {
		t.Helper()
		out, err := exec.Command(bin, "backtest", "--config", cfg, "--recording", rec, "-o", "json").Output()
		if err != nil {
			t.Fatalf("backtest: %v", err)
		}
		var rep map[string]any
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("backtest report: %v\n%s", err, out)
		}
		return rep
	}
	rep := replay()
	src := rep["source"].(map[string]any)
	if int(src["polls"].(float64)) != polls {
		t.Fatalf("backtest replayed %v polls of %d", src["polls"], polls)
	}
	// Cut the last segment inside its last frame, as a kill during the write would.
	names, _ := filepath.Glob(filepath.Join(rec, "*.vwr"))
	last := names[len(names)-1]
	fi, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(last, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	n, cuts := recordedPolls(t, rec)
	if n != polls-1 || cuts != 1 {
		t.Fatalf("after the cut: %d polls, %d cuts; before: %d polls", n, cuts, polls)
	}
	rep = replay()
	src = rep["source"].(map[string]any)
	if int(src["polls"].(float64)) != polls-1 || len(src["cuts"].([]any)) != 1 || !strings.Contains(src["cuts"].([]any)[0].(string), "runs past the end") {
		t.Fatalf("backtest of the cut recording: %v", src)
	}
}
