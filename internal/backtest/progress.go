package backtest

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Progress returns an Options.Progress that shows a replay's progress on w: on a terminal, a
// bar redrawn in place with the replay's speed; otherwise (a file, a pipe, CI's log) a plain
// line at every tenth. It reads the wall clock, through now, only to tell the speed.
func Progress(w io.Writer, now func() time.Time) func(done, total time.Duration) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	p := &progress{w: w, tty: tty, now: now, start: now(), lastTenth: -1}
	return p.show
}

type progress struct {
	w         io.Writer
	tty       bool
	now       func() time.Time
	start     time.Time
	lastTenth int
	lastDraw  time.Time
	ended     bool
}

const day = 24 * time.Hour

func (p *progress) show(done, total time.Duration) {
	if p.ended {
		return
	}
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	final := done >= total
	elapsed := p.now().Sub(p.start)
	if !p.tty {
		if tenth := int(frac * 10); tenth > p.lastTenth || final {
			p.lastTenth = tenth
			fmt.Fprintf(p.w, "backtest: %3.0f%%, %.1f of %.1f days replayed in %s\n", 100*frac, days(done), days(total), elapsed.Round(time.Second))
		}
		p.ended = final
		return
	}
	if !final && p.now().Sub(p.lastDraw) < 100*time.Millisecond {
		return
	}
	p.lastDraw = p.now()
	const width = 30
	n := int(frac * width)
	rate := ""
	if s := elapsed.Seconds(); s > 0 {
		rate = fmt.Sprintf(", %.1f days/s", days(done)/s)
		if frac > 0 && !final {
			rate += fmt.Sprintf(", %s left", (time.Duration(float64(elapsed)/frac) - elapsed).Round(time.Second))
		}
	}
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %.1f/%.1f days%s\x1b[K", strings.Repeat("#", n), strings.Repeat("-", width-n), 100*frac, days(done), days(total), rate)
	if final {
		fmt.Fprintln(p.w)
		p.ended = true
	}
}

func days(d time.Duration) float64 { return float64(d) / float64(day) }
