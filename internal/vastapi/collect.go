package vastapi

import "sync"

// An Offer is about a kilobyte, so a 5,000-offer reply is 5 MB of []Offer. Grown by append, the
// list would be copied a dozen times on the way (about five times its size in garbage) and, at
// the last copy, live twice and a quarter over; that copy is a long-running daemon's peak
// memory. A repeated search (the daemon's polls) is instead sized from its previous reply, and a
// first or grown one is gathered in fixed blocks and copied once into a list of the exact size.

// offerBlock is how many offers a collector gathers per block past its first list.
const offerBlock = 256

// offerCollector gathers a reply's offers.
type offerCollector struct {
	head   []Offer   // filled first: sized from the hint, never grown
	blocks [][]Offer // the offers past head's capacity, offerBlock each
	n      int
}

// reset empties c for a reply expected to hold about hint offers (a retried reply starts over).
func (c *offerCollector) reset(hint int) {
	if cap(c.head) < hint {
		c.head = make([]Offer, 0, hint)
	}
	clear(c.head)
	c.head = c.head[:0]
	c.blocks, c.n = nil, 0
}

func (c *offerCollector) add(o *Offer) {
	c.n++
	if len(c.head) < cap(c.head) {
		c.head = append(c.head, *o)
		return
	}
	last := len(c.blocks) - 1
	if last < 0 || len(c.blocks[last]) == offerBlock {
		c.blocks = append(c.blocks, make([]Offer, 0, offerBlock))
		last++
	}
	c.blocks[last] = append(c.blocks[last], *o)
}

// list returns the offers in reply order. head is returned as it is when it holds them all and
// wastes at most an eighth of itself; otherwise they are copied once into an exact list.
func (c *offerCollector) list() []Offer {
	if len(c.blocks) == 0 && c.n >= cap(c.head)-cap(c.head)/8 {
		return c.head
	}
	out := make([]Offer, 0, c.n)
	out = append(out, c.head...)
	c.head = nil
	for i, b := range c.blocks {
		out = append(out, b...)
		c.blocks[i] = nil
	}
	c.blocks = nil
	return out
}

// sizeHints remembers how many offers each distinct search last returned.
type sizeHints struct {
	mu sync.Mutex
	n  map[string]int
}

// maxSizeHints bounds the searches remembered; past it the memory starts over.
const maxSizeHints = 64

// get is the capacity to give a search's list: its last count and a sixteenth more, so a market
// that grows a little between polls still fits; 0 when the search is new.
func (h *sizeHints) get(key string) int {
	h.mu.Lock()
	n := h.n[key]
	h.mu.Unlock()
	if n == 0 {
		return 0
	}
	return n + n/16 + 8
}

func (h *sizeHints) set(key string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil || len(h.n) >= maxSizeHints {
		h.n = make(map[string]int)
	}
	h.n[key] = n
}
