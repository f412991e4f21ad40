package scaler

import "errors"

// MemoryJournal returns a journal kept in memory only, for backtests (docs/backtest.md): it
// records everything a journal on disk does, and a process that ends forgets it. A daemon
// never uses one: its journal must survive a restart (docs/design.md §7).
func MemoryJournal() *Journal {
	return &Journal{data: journalData{Version: journalVersion}}
}

// errNotRead holds creates back until Rearm has read the state (Options.ReadOnRearm).
var errNotRead = errors.New("state not read yet: it is read on gaining leadership")

// openJournal (re)reads the journal from the Store, or from the files of StateDir; with
// Options.Memory it keeps the journal in memory it has. Callers hold mu (or own s).
func (s *Scaler) openJournal() {
	switch {
	case s.o.Memory:
		if s.journal == nil {
			s.journal = MemoryJournal()
		}
		s.journalErr = nil
	case s.o.Store != nil:
		s.journal, s.journalErr = LoadJournal(s.o.Store)
	default:
		s.journal, s.journalErr = OpenJournal(s.o.StateDir)
	}
}

// loadOutbid takes the outbid times from the journal, so the outbid grace survives a restart.
// Callers hold mu (or own s).
func (s *Scaler) loadOutbid() {
	if s.journal != nil {
		if m := s.journal.OutbidSince(); m != nil {
			s.outbidSince = m
		}
	}
}

// openBook (re)reads the spend book. An unusable one leaves an in-memory book counting from
// now and creates under a monthly budget blocked. Callers hold mu (or own s).
func (s *Scaler) openBook() {
	if s.o.Memory && s.book != nil {
		return // the book in memory is the only one
	}
	var b *SpendBook
	var err error
	switch {
	case s.o.Memory:
		b, err = LoadSpendBook(nil)
	case s.o.Store != nil:
		b, err = LoadSpendBook(s.o.Store)
	default:
		b, err = OpenSpendBook(s.o.StateDir)
	}
	if err != nil {
		s.log.Error("spend book unusable; creates under a monthly budget blocked", "err", err)
		if s.book == nil || s.bookErr == nil {
			s.book, _ = OpenSpendBook("")
		}
		s.bookErr = err
		return
	}
	s.book, s.bookErr = b, nil
}
