package record

import (
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// An offer is written as the fields in which it differs from a base offer: the same offer at
// the poll before, another offer of its machine, or nothing (every field then that is not
// zero). Most offers do not change from one poll to the next, and the offers of one machine
// share most fields, so a poll's frame and even a segment's first frame are small.

// appendDiff writes the recorded fields of cur that differ from base (nil: the zero offer):
// their count, then each as the step from the previous one's index and its value.
func appendDiff(e *enc, base, cur *vastapi.Offer) {
	if base == nil {
		base = &zeroOffer
	}
	var idx [128]uint16
	diff := idx[:0]
	for i := range fields {
		if !fields[i].equal(base, cur) {
			diff = append(diff, uint16(i))
		}
	}
	e.uvarint(uint64(len(diff)))
	prev := -1
	for _, i := range diff {
		e.uvarint(uint64(int(i) - prev - 1))
		fields[i].write(e, cur)
		prev = int(i)
	}
}

var zeroOffer vastapi.Offer

// column is one field as a segment wrote it: this build's field (-1: none) and its kind.
type column struct {
	local int
	kind  kind
}

// localColumns are this build's fields, as a segment written by it lists them.
func localColumns() []column {
	cols := make([]column, len(fields))
	for i, f := range fields {
		cols[i] = column{local: i, kind: f.kind}
	}
	return cols
}

// applyDiff reads a diff written by appendDiff into o, which holds its base.
func applyDiff(d *dec, cols []column, o *vastapi.Offer) {
	n := d.count()
	c := -1
	for range n {
		c += int(d.uvarint()) + 1
		if c >= len(cols) {
			d.fail("field index past the table")
			return
		}
		if l := cols[c].local; l >= 0 {
			fields[l].read(d, o)
		} else {
			skip(d, cols[c].kind)
		}
		if d.err != nil {
			return
		}
	}
}

// appendTable writes the field table a segment's offers are written with.
func appendTable(e *enc) {
	e.uvarint(uint64(len(fields)))
	for _, f := range fields {
		e.str(f.name)
		e.b = append(e.b, byte(f.kind))
	}
}

// readTable reads a segment's field table and maps it onto this build's fields. A field of
// another kind than this build's is corrupt: it cannot be read into this build's offer.
func readTable(d *dec) []column {
	n := d.count()
	cols := make([]column, 0, n)
	for range n {
		name, k := d.str(), kind(d.byte())
		if d.err != nil {
			return nil
		}
		l, ok := fieldByName[name]
		switch {
		case !ok:
			l = -1
		case fields[l].kind != k:
			d.fail("field " + name + " has another type")
			return nil
		}
		cols = append(cols, column{local: l, kind: k})
	}
	return cols
}
