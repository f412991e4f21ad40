package scaler_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// The state of a large deployment stays well under the 1 MiB a Kubernetes object may hold:
// 50 fleets of 20 instances each, settled, with 500 machines failed this week, 100 drains, 200
// outbid and 100 stopped instances, and the spend book of the 50 fleets (issue 16 item 1).
func TestALargeFleetsStateStaysSmall(t *testing.T) {
	const fleets, perFleet = 50, 20
	// The journal as the scaler writes it, in one document (writing it record by record would
	// encode it a thousand times over).
	doc := struct {
		Version     int                              `json:"version"`
		Creates     []scaler.CreateRecord            `json:"creates"`
		StoppedByUs map[int64]time.Time              `json:"stopped_by_us"`
		Avoided     map[int64]time.Time              `json:"avoided_machines"`
		Failures    map[int64]scaler.MachineFailures `json:"machine_failures"`
		Draining    map[int64]scaler.DrainRecord     `json:"draining"`
		OutbidSince map[int64]time.Time              `json:"outbid_since"`
	}{Version: 1, StoppedByUs: map[int64]time.Time{}, Avoided: map[int64]time.Time{}, Failures: map[int64]scaler.MachineFailures{},
		Draining: map[int64]scaler.DrainRecord{}, OutbidSince: map[int64]time.Time{}}
	var listed []vastapi.Instance
	for i := range fleets * perFleet {
		fleet, id := fmt.Sprintf("inference-fleet-%02d", i%fleets), int64(24_000_000+i)
		at := t0.Add(time.Duration(i) * 1234567 * time.Nanosecond)
		doc.Creates = append(doc.Creates, scaler.CreateRecord{Nonce: fmt.Sprintf("%012x", 0x5eed00000000+i), Fleet: fleet,
			OfferID: int64(31_000_000 + i), MachineID: int64(41_000 + i), HostID: int64(210_000 + i), Country: "US",
			Price: 0.412345678912, Bid: 0.351234567, Outcome: scaler.OutcomeCreated, InstanceID: id, IntentAt: at})
		listed = append(listed, vastapi.Instance{ID: id})
		switch {
		case i < 100:
			doc.Draining[id] = scaler.DrainRecord{Fleet: fleet, Since: at, Then: scaler.KindDestroy, Reason: scaler.ReasonAboveTarget, Calls: 3, LastError: "drain webhook: status 503"}
		case i < 300:
			doc.OutbidSince[id] = at
		case i < 400:
			doc.StoppedByUs[id] = at
		}
	}
	for m := range int64(500) {
		last := t0.Add(time.Duration(m) * time.Minute)
		doc.Failures[61_000+m] = scaler.MachineFailures{Count: 2, Last: last, Fleet: "inference-fleet-07"}
		doc.Avoided[61_000+m] = last.Add(24 * time.Hour)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{docs: map[string][]byte{scaler.JournalFile: b}}
	j, err := scaler.LoadJournal(st)
	if err != nil {
		t.Fatal(err)
	}
	// Listed since, and settled: listed for longer than SettledAfter.
	for _, at := range []time.Duration{time.Minute, time.Minute + scaler.SettledAfter + time.Second} {
		if err := j.Reconcile(listed, "ha", t0.Add(at), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	book, _ := scaler.LoadSpendBook(st)
	committed := map[string]float64{}
	for f := range fleets {
		committed[fmt.Sprintf("inference-fleet-%02d", f)] = perFleet * 0.412345678912
	}
	book.Advance(t0.Add(2 * time.Hour))
	if err := book.Commit(t0.Add(2*time.Hour), committed, fleets*perFleet*0.412345678912); err != nil {
		t.Fatal(err)
	}
	jb, _ := st.Read(scaler.JournalFile)
	sb, _ := st.Read(scaler.SpendFile)
	t.Logf("journal %d bytes (%d before pruning), spend book %d bytes", len(jb), len(b), len(sb))
	if total := len(jb) + len(sb); total > 384<<10 {
		t.Errorf("the state takes %d bytes: not well under a Kubernetes object's 1 MiB", total)
	}
	st2, err := scaler.ReadStateFrom(st, time.Hour)
	if err != nil || len(st2.Creates) != fleets*perFleet || len(st2.Draining) != 100 || len(st2.Avoided) != 500 ||
		len(st2.OutbidSince) != 200 || len(st2.StoppedByUs) != 100 {
		t.Fatalf("read back: %d creates, %d drains, %d avoided, %d outbid, %d stopped, %v",
			len(st2.Creates), len(st2.Draining), len(st2.Avoided), len(st2.OutbidSince), len(st2.StoppedByUs), err)
	}
	if c := st2.Creates[0]; c.InstanceID == 0 || c.Bid == 0 || c.Price == 0 || c.Country == "" || c.Nonce == "" || c.MachineID != 0 {
		t.Fatalf("a settled create is not pruned to what the planner reads: %+v", c)
	}
}

// A create is pruned once settled, and not before: while pending it keeps where it was placed
// and when, which the spread limits and the pending grace read.
func TestSettledCreatesArePruned(t *testing.T) {
	st := &memStore{}
	j, _ := scaler.LoadJournal(st)
	rec := scaler.CreateRecord{Nonce: "aaaaaaaaaaaa", Fleet: "f", OfferID: 7, MachineID: 8, HostID: 9, Country: "DE", Price: 0.5, Bid: 0.4, IntentAt: t0}
	if err := j.Intent(rec); err != nil {
		t.Fatal(err)
	}
	_ = j.Resolve(rec.Nonce, scaler.OutcomeCreated, 77)
	listed := []vastapi.Instance{{ID: 77}}
	for _, at := range []time.Duration{time.Minute, time.Minute + scaler.SettledAfter} {
		if err := j.Reconcile(listed, "o", t0.Add(at), time.Hour); err != nil {
			t.Fatal(err)
		}
		if c := j.Creates()[0]; c.MachineID != 8 || c.HostID != 9 || c.OfferID != 7 || !c.IntentAt.Equal(t0) {
			t.Fatalf("pruned at +%v, before it settled: %+v", at, c)
		}
	}
	writes := st.writes
	if err := j.Reconcile(listed, "o", t0.Add(time.Minute+scaler.SettledAfter+time.Second), time.Hour); err != nil {
		t.Fatal(err)
	}
	c := j.Creates()[0]
	if c.MachineID != 0 || c.HostID != 0 || c.OfferID != 0 || !c.IntentAt.IsZero() || st.writes != writes+1 {
		t.Fatalf("not pruned once settled: %+v (%d writes)", c, st.writes-writes)
	}
	if c.InstanceID != 77 || c.Bid != 0.4 || c.Price != 0.5 || c.Country != "DE" || c.SeenAt.IsZero() || c.Outcome != scaler.OutcomeCreated {
		t.Fatalf("pruned what the planner reads: %+v", c)
	}
	if err := j.Reconcile(listed, "o", t0.Add(3*scaler.SettledAfter), time.Hour); err != nil || st.writes != writes+1 {
		t.Fatalf("a settled journal was written again (%d writes): %v", st.writes-writes, err)
	}
}
