package scaler_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// memStore is a Store in memory, as another backend (the ConfigMap) is to the scaler: every
// write counted, refused while fail is set.
type memStore struct {
	mu     sync.Mutex
	docs   map[string][]byte
	reads  int
	writes int
	fail   error
}

func (m *memStore) Read(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	b, ok := m.docs[name]
	if !ok {
		return nil, fmt.Errorf("mem %s: %w", name, fs.ErrNotExist)
	}
	return b, nil
}

func (m *memStore) Write(name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	m.docs[name] = append([]byte(nil), data...)
	m.writes++
	return nil
}

func (m *memStore) Where(name string) string { return "mem " + name }

func (m *memStore) has(name, s string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Contains(string(m.docs[name]), s)
}

var _ scaler.Store = (*memStore)(nil)

// The journal keeps its write-ahead discipline on any Store: the intent is stored before the
// create is sent, and an intent the store refuses is never sent.
func TestTheJournalWritesAheadThroughAnyStore(t *testing.T) {
	o := testOffer(1, 0.3)
	t.Run("the intent is stored before the create request", func(t *testing.T) {
		st := &memStore{}
		j, err := scaler.LoadJournal(st)
		if err != nil {
			t.Fatal(err)
		}
		a := planOne(t, o)
		m := &fakeMutator{t: t, search: listed(o)}
		m.create = func(int64, vastapi.CreateRequest) (vastapi.CreateResult, error) {
			if !st.has(scaler.JournalFile, a.Nonce) {
				t.Error("create sent before its intent was stored")
			}
			return vastapi.CreateResult{InstanceID: 555}, nil
		}
		ex := &scaler.Executor{API: m, Journal: j, Clock: clock.NewFake(t0)}
		if outs := ex.Execute(context.Background(), []scaler.Action{a}); outs[0].Result != scaler.ResultOK {
			t.Fatalf("outcome %+v", outs[0])
		}
		st2, err := scaler.ReadStateFrom(st, time.Minute)
		if err != nil || len(st2.Creates) != 1 || st2.Creates[0].InstanceID != 555 {
			t.Fatalf("another replica reads %+v %v", st2.Creates, err)
		}
	})
	t.Run("an intent the store refuses is not sent", func(t *testing.T) {
		st := &memStore{}
		j, err := scaler.LoadJournal(st)
		if err != nil {
			t.Fatal(err)
		}
		st.fail = errors.New("refused: no longer leader")
		m := &fakeMutator{t: t, search: listed(o)}
		ex := &scaler.Executor{API: m, Journal: j, Clock: clock.NewFake(t0)}
		outs := ex.Execute(context.Background(), []scaler.Action{planOne(t, o)})
		if outs[0].Result != scaler.ResultError || slices.Contains(m.calls, "create") {
			t.Fatalf("outcome %+v, calls %v", outs[0], m.calls)
		}
		if len(j.Creates()) != 0 {
			t.Fatal("a refused intent stayed in memory")
		}
	})
	t.Run("a corrupt document is an error naming where it is", func(t *testing.T) {
		st := &memStore{docs: map[string][]byte{scaler.JournalFile: []byte("{")}}
		_, err := scaler.LoadJournal(st)
		var je *scaler.JournalError
		if !errors.As(err, &je) || je.Path != "mem journal.json" {
			t.Fatalf("err %v", err)
		}
		if _, err := scaler.LoadSpendBook(&memStore{docs: map[string][]byte{scaler.SpendFile: []byte("[")}}); err == nil {
			t.Fatal("a corrupt spend book was read as empty")
		}
	})
}

// With ReadOnRearm a replica that may never lead reads nothing at start; Rearm (on gaining
// leadership, after the claim) reads the journal and the spend book.
func TestReadOnRearmReadsTheStateOnlyOnRearm(t *testing.T) {
	st := &memStore{}
	s := scaler.New(scaler.Options{Clock: clock.NewFake(t0), Store: st, ReadOnRearm: true})
	if st.reads != 0 {
		t.Fatalf("%d reads at start", st.reads)
	}
	s.Rearm()
	if st.reads != 2 {
		t.Fatalf("Rearm read %d documents, want the journal and the spend book", st.reads)
	}
}
