package vastsim

import (
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// compact moves the catalogue into a few dense arrays: machines, templates, offers, GPU ids.
// Built one offer at a time among the generator's garbage, each of these small objects would
// otherwise pin a mostly empty page of its size class for the simulator's life: megabytes of
// resident memory for a 5,000-offer market, in a daemon run with --simulate. Called by New
// before anything else holds an offer or machine.
func (s *Sim) compact() {
	nIDs := 0
	tmplAt := map[*vastapi.Offer]int{}
	for _, m := range s.machines {
		nIDs += len(m.gpus)
	}
	for _, o := range s.offers {
		if _, ok := tmplAt[o.tmpl]; !ok {
			tmplAt[o.tmpl] = len(tmplAt)
			nIDs += len(o.tmpl.GPUIDs)
		}
		nIDs += len(o.gpus) + len(o.own.GPUIDs)
	}
	ids := make([]int64, 0, nIDs)
	pack := func(v []int64) []int64 {
		if v == nil {
			return nil
		}
		start := len(ids)
		ids = append(ids, v...)
		return ids[start:len(ids):len(ids)]
	}
	machines := make([]machine, len(s.machines))
	machineAt := make(map[*machine]*machine, len(s.machines))
	for i, m := range s.machines {
		machines[i] = *m
		machines[i].gpus = pack(m.gpus)
		machineAt[m] = &machines[i]
		s.machines[i] = &machines[i]
	}
	tmpls := make([]vastapi.Offer, len(tmplAt))
	for t, i := range tmplAt {
		tmpls[i] = *t
		tmpls[i].GPUIDs = pack(t.GPUIDs)
	}
	offers := make([]offer, len(s.offers))
	offerAt := make(map[*offer]*offer, len(s.offers))
	for i, o := range s.offers {
		c := &offers[i]
		*c = *o
		c.tmpl = &tmpls[tmplAt[o.tmpl]]
		c.m = machineAt[o.m]
		sameIDs := len(o.gpus) > 0 && len(o.gpus) == len(o.own.GPUIDs) && &o.gpus[0] == &o.own.GPUIDs[0]
		c.gpus = pack(o.gpus)
		if sameIDs {
			c.own.GPUIDs = c.gpus
		} else {
			c.own.GPUIDs = pack(o.own.GPUIDs)
		}
		offerAt[o] = c
		s.offers[i] = c
		s.offerBy[c.own.ID] = c
	}
	for i := range machines {
		m := &machines[i]
		moved := make([]*offer, len(m.offers))
		for j, o := range m.offers {
			moved[j] = offerAt[o]
		}
		m.offers = moved
	}
}
