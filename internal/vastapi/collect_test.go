package vastapi

import (
	"slices"
	"testing"
)

func collect(c *offerCollector, hint int, ids ...int64) []Offer {
	c.reset(hint)
	for _, id := range ids {
		c.add(&Offer{ID: id})
	}
	return c.list()
}

func idsOf(offers []Offer) []int64 {
	out := make([]int64, len(offers))
	for i := range offers {
		out[i] = offers[i].ID
	}
	return out
}

func seq(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

func TestOfferCollector(t *testing.T) {
	cases := []struct {
		name     string
		hint, n  int
		wantCap  int // the list's capacity: the hint's when it is kept, else exact
		keepHead bool
	}{
		{"a first search gathers blocks and copies them once into an exact list", 0, 3*offerBlock + 17, 3*offerBlock + 17, false},
		{"an empty reply is an empty list", 0, 0, 0, false},
		{"a reply the hint fits is the hinted list itself", 1000, 990, 1000, true},
		{"a reply that fills the hint exactly is the hinted list", 1000, 1000, 1000, true},
		{"a reply past the hint is copied once into an exact list", 1000, 1001 + offerBlock, 1001 + offerBlock, false},
		{"a reply far smaller than the hint is copied so the slack is freed", 1000, 500, 500, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c offerCollector
			c.reset(tc.hint)
			head := c.head[:cap(c.head)]
			for _, id := range seq(tc.n) {
				c.add(&Offer{ID: id})
			}
			got := c.list()
			if !slices.Equal(idsOf(got), seq(tc.n)) {
				t.Fatalf("offers out of order or lost: %d of %d", len(got), tc.n)
			}
			if cap(got) != tc.wantCap {
				t.Errorf("capacity %d, want %d", cap(got), tc.wantCap)
			}
			if kept := tc.n > 0 && len(head) > 0 && &got[0] == &head[0]; kept != tc.keepHead {
				t.Errorf("hinted list returned as is: %v, want %v", kept, tc.keepHead)
			}
		})
	}
	t.Run("a retried reply starts over", func(t *testing.T) {
		var c offerCollector
		c.reset(10)
		for _, id := range seq(400) {
			c.add(&Offer{ID: id})
		}
		if got := collect(&c, 10, 7, 8, 9); !slices.Equal(idsOf(got), []int64{7, 8, 9}) {
			t.Fatalf("after a restart: %v", idsOf(got))
		}
	})
}

func TestSizeHints(t *testing.T) {
	var h sizeHints
	if got := h.get("q"); got != 0 {
		t.Fatalf("an unseen search hints %d, want 0", got)
	}
	h.set("q", 5000)
	if got := h.get("q"); got < 5000 || got > 5000+5000/10 {
		t.Fatalf("a 5,000-offer search hints %d, want a little over 5,000", got)
	}
	for i := range maxSizeHints + 1 {
		h.set(string(rune('a'+i)), i+1)
	}
	if len(h.n) > maxSizeHints {
		t.Fatalf("%d searches remembered, bound %d", len(h.n), maxSizeHints)
	}
}
