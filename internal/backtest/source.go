package backtest

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vastwatch/vastwatch/internal/record"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastsim"
)

// broadcast reads a recording once and feeds it to every config's simulator. Each simulator
// pulls the changes in its own time; a change is kept until all have pulled it, as a copy (the
// reader's offers change on its next read).
type broadcast struct {
	r    *record.Reader
	buf  []vastsim.FeedChange
	base int   // index of buf[0] in the recording's changes
	pos  []int // per simulator, the index of the next change it pulls
	// first and last are the times of the first and the last change read.
	first, last time.Time
	polls       int
	markets     []record.Market
	err         error
	done        bool
}

func openRecording(dir string, from, to time.Time, consumers int) (*broadcast, error) {
	r, err := record.OpenReader(dir, from, to)
	if err != nil {
		return nil, err
	}
	b := &broadcast{r: r, pos: make([]int, consumers)}
	// The first change is the market the replay starts from: read it now, so the start is known.
	if !b.fill() {
		if b.err != nil {
			return nil, b.err
		}
		return nil, fmt.Errorf("recording %s has no poll between %s and %s", dir, fmtTime(from), fmtTime(to))
	}
	return b, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "its ends"
	}
	return t.Format(time.RFC3339)
}

// fill reads one more change into the buffer; false at the end or on an error.
func (b *broadcast) fill() bool {
	if b.done {
		return false
	}
	ch, err := b.r.Next()
	if err != nil {
		b.done = true
		if !errors.Is(err, io.EOF) {
			b.err = err
		}
		return false
	}
	fc := vastsim.FeedChange{At: ch.At, Gone: append([]int64(nil), ch.Gone...),
		New: copyOffers(ch.New), Changed: copyOffers(ch.Changed)}
	if b.polls == 0 {
		b.first, b.markets = ch.At, ch.Markets
	}
	b.last = ch.At
	b.polls++
	b.buf = append(b.buf, fc)
	return true
}

func copyOffers(in []*vastapi.Offer) []*vastapi.Offer {
	if len(in) == 0 {
		return nil
	}
	vals := make([]vastapi.Offer, len(in))
	out := make([]*vastapi.Offer, len(in))
	for i, o := range in {
		vals[i] = *o
		out[i] = &vals[i]
	}
	return out
}

// feed is one simulator's view of the broadcast.
type feed struct {
	b *broadcast
	i int
}

func (b *broadcast) feed(i int) vastsim.Feed { return &feed{b: b, i: i} }

// Next implements vastsim.Feed.
func (f *feed) Next() (vastsim.FeedChange, bool) {
	b := f.b
	k := b.pos[f.i]
	for k >= b.base+len(b.buf) {
		if !b.fill() {
			return vastsim.FeedChange{}, false
		}
	}
	ch := b.buf[k-b.base]
	b.pos[f.i]++
	// Drop what every simulator has pulled.
	low := b.pos[0]
	for _, p := range b.pos[1:] {
		low = min(low, p)
	}
	if drop := low - b.base; drop > 0 {
		clear(b.buf[:drop])
		b.buf = b.buf[drop:]
		b.base = low
	}
	return ch, true
}
