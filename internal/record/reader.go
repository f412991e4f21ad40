package record

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Change is one poll of a recording as a reader hands it over: what changed since the poll
// before. The first change a reader returns lists the whole market as New.
type Change struct {
	At time.Time
	// Markets are the markets the recording was made from at this poll.
	Markets []Market
	// New are offers listed now and not at the poll before, Changed those listed at both whose
	// recorded fields changed, whole as they are now, each ordered by id. Derived fields are
	// zero, except Duration, which is end_date − At. They are the reader's own: read-only, and
	// valid until the next call of Next.
	New, Changed []*vastapi.Offer
	// Gone are the ids of offers listed at the poll before and not now, ordered.
	Gone []int64
}

// Reader reads a recording's polls in time order, as changes, from one segment to the next.
type Reader struct {
	dir      string
	from, to time.Time
	names    []string
	idx      *indexFile
	cur      *segReader
	// live is the market as of the last poll read, ghosts the offers gone since its segment
	// began; lastAt is that poll's time.
	live, ghosts map[int64]*vastapi.Offer
	lastAt       time.Time
	markets      []Market
	started      bool // a change has been handed over (the next is not the whole market)
	cuts         []string
}

// OpenReader reads the recording in dir from from to to (zero: from its start, to its end).
func OpenReader(dir string, from, to time.Time) (*Reader, error) {
	names, err := segments(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("record: no recording in %s (no %s files)", dir, segmentExt)
	}
	idx, err := loadIndex(dir)
	if err != nil {
		return nil, err
	}
	r := &Reader{dir: dir, from: from, to: to, idx: idx, live: map[int64]*vastapi.Offer{}, ghosts: map[int64]*vastapi.Offer{}}
	// Skip the segments the index says end before from: each segment begins with the whole
	// market, so the first one read gives the market as it was at from.
	for i, n := range names {
		if e, ok := idx.entry(n); ok && !from.IsZero() && e.To.Before(from) && i+1 < len(names) {
			continue
		}
		r.names = append(r.names, names[i:]...)
		break
	}
	return r, nil
}

// Cuts describes the segments that ended inside a frame (a crash, a full disk): each read up to
// its last whole poll.
func (r *Reader) Cuts() []string { return r.cuts }

// Next returns the next poll at or after from: io.EOF after the last one (or past to).
func (r *Reader) Next() (Change, error) {
	for {
		if r.cur == nil {
			if len(r.names) == 0 {
				return Change{}, io.EOF
			}
			name := r.names[0]
			r.names = r.names[1:]
			sr, err := openSegReader(filepath.Join(r.dir, name))
			if err != nil {
				if errors.Is(err, errCut) {
					r.cuts = append(r.cuts, fmt.Sprintf("%s: %v", name, err))
					continue
				}
				return Change{}, err
			}
			r.cur = sr
		}
		ch, ok, err := r.frame()
		if err != nil {
			return Change{}, err
		}
		if !ok {
			continue
		}
		if !r.to.IsZero() && ch.At.After(r.to) {
			r.close()
			r.names = nil
			return Change{}, io.EOF
		}
		if !r.from.IsZero() && ch.At.Before(r.from) {
			continue
		}
		if !r.started {
			r.started = true
			ch = r.whole(ch.At)
		}
		return ch, nil
	}
}

func (r *Reader) close() {
	if r.cur != nil {
		r.cur.f.Close()
		r.cur = nil
	}
}

// frame reads the current segment's next frame and applies it. ok is false when it held no
// poll to hand over: the segment ended (or was cut), or a key frame repeated what was read.
func (r *Reader) frame() (Change, bool, error) {
	h, z, err := r.cur.fr.next()
	if err == io.EOF {
		r.close()
		return Change{}, false, nil
	}
	if err != nil {
		if errors.Is(err, errCut) {
			r.cuts = append(r.cuts, fmt.Sprintf("%s: %v", filepath.Base(r.cur.f.Name()), err))
			r.close()
			return Change{}, false, nil
		}
		return Change{}, false, fmt.Errorf("record: read %s: %w", r.cur.f.Name(), err)
	}
	at := time.Unix(0, h.at).UTC()
	if h.kind == frameKey && h.flags&flagContinues != 0 && at.Equal(r.lastAt) && h.count == len(r.live) && r.cur.cols == nil {
		// The market as the segment before left it, which this reader holds already.
		r.cur.cols = localColumns()
		return Change{}, false, nil
	}
	body, err := r.cur.fr.inflate(z)
	var ch Change
	if err == nil {
		if h.kind == frameKey {
			ch, err = r.applyKey(body, at)
		} else if r.cur.cols == nil {
			err = fmt.Errorf("%w: changes before the whole market", errCorrupt)
		} else {
			ch, err = r.applyDelta(body, at)
		}
	}
	if err != nil {
		// A frame that passed its checksum and still does not decode: the segment is damaged
		// from here on, as if cut.
		r.cuts = append(r.cuts, fmt.Sprintf("%s: frame at %s: %v", filepath.Base(r.cur.f.Name()), at.Format(time.RFC3339), err))
		r.close()
		return Change{}, false, nil
	}
	if len(r.live) != h.count {
		r.cuts = append(r.cuts, fmt.Sprintf("%s: frame at %s lists %d offers, its header %d", filepath.Base(r.cur.f.Name()), at.Format(time.RFC3339), len(r.live), h.count))
	}
	r.lastAt = at
	return ch, true, nil
}

// whole is the market as of the last poll read, as a change that lists it all as new.
func (r *Reader) whole(at time.Time) Change {
	ch := Change{At: at, Markets: r.markets, New: make([]*vastapi.Offer, 0, len(r.live))}
	for _, o := range r.live {
		ch.New = append(ch.New, withDuration(o, at))
	}
	slices.SortFunc(ch.New, func(a, b *vastapi.Offer) int { return cmpInt(a.ID, b.ID) })
	return ch
}

// withDuration sets o's duration as of at, from its end_date, and returns it.
func withDuration(o *vastapi.Offer, at time.Time) *vastapi.Offer {
	if o.EndDate.Valid {
		o.Duration = vastapi.Some(o.EndDate.V - float64(at.UnixNano())/1e9)
	}
	return o
}

// segReader is one open segment and its field table (nil until its key frame is read).
type segReader struct {
	f    *os.File
	fr   *frameReader
	cols []column
}

func openSegReader(path string) (*segReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("record: %w", err)
	}
	fr, err := newFrameReader(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &segReader{f: f, fr: fr}, nil
}
