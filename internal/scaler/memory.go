package scaler

// MemoryJournal returns a journal kept in memory only, for backtests (docs/backtest.md): it
// records everything a journal on disk does, and a process that ends forgets it. A daemon
// never uses one: its journal must survive a restart (docs/design.md §7).
func MemoryJournal() *Journal {
	return &Journal{data: journalData{Version: journalVersion}}
}

// openJournal is the scaler's journal: in memory with Options.Memory, else the state dir's.
func (s *Scaler) openJournal() (*Journal, error) {
	if s.o.Memory {
		if s.journal != nil {
			return s.journal, nil
		}
		return MemoryJournal(), nil
	}
	return OpenJournal(s.o.StateDir)
}
