package clock_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFakeTimerFiresWhenTheClockReachesItsDeadline(t *testing.T) {
	f := clock.NewFake(t0)
	tm := f.NewTimer(time.Minute)
	f.Advance(59 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("fired before its deadline")
	default:
	}
	f.Advance(time.Second)
	select {
	case at := <-tm.C():
		if !at.Equal(t0.Add(time.Minute)) {
			t.Fatalf("fired with %v, want %v", at, t0.Add(time.Minute))
		}
	default:
		t.Fatal("did not fire at its deadline")
	}
	if f.Timers() != 0 {
		t.Fatalf("%d timers still armed after firing", f.Timers())
	}
}

func TestFakeTimerStopAndReset(t *testing.T) {
	f := clock.NewFake(t0)
	tm := f.NewTimer(time.Minute)
	if !tm.Stop() {
		t.Fatal("Stop of an armed timer reported false")
	}
	f.Advance(time.Hour)
	select {
	case <-tm.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of a stopped timer reported it active")
	}
	f.Sleep(context.Background(), time.Second)
	select {
	case <-tm.C():
	default:
		t.Fatal("a reset timer did not fire on Sleep past its deadline")
	}
}

func TestFakeAfterFuncRunsOnAdvance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := clock.NewFake(t0)
		ran := make(chan struct{})
		f.AfterFunc(time.Minute, func() { close(ran) })
		f.Set(t0.Add(2 * time.Minute))
		synctest.Wait()
		select {
		case <-ran:
		default:
			t.Fatal("AfterFunc did not run once the clock passed its deadline")
		}
	})
}

func TestRealClockTimersOnSynctestTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c clock.Clock = clock.Real{}
		start := c.Now()
		<-c.NewTimer(time.Hour).C()
		if got := c.Now().Sub(start); got != time.Hour {
			t.Fatalf("timer fired after %v, want 1h", got)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.Sleep(ctx, time.Hour); err == nil {
			t.Fatal("Sleep on a cancelled context returned nil")
		}
	})
}
