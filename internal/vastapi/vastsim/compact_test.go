package vastsim

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

func TestCompactChangesNothingButWhereTheCatalogueLives(t *testing.T) {
	s := &Sim{offerBy: map[int64]*offer{}}
	s.generate(seedRand(5, 0), time.Unix(1.7e9, 0), 200)
	var before []vastapi.Offer
	for _, o := range s.offers {
		before = append(before, o.value())
	}
	machineOffers := map[int64][]int64{}
	for _, m := range s.machines {
		for _, o := range m.offers {
			machineOffers[m.id] = append(machineOffers[m.id], o.own.ID)
		}
	}
	s.compact()
	for i, o := range s.offers {
		if got := o.value(); !reflect.DeepEqual(got, before[i]) {
			t.Fatalf("offer %d changed:\n got %+v\nwant %+v", before[i].ID, got, before[i])
		}
		if s.offerBy[o.own.ID] != o {
			t.Fatalf("offerBy[%d] is not the moved offer", o.own.ID)
		}
		if !slices.Contains(o.m.offers, o) {
			t.Fatalf("offer %d is not among its machine's offers", o.own.ID)
		}
	}
	for _, m := range s.machines {
		var ids []int64
		for _, o := range m.offers {
			ids = append(ids, o.own.ID)
		}
		if !slices.Equal(ids, machineOffers[m.id]) {
			t.Fatalf("machine %d offers %v, want %v in the same order", m.id, ids, machineOffers[m.id])
		}
	}
	// A moved offer's GPU ids are its own: an append to one must not write into its neighbour's.
	a, b := s.offers[0], s.offers[1]
	bIDs := slices.Clone(b.gpus)
	_ = append(a.gpus, -1)
	if !slices.Equal(b.gpus, bIDs) {
		t.Fatal("appending to one offer's GPU ids changed another's")
	}
}
