package scaler

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// SpendFile is the month-to-date spend book's name inside --state.dir (and its key in the
// state's ConfigMap).
const SpendFile = "spend.json"

const spendVersion = 1

// MonthSpend is the committed spend integrated over one calendar month (UTC): per fleet and
// for the account (every managed instance, orphans included).
type MonthSpend struct {
	// Month is "2006-01" in UTC; "" when nothing was integrated yet.
	Month   string             `json:"month"`
	Fleets  map[string]float64 `json:"fleets,omitempty"`
	Account float64            `json:"account"`
}

// MonthKey is the calendar month (UTC) of t, as MonthSpend.Month names it.
func MonthKey(t time.Time) string { return t.UTC().Format("2006-01") }

// MonthEnd is the start of the calendar month (UTC) after t's.
func MonthEnd(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}

// HoursLeftInMonth is the time from t to the end of its calendar month (UTC), in hours.
func HoursLeftInMonth(t time.Time) float64 { return MonthEnd(t).Sub(t).Hours() }

// At returns the month-to-date figures for now's month: zeroes when the book is of an earlier
// month (the month rolled over).
func (m MonthSpend) At(now time.Time) (fleets map[string]float64, account float64) {
	if m.Month != MonthKey(now) {
		return nil, 0
	}
	return m.Fleets, m.Account
}

type spendData struct {
	Version int `json:"version"`
	MonthSpend
	// At is when the spend was last integrated; Committed and AccountCommitted are the $/h
	// committed from then on, so a restart's downtime is integrated too (the instances bill on).
	At               time.Time          `json:"at,omitzero"`
	Committed        map[string]float64 `json:"committed,omitempty"`
	AccountCommitted float64            `json:"account_committed,omitempty"`
	// Bill is the last bill the leader planned with, so that followers and `vastwatch plan`
	// reading this file plan with it too.
	Bill *Bill `json:"bill,omitempty"`
}

func (d *spendData) version() int { return d.Version }

// SpendBook integrates committed spend ($/h × hours) into month-to-date totals and keeps them
// in the state's Store with the journal's discipline (written durably before the call returns).
// A book with no Store lives in memory only.
type SpendBook struct {
	store Store
	data  spendData
}

// SpendError is a spend file that cannot be read or parsed. Creates under a monthly budget stay
// stopped while it persists: starting the month afresh could spend the budget twice.
type SpendError struct {
	Path string
	Err  error
}

func (e *SpendError) Error() string {
	return fmt.Sprintf("spend book %s unusable, month-to-date spend unknown until it is repaired or moved away: %v", e.Path, e.Err)
}

func (e *SpendError) Unwrap() error { return e.Err }

// OpenSpendBook reads the spend book in dir (dir "": an in-memory book). A missing file is an
// empty book; an unreadable or corrupt one is a *SpendError.
func OpenSpendBook(dir string) (*SpendBook, error) {
	if dir == "" {
		return LoadSpendBook(nil)
	}
	st, err := openDir(dir)
	if err != nil {
		return nil, &SpendError{Path: st.Where(SpendFile), Err: err}
	}
	return LoadSpendBook(st)
}

// LoadSpendBook reads the spend book of st (nil: an in-memory book). A book never written is an
// empty one; an unreadable or corrupt one is a *SpendError.
func LoadSpendBook(st Store) (*SpendBook, error) {
	if st == nil {
		return &SpendBook{data: spendData{Version: spendVersion}}, nil
	}
	d, err := readSpend(st)
	if err != nil {
		return nil, err
	}
	return &SpendBook{store: st, data: d}, nil
}

// readSpend reads and checks the spend book of st without writing anything.
func readSpend(st Store) (spendData, error) {
	d := spendData{Version: spendVersion}
	err := readStateDoc(st, SpendFile, &d, spendVersion, func(d *spendData) error {
		if _, err := time.Parse("2006-01", d.Month); d.Month != "" && err != nil {
			return fmt.Errorf("corrupt: month %q", d.Month)
		}
		return nil
	})
	if err != nil {
		return d, &SpendError{Path: st.Where(SpendFile), Err: err}
	}
	return d, nil
}

// Advance integrates the committed $/h recorded by the last Commit from then until now into
// the month-to-date totals, splitting the interval at month boundaries (a new month starts from
// zero). It returns the dollars added per fleet and for the account. It does not save.
func (b *SpendBook) Advance(now time.Time) (fleets map[string]float64, account float64) {
	fleets = map[string]float64{}
	from := b.data.At
	if !from.IsZero() && now.After(from) {
		for start := from; start.Before(now); {
			end := MonthEnd(start)
			if end.After(now) {
				end = now
			}
			h := end.Sub(start).Hours()
			b.rollTo(MonthKey(start))
			for f, rate := range b.data.Committed {
				b.data.Fleets[f] += rate * h
				fleets[f] += rate * h
			}
			b.data.Account += b.data.AccountCommitted * h
			account += b.data.AccountCommitted * h
			start = end
		}
	}
	b.rollTo(MonthKey(now))
	if now.After(b.data.At) {
		b.data.At = now
	}
	return fleets, account
}

// rollTo makes month the book's month, starting it from zero when it is another.
func (b *SpendBook) rollTo(month string) {
	if b.data.Month != month {
		b.data.Month = month
		b.data.Fleets = map[string]float64{}
		b.data.Account = 0
	}
	if b.data.Fleets == nil {
		b.data.Fleets = map[string]float64{}
	}
}

// Commit records the $/h committed from now on (per fleet, and the account's) and saves the book.
func (b *SpendBook) Commit(now time.Time, fleets map[string]float64, account float64) error {
	if now.After(b.data.At) {
		b.data.At = now
	}
	b.data.Committed = maps.Clone(fleets)
	b.data.AccountCommitted = account
	return b.save()
}

// SetBill keeps b as the bill planned with, saved at the next Commit, unless the book already
// holds a more recent one.
func (b *SpendBook) SetBill(bill *Bill) { b.data.Bill = NewerBill(b.data.Bill, bill) }

// Bill is the last bill kept by SetBill (nil: none).
func (b *SpendBook) Bill() *Bill { return b.data.Bill }

// Month returns a copy of the month-to-date totals.
func (b *SpendBook) Month() MonthSpend {
	m := b.data.MonthSpend
	m.Fleets = maps.Clone(m.Fleets)
	return m
}

// save writes the book atomically and durably; an in-memory book is not written.
func (b *SpendBook) save() error {
	if b.store == nil {
		return nil
	}
	buf, err := json.Marshal(b.data)
	if err != nil {
		return fmt.Errorf("encode spend book: %w", err)
	}
	return b.store.Write(SpendFile, buf)
}
