package daemon

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/record"
)

const recordConfig = `poll_interval: 15s
owner: demo
markets:
  - name: one
    query: "num_gpus=1"
    order: "dph_total"
    limit: 500
    storage_gb: 20
  - name: watched
    query: "num_gpus>=2"
    order: "dph_total"
    limit: 500
fleets:
  - name: f
    market: one
    size: {min: 0, target: 1, max: 2}
    max_price_dollars_per_hour: 2
    budget_dollars_per_hour: 4
    instance: {image: "img", disk_gb: 20}
`

// TestRunRecordsEveryMarketWhole: with --record.dir each successful poll is recorded, the
// markets no fleet rents from whole too (not the digests the observation otherwise streams
// them to), and with WatchOnly (`vastwatch record`) nothing is ever sent but reads.
func TestRunRecordsEveryMarketWhole(t *testing.T) {
	for _, watch := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "rec")
		d := newTestDaemonWith(t, recordConfig, func(o *Options) {
			o.Record.Dir, o.WatchOnly = dir, watch
		})
		for range 4 {
			d.Cycle(context.Background())
			advance(d, 15*time.Second)
		}
		if err := d.recorder.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := record.OpenReader(dir, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		ch, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		multi := 0
		for _, o := range ch.New {
			if o.NumGPUs >= 2 {
				multi++
				if o.CPURAM == 0 || o.DphBase == 0 {
					t.Fatalf("watched offer %d recorded without its fields: %+v", o.ID, *o)
				}
			}
		}
		if multi == 0 || len(ch.Markets) != 2 {
			t.Fatalf("first poll: %d multi-GPU offers, markets %v", multi, ch.Markets)
		}
		polls := 1
		for {
			if _, err := r.Next(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			polls++
		}
		if polls != 4 {
			t.Errorf("watch-only %v: %d polls recorded, want 4", watch, polls)
		}
		creates := 0
		for _, rq := range d.sim.Requests() {
			if rq.Method != "GET" && rq.Method != "POST" {
				creates++
			}
		}
		if watch && creates > 0 {
			t.Errorf("record (watch-only) sent %d mutating requests", creates)
		}
		if !watch && creates == 0 {
			t.Errorf("run with a fleet below target sent no create")
		}
	}
}
