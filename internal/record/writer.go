package record

import (
	"compress/flate"
	"errors"
	"fmt"
	"github.com/vastwatch/vastwatch/internal/vastapi"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Options configure a Writer.
type Options struct {
	Dir string
	// Segment is how long one segment file covers (default an hour).
	Segment time.Duration
	// MaxAge drops segments whose last poll is older than this (0: kept by age).
	MaxAge time.Duration
	// MaxBytes drops the oldest segments while all of them together are larger (0: no limit).
	MaxBytes int64
	Logger   *slog.Logger
}

// DefaultSegment is how long a segment file covers unless Options say otherwise.
const DefaultSegment = time.Hour

// Writer records polls into Dir. It is not safe for concurrent use: one poll loop owns it.
type Writer struct {
	o     Options
	log   *slog.Logger
	zw    *flate.Writer
	state writerState
	// markets are the current segment's; lastAt the last poll written (zero: none yet).
	markets []Market
	lastAt  time.Time
	seg     *segment
	index   *indexFile
}

// segment is the open segment file.
type segment struct {
	f     *os.File
	name  string
	from  time.Time
	polls int
	bytes int64
}

// Open starts recording into dir, creating it when needed. It never appends to a segment that
// is already there: the first poll starts a new one.
func Open(o Options) (*Writer, error) {
	if o.Dir == "" {
		return nil, errors.New("record: no directory")
	}
	if o.Segment <= 0 {
		o.Segment = DefaultSegment
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	idx, err := loadIndex(o.Dir)
	if err != nil {
		return nil, err
	}
	zw, _ := flate.NewWriter(nil, flate.DefaultCompression)
	return &Writer{o: o, log: o.Logger, zw: zw, index: idx, state: writerState{live: map[int64]held{}, ghosts: map[int64]held{}}}, nil
}

// Record writes the poll at at: its markets' offers as changes since the poll before. A poll
// not after the last one is refused. After a failed write the segment is closed, and the next
// poll starts a new one with the whole market.
func (w *Writer) Record(at time.Time, markets []MarketOffers) error {
	if !w.lastAt.IsZero() && !at.After(w.lastAt) {
		return fmt.Errorf("record: poll at %s is not after the last one at %s", at.Format(time.RFC3339Nano), w.lastAt.Format(time.RFC3339Nano))
	}
	ms := make([]Market, len(markets))
	for i, m := range markets {
		ms[i] = m.Market
	}
	cur := union(markets)
	continuing := w.seg != nil && slices.Equal(ms, w.markets)
	if w.seg != nil && (!continuing || at.Sub(w.seg.from) >= w.o.Segment) {
		w.closeSegment()
	}
	if w.seg == nil {
		return w.start(at, ms, cur, continuing)
	}
	return w.writeDelta(at, cur)
}

// start opens a new segment. Continuing the last segment's markets, it begins with the market
// as the last poll left it and then this poll's changes, so a reader of both skips the copy;
// otherwise with this poll's whole market.
func (w *Writer) start(at time.Time, ms []Market, cur []*vastapi.Offer, continuing bool) error {
	from := at
	if continuing {
		from = w.lastAt
	}
	if err := w.openSegment(at, from); err != nil {
		return err
	}
	w.markets = ms
	clear(w.state.ghosts)
	if continuing {
		var e enc
		appendKey(&e, ms, w.state.live)
		if err := w.write(frameHeader{kind: frameKey, flags: flagContinues, at: w.lastAt.UnixNano(), count: len(w.state.live)}, e.b, w.lastAt); err != nil {
			return err
		}
		return w.writeDelta(at, cur)
	}
	dl := (&writerState{}).diff(cur)
	var e enc
	appendKey(&e, ms, dl.next)
	if err := w.write(frameHeader{kind: frameKey, at: at.UnixNano(), count: len(dl.next)}, e.b, at); err != nil {
		return err
	}
	w.state.live = dl.next
	return nil
}

func (w *Writer) writeDelta(at time.Time, cur []*vastapi.Offer) error {
	dl := w.state.diff(cur)
	var e enc
	next := writerState{live: w.state.live, ghosts: w.state.ghosts}
	next.appendDelta(&e, dl)
	if err := w.write(frameHeader{kind: frameDelta, at: at.UnixNano(), count: len(dl.next)}, e.b, at); err != nil {
		return err
	}
	w.state = next
	return nil
}

// write appends one frame to the open segment and syncs it. A failure closes the segment.
func (w *Writer) write(h frameHeader, body []byte, at time.Time) error {
	b, err := appendFrame(nil, h, body, w.zw)
	if err == nil {
		_, err = w.seg.f.Write(b)
	}
	if err == nil {
		err = w.seg.f.Sync()
	}
	if err != nil {
		name := w.seg.name
		w.log.Error("recording: segment closed after a failed write", "segment", name, "err", err)
		w.closeSegment()
		return fmt.Errorf("record: write %s: %w", name, err)
	}
	w.seg.polls++
	w.seg.bytes += int64(len(b))
	w.lastAt = at
	return nil
}

// SegmentName is the file name of a segment opened for the poll at at: fixed width, so names
// sort as times do. (A segment that continues another also holds, first, the market as that
// one's last poll left it, which is earlier.)
func SegmentName(from time.Time) string {
	return from.UTC().Format("20060102T150405.000000000Z") + segmentExt
}

const segmentExt = ".vwr"

func (w *Writer) openSegment(at, from time.Time) error {
	name := SegmentName(at)
	f, err := os.OpenFile(filepath.Join(w.o.Dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if _, err := f.WriteString(magic); err != nil {
		f.Close()
		return fmt.Errorf("record: %w", err)
	}
	w.seg = &segment{f: f, name: name, from: from, bytes: int64(len(magic))}
	syncDir(w.o.Dir)
	return nil
}

// closeSegment closes the open segment, adds it to the index and applies the retention.
func (w *Writer) closeSegment() {
	s := w.seg
	w.seg = nil
	if s == nil {
		return
	}
	if err := s.f.Close(); err != nil {
		w.log.Warn("recording: close segment", "segment", s.name, "err", err)
	}
	if s.polls > 0 {
		w.index.add(IndexEntry{File: s.name, From: s.from, To: w.lastAt, Polls: s.polls, Bytes: s.bytes})
	}
	w.retain()
	if err := w.index.save(); err != nil {
		w.log.Warn("recording: index not saved; readers scan the segments instead", "err", err)
	}
}

// Close ends the open segment. The writer must not be used after it.
func (w *Writer) Close() error {
	w.closeSegment()
	return nil
}

// syncDir makes a new file's name durable; best effort (some filesystems refuse).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
