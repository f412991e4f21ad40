package scaler

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// JournalFile is the journal's name inside --state.dir (and its key in the state's ConfigMap).
const JournalFile = "journal.json"

const journalVersion = 1

// Journal is the write-ahead record of creates (docs/design.md §7) and of what else must survive a
// restart: the instances we stopped or started again ourselves and the machines we avoid. Every change is
// written durably to its Store (a temp file, synced, renamed over the journal and the directory
// synced; or an update the API server acknowledged) before the call returns; an intent is
// therefore stored before its create is sent.
type Journal struct {
	store Store
	mu    sync.Mutex
	data  journalData
}

type journalData struct {
	Version     int                 `json:"version"`
	Creates     []CreateRecord      `json:"creates"`
	StoppedByUs map[int64]time.Time `json:"stopped_by_us,omitempty"`
	StartedByUs map[int64]time.Time `json:"started_by_us,omitempty"`
	Avoided     map[int64]time.Time `json:"avoided_machines,omitempty"`
	// Failures counts each machine's recent failures, so that its avoidance grows with them
	// also across restarts.
	Failures map[int64]MachineFailures `json:"machine_failures,omitempty"`
	// Draining holds the instances being drained before their removal (drain.go).
	Draining map[int64]DrainRecord `json:"draining,omitempty"`
	// OutbidSince is when each bid instance was first seen outbid: the outbid grace runs from
	// then, also across a restart.
	OutbidSince map[int64]time.Time `json:"outbid_since,omitempty"`
}

func (d *journalData) version() int { return d.Version }

// DrainRecord is an instance being drained: out of /sd and of its fleet's count from Since, and
// removed (Then: destroy or stop, for Reason) once the drain is done.
type DrainRecord struct {
	Fleet  string    `json:"fleet"`
	Since  time.Time `json:"since"`
	Then   Kind      `json:"then"`
	Reason string    `json:"reason"`
	// Acked is when the webhook first answered 2xx; zero until then.
	Acked time.Time `json:"acked,omitzero"`
	// Calls counts the webhook calls so far; LastError is the last failed call's, one line.
	Calls     int    `json:"calls,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// MachineFailures is how often a machine's instances failed (boot, death, outbid) and when last.
type MachineFailures struct {
	Count int       `json:"count"`
	Last  time.Time `json:"last"`
	// Fleet is the fleet whose instance failed last (for vastwatch_avoided_machines{fleet}).
	Fleet string `json:"fleet,omitempty"`
	// Before is the avoidance the machine had before its last failure (zero: none): what it
	// goes back to when that failure is forgiven as part of a burst (journal_avoid.go).
	Before time.Time `json:"before,omitzero"`
	// Burst marks a last failure that was part of a failure burst of its fleet (docs/design.md
	// §8): it is not counted and does not avoid the machine.
	Burst bool `json:"burst,omitempty"`
}

// FailureMemory is how long a machine's failures are remembered after its last one: a machine
// that fails again within it is avoided longer than the time before.
const FailureMemory = 7 * 24 * time.Hour

// AvoidTTL is how long a machine is avoided after its n-th failure: base × 2^(n-1), capped
// (cap ≤ 0: uncapped, but never beyond FailureMemory).
func AvoidTTL(base, capTTL time.Duration, n int) time.Duration {
	if base <= 0 || n <= 0 {
		return 0
	}
	if capTTL <= 0 || capTTL > FailureMemory {
		capTTL = FailureMemory
	}
	d := base
	for i := 1; i < n && d < capTTL; i++ {
		d *= 2
	}
	return min(d, capTTL)
}

// JournalError is a journal that cannot be read or parsed. Creates stay stopped while it
// persists: starting afresh could rent twice what an unreadable journal recorded.
type JournalError struct {
	Path string
	Err  error
}

func (e *JournalError) Error() string {
	return fmt.Sprintf("journal %s unusable, no creates until it is repaired or moved away: %v", e.Path, e.Err)
}

func (e *JournalError) Unwrap() error { return e.Err }

// OpenJournal reads the journal in dir, creating dir when needed. A missing journal is an empty
// one; an unreadable or corrupt one is a *JournalError, never a silent fresh start.
func OpenJournal(dir string) (*Journal, error) {
	if dir == "" {
		return LoadJournal(nil)
	}
	st, err := openDir(dir)
	if err != nil {
		return nil, &JournalError{Path: st.Where(JournalFile), Err: err}
	}
	return LoadJournal(st)
}

// LoadJournal reads the journal of st (nil: none configured, an error). A journal never written
// is an empty one; an unreadable or corrupt one is a *JournalError, never a silent fresh start.
func LoadJournal(st Store) (*Journal, error) {
	if st == nil {
		return nil, &JournalError{Path: JournalFile, Err: errors.New("no state directory configured")}
	}
	d, err := readJournal(st)
	if err != nil {
		return nil, err
	}
	return &Journal{store: st, data: d}, nil
}

// readJournal reads and checks the journal of st without writing anything.
func readJournal(st Store) (journalData, error) {
	d := journalData{Version: journalVersion}
	err := readStateDoc(st, JournalFile, &d, journalVersion, func(d *journalData) error {
		for i, c := range d.Creates {
			if c.Nonce == "" || c.Fleet == "" {
				return fmt.Errorf("corrupt: create %d has no nonce or fleet", i)
			}
		}
		return nil
	})
	if err != nil {
		return d, &JournalError{Path: st.Where(JournalFile), Err: err}
	}
	return d, nil
}

// Path is where the journal is stored.
func (j *Journal) Path() string {
	if j.store == nil {
		return "memory"
	}
	return j.store.Where(JournalFile)
}

// save writes the journal atomically and durably (a MemoryJournal: nowhere). Callers hold mu.
func (j *Journal) save() error {
	if j.store == nil {
		return nil // a MemoryJournal
	}
	b, err := json.Marshal(j.data)
	if err != nil {
		return fmt.Errorf("encode journal: %w", err)
	}
	return j.store.Write(JournalFile, b)
}

// Intent records a create about to be sent. When it returns an error the create must not be sent.
func (j *Journal) Intent(rec CreateRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	rec.Outcome = OutcomeIntent
	j.data.Creates = append(j.data.Creates, rec)
	if err := j.save(); err != nil {
		j.data.Creates = j.data.Creates[:len(j.data.Creates)-1]
		return err
	}
	return nil
}

// Resolve records a create's outcome: OutcomeCreated with the instance id from the reply, or
// OutcomeUnknown. The record stays until the instance list has shown the instance and it is gone.
func (j *Journal) Resolve(nonce string, out Outcome, instanceID int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.data.Creates {
		if j.data.Creates[i].Nonce == nonce {
			j.data.Creates[i].Outcome = out
			if instanceID != 0 {
				j.data.Creates[i].InstanceID = instanceID
			}
			return j.save()
		}
	}
	return fmt.Errorf("journal: no create with nonce %s", nonce)
}

// MarkFailedReply records that the create's reply reported failure although it made an instance
// (new_contract).
func (j *Journal) MarkFailedReply(nonce string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.data.Creates {
		if j.data.Creates[i].Nonce == nonce {
			j.data.Creates[i].FailedReply = true
			return j.save()
		}
	}
	return fmt.Errorf("journal: no create with nonce %s", nonce)
}

// Forget drops a create that certainly did not happen (the API refused it).
func (j *Journal) Forget(nonce string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := len(j.data.Creates)
	j.data.Creates = slices.DeleteFunc(j.data.Creates, func(c CreateRecord) bool { return c.Nonce == nonce })
	if len(j.data.Creates) == n {
		return nil
	}
	return j.save()
}

// SetStopped records (at non-zero) or clears (at zero) that we stopped instance id ourselves.
func (j *Journal) SetStopped(id int64, at time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if at.IsZero() {
		if _, ok := j.data.StoppedByUs[id]; !ok {
			return nil
		}
		delete(j.data.StoppedByUs, id)
		return j.save()
	}
	if j.data.StoppedByUs == nil {
		j.data.StoppedByUs = map[int64]time.Time{}
	}
	j.data.StoppedByUs[id] = at
	return j.save()
}

// SetStarted records that we started instance id at at: its boot timeout runs from then, also
// after a restart.
func (j *Journal) SetStarted(id int64, at time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.data.StartedByUs == nil {
		j.data.StartedByUs = map[int64]time.Time{}
	}
	j.data.StartedByUs[id] = at
	return j.save()
}

// StartedByUs returns a copy of the instances we started again, with when.
func (j *Journal) StartedByUs() map[int64]time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.data.StartedByUs)
}

// StartDrain records that instance id is draining from rec.Since; an instance already draining
// keeps its record (a retry does not restart the drain).
func (j *Journal) StartDrain(id int64, rec DrainRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.data.Draining[id]; ok {
		return nil
	}
	if j.data.Draining == nil {
		j.data.Draining = map[int64]DrainRecord{}
	}
	j.data.Draining[id] = rec
	return j.save()
}

// DrainCalled records one webhook call for a draining instance: at is when it answered 2xx
// (err nil), or err why it did not.
func (j *Journal) DrainCalled(id int64, at time.Time, err error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	rec, ok := j.data.Draining[id]
	if !ok {
		return nil
	}
	rec.Calls++
	if err != nil {
		rec.LastError = err.Error()
	} else {
		rec.LastError = ""
		if rec.Acked.IsZero() {
			rec.Acked = at
		}
	}
	j.data.Draining[id] = rec
	return j.save()
}

// EndDrain forgets the drain of instance id (it was removed).
func (j *Journal) EndDrain(id int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.data.Draining[id]; !ok {
		return nil
	}
	delete(j.data.Draining, id)
	return j.save()
}

// SetOutbidSince records when each instance now outbid was first seen so; it writes only
// when that changed.
func (j *Journal) SetOutbidSince(m map[int64]time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if maps.EqualFunc(j.data.OutbidSince, m, time.Time.Equal) {
		return nil
	}
	j.data.OutbidSince = maps.Clone(m)
	return j.save()
}

// OutbidSince returns a copy of when each outbid instance was first seen outbid.
func (j *Journal) OutbidSince() map[int64]time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.data.OutbidSince)
}

// Draining returns a copy of the instances being drained.
func (j *Journal) Draining() map[int64]DrainRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.data.Draining)
}

// Avoid records that machine is not to be rented on until until.
func (j *Journal) Avoid(machine int64, until time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.data.Avoided == nil {
		j.data.Avoided = map[int64]time.Time{}
	}
	j.data.Avoided[machine] = until
	return j.save()
}

// Failures returns a copy of the machines' remembered failures.
func (j *Journal) Failures() map[int64]MachineFailures {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.data.Failures)
}

// SetBid records a new bid for the instance id (a rebid): the instance's committed spend
// follows it. The executor writes it before the rebid is sent and keeps it when the reply is
// lost or refused: a rebid only ever raises the bid, so the journal never understates what the
// instance may cost. It reports whether a create record of the instance exists.
func (j *Journal) SetBid(id int64, bid, price float64) (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.data.Creates {
		c := &j.data.Creates[i]
		if c.InstanceID == id {
			if c.Bid == bid && c.Price == price {
				return true, nil
			}
			c.Bid, c.Price = bid, price
			return true, j.save()
		}
	}
	return false, nil
}

// Creates returns a copy of the create records.
func (j *Journal) Creates() []CreateRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.data.Creates)
}

// StoppedByUs returns a copy of the instances we stopped.
func (j *Journal) StoppedByUs() map[int64]time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.data.StoppedByUs)
}

// Avoided returns a copy of the avoided machines.
func (j *Journal) Avoided() map[int64]time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.data.Avoided)
}

// Reconcile matches the journal against a complete instance list: creates the list shows are
// marked seen (taking the instance id from an owner-labelled instance when the reply was lost);
// creates seen before and listed no more are dropped (the instance is gone); creates never seen
// within grace of their intent are dropped; stops of vanished instances and expired avoidances
// are dropped; creates settled long ago are pruned (settle). It saves only when something
// changed.
func (j *Journal) Reconcile(instances []vastapi.Instance, owner string, now time.Time, grace time.Duration) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	byID := make(map[int64]bool, len(instances))
	byNonce := make(map[string]int64)
	for i := range instances {
		in := &instances[i]
		byID[in.ID] = true
		if o, fleet, nonce, ok := ParseLabel(in.Label.Or("")); ok && o == owner {
			byNonce[fleet+"\x00"+nonce] = in.ID
		}
	}
	changed := false
	kept := j.data.Creates[:0]
	for _, c := range j.data.Creates {
		id, listed := byNonce[c.Fleet+"\x00"+c.Nonce]
		if c.InstanceID != 0 && byID[c.InstanceID] {
			listed, id = true, c.InstanceID
		}
		switch {
		case listed:
			if c.SeenAt.IsZero() || c.InstanceID != id || c.Outcome != OutcomeCreated {
				if c.SeenAt.IsZero() {
					c.SeenAt = now
				}
				c.InstanceID = id
				c.Outcome = OutcomeCreated
				changed = true
			}
		case !c.SeenAt.IsZero():
			changed = true
			continue // listed before, gone now
		case grace > 0 && now.Sub(c.IntentAt) > grace:
			changed = true
			continue // never showed up
		}
		kept = append(kept, c)
	}
	j.data.Creates = kept
	gone := func(id int64, _ time.Time) bool { return !byID[id] }
	changed = dropGone(j.data.StoppedByUs, gone) || changed
	changed = dropGone(j.data.StartedByUs, gone) || changed
	changed = dropGone(j.data.OutbidSince, gone) || changed
	changed = dropGone(j.data.Draining, func(id int64, _ DrainRecord) bool { return !byID[id] }) || changed
	for m, until := range j.data.Avoided {
		if !now.Before(until) {
			delete(j.data.Avoided, m)
			changed = true
		}
	}
	for m, f := range j.data.Failures {
		if now.Sub(f.Last) > FailureMemory {
			delete(j.data.Failures, m)
			changed = true
		}
	}
	changed = j.settle(now) || changed
	if !changed {
		return nil
	}
	return j.save()
}

// dropGone deletes the entries gone says are gone and reports whether it deleted any.
func dropGone[V any](m map[int64]V, gone func(int64, V) bool) bool {
	n := len(m)
	maps.DeleteFunc(m, gone)
	return len(m) != n
}
