package daemon

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// A reloaded config's warnings are logged, one line each: an operator inside a value
// (`gpu_name= num_gpus>>2`, one value as the vast CLI reads it) is named with its market.
func TestAReloadLogsTheConfigsWarnings(t *testing.T) {
	d := newTestDaemon(t, watchOnlyConfig)
	var logs bytes.Buffer
	d.cfg.logger = slog.New(slog.NewTextHandler(&logs, nil))
	typo := strings.Replace(watchOnlyConfig, "    limit: 100\n", "    limit: 100\n  - {name: typo, query: \"gpu_name= num_gpus>>2\"}\n", 1)
	if err := os.WriteFile(d.o.ConfigFile, []byte(typo), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.cfg.reload("test"); err != nil {
		t.Fatal(err)
	}
	var warned []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, `msg="config warning"`) {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "level=WARN") ||
		!strings.Contains(warned[0], `.query (line `) || !strings.Contains(warned[0], `the value of gpu_name, 'num_gpus>>2', holds an operator (>)`) {
		t.Fatalf("config warnings logged: %q\nall logs:\n%s", warned, logs.String())
	}
}
