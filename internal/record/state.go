package record

import (
	"slices"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Market is a market a recording was made from: its name in the recording config and its query
// (the vast CLI syntax, with its type and disk).
type Market struct {
	Name  string `json:"name"`
	Query string `json:"query"`
}

// MarketOffers is one market's offers at a poll, as its search returned them.
type MarketOffers struct {
	Market
	Offers []vastapi.Offer
}

// held is an offer as the writer keeps it between polls: its recorded fields, written whole
// (a diff against the zero offer), their fingerprint, and its machine.
type held struct {
	rec     []byte
	sum     uint64
	machine int64
}

// writerState is the market as the writer last wrote it, and the offers gone from it since
// the segment began (an offer that comes back is written against what it was).
type writerState struct {
	live   map[int64]held
	ghosts map[int64]held
}

// delta is one poll's changes, written as a delta frame's body.
type delta struct {
	gone    []int64
	changed []*vastapi.Offer
	added   []*vastapi.Offer
	// next is the state after the poll.
	next map[int64]held
}

// union is the poll's offers across markets, each once (the first market's), ordered by id.
func union(markets []MarketOffers) []*vastapi.Offer {
	n := 0
	for _, m := range markets {
		n += len(m.Offers)
	}
	seen := make(map[int64]bool, n)
	out := make([]*vastapi.Offer, 0, n)
	for _, m := range markets {
		for i := range m.Offers {
			o := &m.Offers[i]
			if !seen[o.ID] {
				seen[o.ID] = true
				out = append(out, o)
			}
		}
	}
	slices.SortFunc(out, func(a, b *vastapi.Offer) int { return cmpInt(a.ID, b.ID) })
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// whole is o written against the zero offer.
func whole(o *vastapi.Offer) []byte {
	var e enc
	appendDiff(&e, nil, o)
	return e.b
}

// decodeWhole reads a record written by whole.
func decodeWhole(rec []byte) vastapi.Offer {
	var o vastapi.Offer
	d := dec{b: rec}
	applyDiff(&d, localColumns(), &o)
	return o
}

// diff works out the changes from s to the offers cur.
func (s *writerState) diff(cur []*vastapi.Offer) delta {
	dl := delta{next: make(map[int64]held, len(cur))}
	for _, o := range cur {
		sum := fingerprint(o)
		prev, ok := s.live[o.ID]
		if ok && prev.sum == sum {
			dl.next[o.ID] = prev // unchanged: not encoded again
			continue
		}
		dl.next[o.ID] = held{rec: whole(o), sum: sum, machine: o.MachineID}
		if ok {
			dl.changed = append(dl.changed, o)
		} else {
			dl.added = append(dl.added, o)
		}
	}
	for id := range s.live {
		if _, ok := dl.next[id]; !ok {
			dl.gone = append(dl.gone, id)
		}
	}
	slices.Sort(dl.gone)
	return dl
}

// base is what an added offer is written against: itself when it was listed earlier in the
// segment, else the lowest-numbered offer of its machine listed at the poll before (as this
// poll's changes left it, which is how a reader holds it when it reads the added offers), else
// nothing. It returns the base's id (0: none) and the base.
func (s *writerState) base(o *vastapi.Offer, byMachine map[int64]int64, next map[int64]held) (int64, *vastapi.Offer) {
	if g, ok := s.ghosts[o.ID]; ok {
		b := decodeWhole(g.rec)
		return o.ID, &b
	}
	if id, ok := byMachine[o.MachineID]; ok {
		h, listed := next[id]
		if !listed {
			h = s.live[id] // gone at this poll: a reader holds it as it was
		}
		b := decodeWhole(h.rec)
		return id, &b
	}
	return 0, nil
}

// appendDelta writes dl's body against s, and moves s on to the state after it.
func (s *writerState) appendDelta(e *enc, dl delta) {
	byMachine := map[int64]int64{}
	for id, h := range s.live {
		if cur, ok := byMachine[h.machine]; !ok || id < cur {
			byMachine[h.machine] = id
		}
	}
	e.uvarint(uint64(len(dl.gone)))
	prev := int64(0)
	for _, id := range dl.gone {
		e.varint(id - prev)
		prev = id
	}
	e.uvarint(uint64(len(dl.changed)))
	prev = 0
	for _, o := range dl.changed {
		e.varint(o.ID - prev)
		prev = o.ID
		b := decodeWhole(s.live[o.ID].rec)
		appendDiff(e, &b, o)
	}
	e.uvarint(uint64(len(dl.added)))
	prev = 0
	for _, o := range dl.added {
		e.varint(o.ID - prev)
		prev = o.ID
		id, b := s.base(o, byMachine, dl.next)
		e.varint(id)
		appendDiff(e, b, o)
	}
	for _, id := range dl.gone {
		s.ghosts[id] = s.live[id]
	}
	for _, o := range dl.added {
		delete(s.ghosts, o.ID)
	}
	s.live = dl.next
}

// appendKey writes a key frame's body: the markets, the field table and every offer of live,
// ordered by machine and id, each against the one before it.
func appendKey(e *enc, markets []Market, live map[int64]held) {
	e.uvarint(uint64(len(markets)))
	for _, m := range markets {
		e.str(m.Name)
		e.str(m.Query)
	}
	appendTable(e)
	ids := make([]int64, 0, len(live))
	for id := range live {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int {
		if c := cmpInt(live[a].machine, live[b].machine); c != 0 {
			return c
		}
		return cmpInt(a, b)
	})
	e.uvarint(uint64(len(ids)))
	var prevOffer *vastapi.Offer
	prev := int64(0)
	for _, id := range ids {
		o := decodeWhole(live[id].rec)
		e.varint(id - prev)
		prev = id
		appendDiff(e, prevOffer, &o)
		prevOffer = &o
	}
}
