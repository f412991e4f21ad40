package vastapi

import (
	"cmp"
	"slices"
	"strings"
)

// Sort orders offers by q's order keys (asc or desc each), then by id ascending. It is stable.
// Null values sort after known ones in either direction; unknown columns do not order.
func (q *Query) Sort(offers []Offer) {
	keys := q.sortKeys()
	slices.SortStableFunc(offers, func(a, b Offer) int { return compareOffers(keys, &a, &b) })
}

type sortKey struct {
	f    field
	desc bool
}

func (q *Query) sortKeys() []sortKey {
	var keys []sortKey
	for _, o := range q.Order {
		f, ok := fields[o.Field]
		if !ok {
			continue
		}
		keys = append(keys, sortKey{f: f, desc: o.Desc})
	}
	return keys
}

// Less returns a comparison for offers under q's order: negative when a sorts first.
func (q *Query) Less() func(a, b *Offer) int {
	keys := q.sortKeys()
	return func(a, b *Offer) int { return compareOffers(keys, a, b) }
}

func compareOffers(keys []sortKey, a, b *Offer) int {
	for _, k := range keys {
		var r int
		if k.f.kind == fkNum {
			x, okx := k.f.num(a, 0)
			y, oky := k.f.num(b, 0)
			if okx != oky {
				if okx {
					return -1
				}
				return 1
			}
			r = cmp.Compare(x, y)
		} else {
			x, okx := k.f.str(a)
			y, oky := k.f.str(b)
			if okx != oky {
				if okx {
					return -1
				}
				return 1
			}
			r = strings.Compare(x, y)
		}
		if k.desc {
			r = -r
		}
		if r != 0 {
			return r
		}
	}
	return cmp.Compare(a.ID, b.ID)
}
