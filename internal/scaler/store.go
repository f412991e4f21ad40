package scaler

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Store keeps the state's documents, the journal (JournalFile) and the spend book (SpendFile),
// each one JSON document read and replaced whole (docs/design.md §7). Write returns only once
// the document is durably stored: on disk and synced, or acknowledged by the API server. The
// journal's write-ahead guarantee rests on that: a create is sent only after Write returned nil
// for its intent. The journal and the spend book serialise their own writes.
type Store interface {
	// Read returns a document as last written; an error satisfying errors.Is(err,
	// fs.ErrNotExist) when it was never written. It writes nothing.
	Read(name string) ([]byte, error)
	// Write replaces a document whole.
	Write(name string, data []byte) error
	// Where names a document's place for errors and logs (a file's path, an object's key).
	Where(name string) string
}

// DirStore keeps each document as a file of a directory (--state.dir), replaced by a temp file,
// fsync, rename over the old file and fsync of the directory.
type DirStore string

// Read reads the document's file.
func (d DirStore) Read(name string) ([]byte, error) { return os.ReadFile(d.Where(name)) }

// Write replaces the document's file durably. The directory must exist (OpenJournal and
// OpenSpendBook make it): one that vanished is an error, not a fresh start.
func (d DirStore) Write(name string, data []byte) error {
	return writeDurably(d.Where(name), "."+strings.TrimSuffix(name, ".json")+"-*.tmp", data)
}

// Where is the document's path.
func (d DirStore) Where(name string) string { return filepath.Join(string(d), name) }

// openDir makes dir, so that an unusable --state.dir is reported when the state is opened, not
// at the first write; it is the DirStore of dir.
func openDir(dir string) (DirStore, error) {
	return DirStore(dir), os.MkdirAll(dir, 0o700)
}

// readStateDoc reads the document name of st into *d, checking its version against want and
// then with check. A document never written leaves *d as it is (the empty state) and is no
// error; on any error *d is left as it is too. The error is bare: each caller types it with the
// document's place.
func readStateDoc[T any, PT interface {
	*T
	stateFile
}](st Store, name string, d PT, want int, check func(PT) error) error {
	b, err := st.Read(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return decodeState(b, d, want, check)
}

var errNoJournal = errors.New("no journal")

// ReadState loads the journal in dir read-only, as `vastwatch plan` needs it: the pending
// creates, our stops and avoided machines, and the month-to-date spend of the spend book,
// without writing anything.
func ReadState(dir string, grace time.Duration) (State, error) {
	if dir == "" {
		return ReadStateFrom(nil, grace)
	}
	return ReadStateFrom(DirStore(dir), grace)
}

// ReadStateFrom is ReadState of a Store (nil: none): how followers read what the leader wrote.
func ReadStateFrom(store Store, grace time.Duration) (State, error) {
	st := State{PendingGrace: grace, OutbidGrace: DefaultOutbidGrace, ListingMargin: DefaultListingMargin}
	if store == nil {
		return st, errNoJournal
	}
	// The month-to-date spend as of the leader's last cycle (Plan counts an earlier month's as
	// nothing spent); an unreadable spend book blocks creates under a monthly budget.
	if sd, err := readSpend(store); err != nil {
		st.MonthUnknown = err.Error()
	} else {
		st.MonthToDate, st.Bill = sd.MonthSpend, sd.Bill
	}
	j, err := readJournal(store)
	if err != nil {
		st.CreatesBlocked = err.Error()
		return st, err
	}
	st.Creates = j.Creates
	st.StoppedByUs = j.StoppedByUs
	st.Avoided = j.Avoided
	st.Failures = j.Failures
	st.Draining = j.Draining
	if j.OutbidSince != nil {
		st.OutbidSince = j.OutbidSince
	}
	return st, nil
}
