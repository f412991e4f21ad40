package vastsim

import (
	"slices"
	"sort"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Feed is a market the simulator replays instead of generating one (a recording of the real
// market, docs/backtest.md): its offers appear, reprice and vanish when the feed says, and
// nothing else moves them (there is no drift). The simulator asks for each change when the
// clock reaches the previous one.
type Feed interface {
	// Next returns the next change of the market, later than the one before; ok is false when
	// the feed has no more (the market then stays as it is).
	Next() (change FeedChange, ok bool)
}

// FeedChange is one change of a fed market.
type FeedChange struct {
	At time.Time
	// New and Changed are whole offers as listed now; their derived prices (dph_total and what
	// follows it, score) are recomputed as the simulator prices its own offers. The simulator
	// does not keep them.
	New, Changed []*vastapi.Offer
	// Gone are the offers no longer listed.
	Gone []int64
}

// feedState is a fed simulator's hold on its feed.
type feedState struct {
	src  Feed
	next FeedChange
	more bool
	// all is every offer ever listed, gone ones too: an instance keeps its offer, and an offer
	// that comes back is the same one (so an instance on it still holds its GPUs).
	all map[int64]*offer
	// machineOf finds a machine by id.
	machineOf map[int64]*machine
}

// loadFeed applies the feed's changes up to now: the market the simulator starts with.
func (s *Sim) loadFeed(f Feed, now time.Time) {
	s.feed = &feedState{src: f, all: map[int64]*offer{}, machineOf: map[int64]*machine{}}
	s.feed.pull()
	for s.feed.more && !s.feed.next.At.After(now) {
		s.applyFeed(now)
	}
}

func (fs *feedState) pull() { fs.next, fs.more = fs.src.Next() }

// feedAt is when the next fed change is due (zero: none).
func (s *Sim) feedAt() time.Time {
	if s.feed == nil || !s.feed.more {
		return time.Time{}
	}
	return s.feed.next.At
}

// applyFeed applies the pending fed change at now and pulls the one after. Callers hold s.mu.
func (s *Sim) applyFeed(now time.Time) {
	ch := s.feed.next
	s.feed.pull()
	if len(ch.Gone) == 0 && len(ch.New) == 0 && len(ch.Changed) == 0 {
		return // a poll that saw no change: the cached searches stand
	}
	s.mutating()
	touched := map[*machine]bool{}
	for _, id := range ch.Gone {
		if o := s.offerBy[id]; o != nil {
			s.unlist(o)
			touched[o.m] = true
		}
	}
	for _, list := range [][]*vastapi.Offer{ch.Changed, ch.New} {
		for _, v := range list {
			touched[s.list(v)] = true
		}
	}
	s.changed()
	ms := make([]*machine, 0, len(touched))
	for m := range touched {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].id < ms[j].id })
	for _, m := range ms {
		s.refreshMachine(m)
		s.checkOutbid(m, now)
	}
}

// list lists v: a new offer, one that comes back, or a change of a listed one. An offer keeps
// the machine and GPUs it was first listed with: an instance on it holds those. A fed offer
// listed as not rentable has its GPUs taken by someone else; listed as rentable, it frees them.
func (s *Sim) list(src *vastapi.Offer) *machine {
	v := *src
	v.GPUIDs = slices.Clone(v.GPUIDs)
	priceBase(&v)
	if v.EndDate.Valid {
		v.Duration = vastapi.Opt[float64]{} // a reply computes it from end_date at its time
	}
	o := s.feed.all[v.ID]
	if o == nil {
		m := s.feed.machineOf[v.MachineID]
		if m == nil {
			m = &machine{id: v.MachineID, taken: map[int64]int64{}}
			s.feed.machineOf[v.MachineID] = m
			s.machines = append(s.machines, m)
		}
		gpus := v.GPUIDs
		if len(gpus) == 0 {
			for g := range v.NumGPUs {
				gpus = append(gpus, -(v.ID*64 + int64(g) + 1))
			}
		}
		for _, g := range gpus {
			if !slices.Contains(m.gpus, g) {
				m.gpus = append(m.gpus, g)
			}
		}
		o = &offer{m: m, gpus: gpus}
		s.feed.all[v.ID] = o
		if !slices.Contains(s.gpuNames, v.GPUName) {
			s.gpuNames = append(s.gpuNames, v.GPUName)
			sort.Strings(s.gpuNames)
		}
	}
	v.MachineID = o.m.id
	// The offers of a machine share one template while their other fields agree, as the
	// generator's do: a search builds each offer from its template, and copying one per offer
	// would be most of a replay's time. A template never changes (a reply being written may
	// hold it); a change of a field it holds makes a new one.
	tmpl := o.tmpl
	if tmpl == nil && len(o.m.offers) > 0 {
		tmpl = o.m.offers[0].tmpl
	}
	shared := newOffer(v, tmpl, o.m, o.gpus)
	o.tmpl, o.own = shared.tmpl, shared.own
	for _, g := range o.gpus {
		switch h := o.m.taken[g]; {
		case !v.Rentable && h == 0:
			o.m.taken[g] = otherUser
		case v.Rentable && h == otherUser:
			delete(o.m.taken, g)
		}
	}
	if s.offerBy[v.ID] == nil {
		s.offerBy[v.ID] = o
		i, _ := slices.BinarySearchFunc(s.offers, v.ID, func(x *offer, id int64) int { return cmp64(x.own.ID, id) })
		s.offers = slices.Insert(s.offers, i, o)
		o.m.offers = append(o.m.offers, o)
	}
	return o.m
}

// unlist takes o off the market; it stays known for the instances on it and its return.
func (s *Sim) unlist(o *offer) {
	delete(s.offerBy, o.own.ID)
	if i, ok := slices.BinarySearchFunc(s.offers, o.own.ID, func(x *offer, id int64) int { return cmp64(x.own.ID, id) }); ok {
		s.offers = slices.Delete(s.offers, i, i+1)
	}
	o.m.offers = slices.DeleteFunc(o.m.offers, func(x *offer) bool { return x == o })
	// GPUs a fed market marked taken by someone else go with the listing.
	for _, g := range o.gpus {
		if o.m.taken[g] == otherUser {
			delete(o.m.taken, g)
		}
	}
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
