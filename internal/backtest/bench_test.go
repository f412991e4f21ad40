package backtest

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// BenchmarkBacktest30Days replays 30 days of the simulator's drifting market polled every
// minute (43,200 polls of about 5,000 offers, recorded as `run --simulate --record.dir` would)
// with two configs, as `vastwatch backtest --config a.yaml --config b.yaml --recording DIR`
// does. Target: at most 60 s on a 2-core machine (docs/design.md §11). Making the recording
// is not timed.
func BenchmarkBacktest30Days(b *testing.B) {
	dir := scratchDir(b)
	offers := simRecording(b, dir, 1265, 30*24*60, 10*time.Minute)
	cfgs := loadConfigs(b, "a.yaml", "b.yaml")
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		rep, err := Run(context.Background(), Options{Configs: cfgs, Recording: dir})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Source.Polls != 30*24*60 || rep.Configs[0].Cycles != 30*24*60 {
			b.Fatalf("%d polls, %d cycles", rep.Source.Polls, rep.Configs[0].Cycles)
		}
	}
	b.ReportMetric(float64(offers), "offers")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/replay")
	// The process's CPU time says what the replay costs whatever else loads the machine.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/replay")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRecordingSize records a day of a 5,000-offer market polled every minute and reports
// its size: the simulator's own drift (every 10 minutes) and `run --simulate`'s (its default
// speed of 30 drifts every 20 seconds, three steps a poll). Target: at most 20 MB a day.
func BenchmarkRecordingSize(b *testing.B) {
	for _, c := range []struct {
		name  string
		drift time.Duration
	}{{"drift=10m", 10 * time.Minute}, {"drift=20s", 20 * time.Second}} {
		b.Run(c.name, func(b *testing.B) {
			var size int64
			for range b.N {
				dir := scratchDir(b)
				simRecording(b, dir, 1265, 24*60, c.drift)
				size = dirSize(b, dir)
			}
			b.ReportMetric(float64(size)/1e6, "MB/day")
		})
	}
}
