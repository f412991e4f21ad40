package scaler_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vastwatch/vastwatch/internal/scaler"
)

// FuzzJournal feeds arbitrary bytes as the journal file: opening never panics, and a journal
// that opens reconciles, saves and opens again with the same creates.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"version":1,"creates":[{"nonce":"n","fleet":"f","offer_id":1,"price":0.3,"outcome":"unknown","intent_at":"2026-11-30T12:00:00Z"}],"stopped_by_us":{"5":"2026-11-30T12:00:00Z"}}`))
	f.Add([]byte(`{"version":1,"creates":[]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := stateDir(t)
		if err := os.WriteFile(filepath.Join(dir, scaler.JournalFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, err := scaler.OpenJournal(dir)
		if err != nil {
			return
		}
		before := j.Creates()
		if err := j.Reconcile(nil, "o", t0, 0); err != nil {
			t.Fatal(err)
		}
		if err := j.SetStopped(1, t0); err != nil {
			t.Fatal(err)
		}
		j2, err := scaler.OpenJournal(dir)
		if err != nil {
			t.Fatalf("a journal we wrote does not open: %v", err)
		}
		// With no instances listed and no grace, only never-seen creates survive the reconcile.
		kept := 0
		for _, c := range before {
			if c.SeenAt.IsZero() {
				kept++
			}
		}
		if got := len(j2.Creates()); got != kept {
			t.Fatalf("%d creates after reopen, want %d", got, kept)
		}
	})
}

// FuzzParseLabel: any label parses without panic, and a parsed label rebuilds to itself.
func FuzzParseLabel(f *testing.F) {
	f.Add("vastwatch:prod:inference:abc123")
	f.Add("vastwatch::x:y")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		o, fl, n, ok := scaler.ParseLabel(s)
		if ok && scaler.Label(o, fl, n) != s {
			t.Fatalf("%q parsed to %q %q %q", s, o, fl, n)
		}
	})
}
