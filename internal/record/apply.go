package record

import (
	"fmt"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// applyKey reads a key frame: the market whole. Against what the reader held, it is handed over
// as the changes between the two (so a recording with a gap, or cut by a crash, reads on as one
// stream).
func (r *Reader) applyKey(body []byte, at time.Time) (Change, error) {
	d := dec{b: body}
	n := d.count()
	markets := make([]Market, 0, n)
	for range n {
		markets = append(markets, Market{Name: d.str(), Query: d.str()})
	}
	cols := readTable(&d)
	count := d.count()
	next := make(map[int64]*vastapi.Offer, count)
	var prev *vastapi.Offer
	id := int64(0)
	for range count {
		id += d.varint()
		o := &vastapi.Offer{}
		if prev != nil {
			*o = *prev
		}
		applyDiff(&d, cols, o)
		if d.err != nil {
			return Change{}, d.err
		}
		o.ID = id
		next[id] = o
		prev = o
	}
	if d.err != nil {
		return Change{}, d.err
	}
	ch := Change{At: at, Markets: markets}
	for id, o := range next {
		old, ok := r.live[id]
		switch {
		case !ok:
			ch.New = append(ch.New, withDuration(o, at))
		case !sameRecorded(old, o):
			ch.Changed = append(ch.Changed, withDuration(o, at))
		}
	}
	for id := range r.live {
		if _, ok := next[id]; !ok {
			ch.Gone = append(ch.Gone, id)
		}
	}
	sortChange(&ch)
	r.cur.cols = cols
	r.live, r.markets = next, markets
	clear(r.ghosts)
	return ch, nil
}

// applyDelta reads a delta frame's changes and applies them.
func (r *Reader) applyDelta(body []byte, at time.Time) (Change, error) {
	d := dec{b: body}
	cols := r.cur.cols
	ch := Change{At: at, Markets: r.markets}
	ch.Gone = make([]int64, d.count())
	id := int64(0)
	for i := range ch.Gone {
		id += d.varint()
		ch.Gone[i] = id
	}
	if d.err != nil {
		return Change{}, d.err
	}
	for _, id := range ch.Gone {
		o, ok := r.live[id]
		if !ok {
			return Change{}, fmt.Errorf("%w: offer %d gone but not listed", errCorrupt, id)
		}
		r.ghosts[id] = o
		delete(r.live, id)
	}
	n := d.count()
	id = 0
	for range n {
		id += d.varint()
		o, ok := r.live[id]
		if !ok {
			return Change{}, fmt.Errorf("%w: offer %d changed but not listed", errCorrupt, id)
		}
		// In place: what the last change handed over is valid only until this call.
		applyDiff(&d, cols, o)
		if d.err != nil {
			return Change{}, d.err
		}
		ch.Changed = append(ch.Changed, withDuration(o, at))
	}
	if err := r.applyAdded(&d, &ch, at); err != nil {
		return Change{}, err
	}
	return ch, nil
}

// applyAdded reads a delta frame's new offers, each written against its base.
func (r *Reader) applyAdded(d *dec, ch *Change, at time.Time) error {
	n := d.count()
	id := int64(0)
	for range n {
		id += d.varint()
		baseID := d.varint()
		o := &vastapi.Offer{}
		if baseID != 0 {
			b, ok := r.live[baseID]
			if !ok {
				b, ok = r.ghosts[baseID]
			}
			if !ok {
				return fmt.Errorf("%w: offer %d written against unknown offer %d", errCorrupt, id, baseID)
			}
			*o = *b
		}
		applyDiff(d, r.cur.cols, o)
		if d.err != nil {
			return d.err
		}
		if _, dup := r.live[id]; dup {
			return fmt.Errorf("%w: offer %d added twice", errCorrupt, id)
		}
		o.ID = id
		r.live[id] = o
		delete(r.ghosts, id)
		ch.New = append(ch.New, withDuration(o, at))
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes past the changes", errCorrupt, len(d.b))
	}
	return nil
}

// sameRecorded reports whether a and b agree on every recorded field.
func sameRecorded(a, b *vastapi.Offer) bool {
	for i := range fields {
		if !fields[i].equal(a, b) {
			return false
		}
	}
	return true
}

func sortChange(ch *Change) {
	by := func(a, b *vastapi.Offer) int { return cmpInt(a.ID, b.ID) }
	slices.SortFunc(ch.New, by)
	slices.SortFunc(ch.Changed, by)
	slices.Sort(ch.Gone)
}
