package record

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// market is a small market that changes every poll the ways real ones do: prices move, offers
// go, come back and appear, on machines of several offers.
type market struct {
	r      *rand.Rand
	offers map[int64]vastapi.Offer
	next   int64
}

func newMarket(seed uint64, n int) *market {
	m := &market{r: rand.New(rand.NewPCG(seed, 1)), offers: map[int64]vastapi.Offer{}, next: 1000}
	for range n {
		m.add()
	}
	return m
}

func (m *market) add() {
	m.next += 1 + int64(m.r.IntN(3))
	machine := 500 + m.next/4
	o := vastapi.Offer{
		ID: m.next, AskContractID: m.next, MachineID: machine, HostID: machine / 3,
		NumGPUs: 1 << m.r.IntN(3), GPUName: []string{"RTX 4090", "H100 SXM", "RTX 3090"}[m.r.IntN(3)],
		GPUIDs: []int64{machine * 8, machine*8 + 1}, DphBase: float64(m.r.IntN(900000)+1000) / 1e6,
		MinBid: m.r.Float64(), StorageCost: 0.15, DLPerf: m.r.NormFloat64() * 30,
		Geolocation: vastapi.Some("Oslo, NO"), EndDate: vastapi.Some(float64(t0.Unix() + 86400*30)),
		Rentable: true, Reliability: 0.99, DphTotal: 9, Score: 3, Search: vastapi.PriceBreakdown{TotalHour: 9},
	}
	if m.r.IntN(4) == 0 {
		o.Geolocation = vastapi.Opt[string]{}
		o.GPUIDs = nil
	}
	m.offers[o.ID] = o
}

// step moves the market one poll on.
func (m *market) step() {
	ids := m.ids()
	for _, id := range ids {
		o := m.offers[id]
		switch x := m.r.IntN(40); {
		case x == 0:
			delete(m.offers, id)
		case x < 4:
			o.DphBase = float64(m.r.IntN(900000)+1000) / 1e6
			o.MinBid = m.r.Float64()
			o.DphTotal = m.r.Float64() // derived: not recorded
			m.offers[id] = o
		case x == 4:
			o.Geolocation = vastapi.Some("Lyon, FR")
			o.GPUIDs = append(slices.Clone(o.GPUIDs), 7)
			m.offers[id] = o
		}
	}
	for range m.r.IntN(4) {
		m.add()
	}
}

func (m *market) ids() []int64 {
	var ids []int64
	for id := range m.offers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (m *market) poll() []MarketOffers {
	var a, b []vastapi.Offer
	for _, id := range m.ids() {
		o := m.offers[id]
		if o.NumGPUs == 1 {
			a = append(a, o)
		} else {
			b = append(b, o)
		}
	}
	// The first market's offers in another order, and one offer in both: a recording lists each once.
	slices.Reverse(a)
	if len(b) > 0 {
		a = append(a, b[0])
	}
	return []MarketOffers{{Market: Market{Name: "one", Query: "num_gpus=1"}, Offers: a}, {Market: Market{Name: "more", Query: "num_gpus>1"}, Offers: b}}
}

// recorded is o as a reader gives it back: derived fields zero, duration from end_date.
func recorded(o vastapi.Offer, at time.Time) vastapi.Offer {
	r := vastapi.Offer{}
	for i := range fields {
		copyField(&fields[i], &r, &o)
	}
	r.ID = o.ID
	withDuration(&r, at)
	return r
}

func copyField(f *field, dst, src *vastapi.Offer) {
	var e enc
	f.write(&e, src)
	d := dec{b: e.b}
	f.read(&d, dst)
}

// snapshot is every offer a reader holds after a change, by id.
type snapshot map[int64]vastapi.Offer

func (s snapshot) apply(ch Change) {
	for _, id := range ch.Gone {
		delete(s, id)
	}
	for _, o := range append(slices.Clone(ch.New), ch.Changed...) {
		s[o.ID] = *o
	}
}

func (s snapshot) refresh(at time.Time) {
	for id, o := range s {
		s[id] = *withDuration(&o, at)
	}
}

// record writes polls of m into dir, a minute apart, with a segment every seg; it returns what
// each poll held, as a reader should give it back.
func record(t *testing.T, dir string, m *market, polls int, seg time.Duration) []snapshot {
	t.Helper()
	w, err := Open(Options{Dir: dir, Segment: seg})
	if err != nil {
		t.Fatal(err)
	}
	var want []snapshot
	for i := range polls {
		at := t0.Add(time.Duration(i) * time.Minute)
		if i > 0 {
			m.step()
		}
		if err := w.Record(at, m.poll()); err != nil {
			t.Fatal(err)
		}
		s := snapshot{}
		for _, o := range m.offers {
			s[o.ID] = recorded(o, at)
		}
		want = append(want, s)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

// readAll reads dir from from to to, checking each change against its predecessor.
func readAll(t *testing.T, dir string, from, to time.Time) ([]snapshot, []time.Time, *Reader) {
	t.Helper()
	r, err := OpenReader(dir, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var got []snapshot
	var ats []time.Time
	cur := snapshot{}
	for {
		ch, err := r.Next()
		if errors.Is(err, io.EOF) {
			return got, ats, r
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 && (len(ch.Changed) > 0 || len(ch.Gone) > 0) {
			t.Fatalf("first change at %s is not the whole market", ch.At)
		}
		cur.refresh(ch.At)
		cur.apply(ch)
		got = append(got, maps(cur))
		ats = append(ats, ch.At)
	}
}

func maps(s snapshot) snapshot {
	out := make(snapshot, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

func TestRecordingReadsBackEveryPoll(t *testing.T) {
	for _, seg := range []time.Duration{time.Hour, 7 * time.Minute, time.Minute} {
		t.Run(seg.String(), func(t *testing.T) {
			dir := t.TempDir()
			want := record(t, dir, newMarket(1, 40), 60, seg)
			got, ats, r := readAll(t, dir, time.Time{}, time.Time{})
			if len(r.Cuts()) > 0 {
				t.Fatalf("cuts in a clean recording: %v", r.Cuts())
			}
			if len(got) != len(want) {
				t.Fatalf("read %d polls, wrote %d", len(got), len(want))
			}
			for i := range want {
				if !ats[i].Equal(t0.Add(time.Duration(i) * time.Minute)) {
					t.Fatalf("poll %d at %s", i, ats[i])
				}
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("poll %d differs:\n%s", i, diffSnap(got[i], want[i]))
				}
			}
		})
	}
}

func diffSnap(got, want snapshot) string {
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			return fmt.Sprintf("offer %d missing", id)
		}
		if !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("offer %d:\n got %+v\nwant %+v", id, g, w)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			return fmt.Sprintf("offer %d extra", id)
		}
	}
	return "?"
}

func TestReaderFromTo(t *testing.T) {
	dir := t.TempDir()
	want := record(t, dir, newMarket(2, 30), 50, 10*time.Minute)
	from, to := t0.Add(23*time.Minute+30*time.Second), t0.Add(41*time.Minute)
	got, ats, _ := readAll(t, dir, from, to)
	if len(got) != 41-24+1 || !ats[0].Equal(t0.Add(24*time.Minute)) || !ats[len(ats)-1].Equal(to) {
		t.Fatalf("read %d polls from %v to %v", len(got), ats[0], ats[len(ats)-1])
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[24+i]) {
			t.Fatalf("poll %d differs:\n%s", 24+i, diffSnap(got[i], want[24+i]))
		}
	}
}

// TestCutSegmentReadsToItsLastWholePoll cuts a small recording at every byte: whatever the cut,
// the reader returns exactly the polls whose frames are whole, equal to what was written, and
// says where the segment was cut.
func TestCutSegmentReadsToItsLastWholePoll(t *testing.T) {
	dir := t.TempDir()
	want := record(t, dir, newMarket(3, 12), 8, time.Hour)
	names, _ := segments(dir)
	if len(names) != 1 {
		t.Fatalf("%d segments", len(names))
	}
	full, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	// Where each frame ends.
	var ends []int
	fr, _ := newFrameReader(bytesReader(full), int64(len(full)))
	for {
		if _, _, err := fr.next(); err != nil {
			break
		}
		ends = append(ends, int(fr.pos))
	}
	if len(ends) != len(want) {
		t.Fatalf("%d frames for %d polls", len(ends), len(want))
	}
	for cut := 0; cut <= len(full); cut++ {
		cdir := t.TempDir()
		if err := os.WriteFile(filepath.Join(cdir, names[0]), full[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		whole := 0
		for whole < len(ends) && ends[whole] <= cut {
			whole++
		}
		r, err := OpenReader(cdir, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		cur := snapshot{}
		for {
			ch, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("cut at %d: %v", cut, err)
			}
			cur.refresh(ch.At)
			cur.apply(ch)
			if !reflect.DeepEqual(cur, want[n]) {
				t.Fatalf("cut at %d, poll %d differs", cut, n)
			}
			n++
		}
		if n != whole {
			t.Fatalf("cut at %d: read %d polls, %d are whole", cut, n, whole)
		}
		if cutShown := len(r.Cuts()) > 0; cutShown != (cut != len(magic) && !slices.Contains(ends, cut)) {
			t.Fatalf("cut at %d: cuts reported %v", cut, r.Cuts())
		}
	}
}

func TestRetention(t *testing.T) {
	t.Run("age", func(t *testing.T) {
		dir := t.TempDir()
		w, _ := Open(Options{Dir: dir, Segment: 10 * time.Minute, MaxAge: 30 * time.Minute})
		m := newMarket(4, 10)
		for i := range 100 {
			m.step()
			if err := w.Record(t0.Add(time.Duration(i)*time.Minute), m.poll()); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		_, ats, _ := readAll(t, dir, time.Time{}, time.Time{})
		if first := ats[0]; first.Before(t0.Add(99*time.Minute - 30*time.Minute - 10*time.Minute)) {
			t.Errorf("oldest poll kept at %s, retention 30m at %s", first, t0.Add(99*time.Minute))
		}
		if len(ats) < 30 {
			t.Errorf("only %d polls kept", len(ats))
		}
	})
	t.Run("size", func(t *testing.T) {
		dir := t.TempDir()
		w, _ := Open(Options{Dir: dir, Segment: 5 * time.Minute, MaxBytes: 8 << 10})
		m := newMarket(5, 20)
		for i := range 200 {
			m.step()
			if err := w.Record(t0.Add(time.Duration(i)*time.Minute), m.poll()); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		names, _ := segments(dir)
		var total int64
		for _, n := range names {
			fi, _ := os.Stat(filepath.Join(dir, n))
			total += fi.Size()
		}
		if total > 8<<10 || len(names) == 0 {
			t.Errorf("%d segments of %d bytes, limit %d", len(names), total, 8<<10)
		}
		idx, _ := loadIndex(dir)
		if len(idx.Segments) != len(names) {
			t.Errorf("index lists %d segments, %d on disk", len(idx.Segments), len(names))
		}
	})
}

func TestRecordRefusesAPollNotAfterTheLast(t *testing.T) {
	w, _ := Open(Options{Dir: t.TempDir()})
	m := newMarket(6, 3)
	if err := w.Record(t0, m.poll()); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(t0, m.poll()); err == nil {
		t.Fatal("a second poll at the same time was recorded")
	}
}

// TestEveryOfferFieldIsRecordedOrDerived: a field added to vastapi.Offer is either recorded (the
// table is built from the struct) or named in Derived; Derived names only real fields.
func TestEveryOfferFieldIsRecordedOrDerived(t *testing.T) {
	names := map[string]bool{}
	ty := reflect.TypeFor[vastapi.Offer]()
	for i := range ty.NumField() {
		names[jsonName(ty.Field(i))] = true
	}
	for _, d := range Derived {
		if !names[d] {
			t.Errorf("Derived names %q, which Offer lacks", d)
		}
	}
	if len(fields)+len(Derived)+1 != ty.NumField() {
		t.Errorf("%d recorded + %d derived + id, Offer has %d fields", len(fields), len(Derived), ty.NumField())
	}
}

func jsonName(f reflect.StructField) string {
	n := f.Tag.Get("json")
	for i := range n {
		if n[i] == ',' {
			return n[:i]
		}
	}
	return n
}

func TestFloatEncoding(t *testing.T) {
	for _, x := range []float64{0, 1, -1, 0.412345, 1e-9, 123456.789, 0.1 + 0.2, 1e300, -3.5e-7, 9007199254740993} {
		var e enc
		e.float(x)
		d := dec{b: e.b}
		if got := d.float(); got != x || d.err != nil || len(d.b) != 0 {
			t.Errorf("%v read back as %v (%v)", x, got, d.err)
		}
	}
}
