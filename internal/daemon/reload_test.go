package daemon

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vastwatch "github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/policy"
)

func testHolder(t *testing.T, path string) (*configHolder, *[]bool) {
	var results []bool
	h := &configHolder{
		path: path,
		parse: func(b []byte, src string) (*policy.Config, error) {
			return policy.Parse(b, src, func(string) string { return "" })
		},
		logger:   newTestLogger(t),
		now:      time.Now,
		onResult: func(ok bool, _ time.Time, _ error) { results = append(results, ok) },
	}
	return h, &results
}

func TestBadReloadKeepsTheRunningConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, vastwatch.ExampleConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	h, results := testHolder(t, path)
	if err := h.load(nil); err != nil {
		t.Fatal(err)
	}
	before := h.current()
	if err := os.WriteFile(path, []byte("poll_interval: 15s\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := h.reload("test")
	if err == nil || !strings.Contains(err.Error(), "bogus (line 2)") {
		t.Fatalf("reload error %v, want the unknown key with its line", err)
	}
	if h.current() != before {
		t.Fatal("a failed reload replaced the running config")
	}
	if h.lastError() == "" || len(*results) != 1 || (*results)[0] {
		t.Fatalf("failed reload not reported: lastError %q results %v", h.lastError(), *results)
	}
	// The file watch sees the next edit, and a good file is swapped in.
	var seen [32]byte
	if err := os.WriteFile(path, vastwatch.ExampleConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if !h.changed(&seen) {
		t.Fatal("content back to the running config's after a failed reload is a change (it clears the failure)")
	}
	if err := h.reload("file changed"); err != nil || h.lastError() != "" {
		t.Fatalf("restoring the running content: %v %q", err, h.lastError())
	}
	if h.changed(&seen) {
		t.Fatal("content equal to the running config, after a good reload, is not a change")
	}
	edited := bytes.Replace(vastwatch.ExampleConfig, []byte("poll_interval: 15s"), []byte("poll_interval: 20s"), 1)
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	if !h.changed(&seen) {
		t.Fatal("an edited file is a change")
	}
	if err := h.reload("file changed"); err != nil {
		t.Fatal(err)
	}
	if h.current().PollInterval != 20*time.Second || h.lastError() != "" || !(*results)[2] {
		t.Fatalf("good reload not applied: %v %q %v", h.current().PollInterval, h.lastError(), *results)
	}
}
