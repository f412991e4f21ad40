package scaler_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

func TestJournal(t *testing.T) {
	t.Run("an intent is on disk before Intent returns and survives a reopen", func(t *testing.T) {
		dir := t.TempDir()
		j, err := scaler.OpenJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		rec := scaler.CreateRecord{Nonce: "n1", Fleet: "f", OfferID: 7, MachineID: 8, Price: 0.31, Bid: 0.3, IntentAt: t0}
		if err := j.Intent(rec); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, scaler.JournalFile))
		if err != nil || !strings.Contains(string(b), `"n1"`) {
			t.Fatalf("journal on disk: %s %v", b, err)
		}
		j2, err := scaler.OpenJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		got := j2.Creates()
		if len(got) != 1 || got[0].Outcome != scaler.OutcomeIntent || got[0].OfferID != 7 || got[0].Bid != 0.3 || !got[0].IntentAt.Equal(t0) {
			t.Fatalf("reopened: %+v", got)
		}
	})
	t.Run("a corrupt journal is an error, never a fresh start", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, scaler.JournalFile), []byte(`{"version":1,"creates":[{`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := scaler.OpenJournal(dir)
		var je *scaler.JournalError
		if !errors.As(err, &je) || !strings.Contains(err.Error(), "no creates") {
			t.Fatalf("err %v", err)
		}
		if _, err := scaler.ReadState(dir, time.Minute); err == nil {
			t.Fatal("ReadState accepted a corrupt journal")
		}
	})
	t.Run("an unreadable journal is an error", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, scaler.JournalFile), 0o700); err != nil { // a directory cannot be read as a file
			t.Fatal(err)
		}
		if _, err := scaler.OpenJournal(dir); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("a journal of another version is an error", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, scaler.JournalFile), []byte(`{"version":99,"creates":[]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := scaler.OpenJournal(dir); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("reconcile: listed by label takes the id; gone after seen is dropped; unseen past grace is dropped", func(t *testing.T) {
		dir := t.TempDir()
		j, _ := scaler.OpenJournal(dir)
		for _, r := range []scaler.CreateRecord{
			{Nonce: "lost", Fleet: "f", IntentAt: t0},                         // reply lost, instance exists
			{Nonce: "byid", Fleet: "f", IntentAt: t0},                         // reply ok
			{Nonce: "never", Fleet: "f", IntentAt: t0.Add(-11 * time.Minute)}, // never showed up
			{Nonce: "young", Fleet: "f", IntentAt: t0.Add(-time.Minute)},      // not yet listed
		} {
			if err := j.Intent(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Resolve("lost", scaler.OutcomeUnknown, 0); err != nil {
			t.Fatal(err)
		}
		if err := j.Resolve("byid", scaler.OutcomeCreated, 77); err != nil {
			t.Fatal(err)
		}
		if err := j.SetStopped(99, t0); err != nil {
			t.Fatal(err)
		}
		if err := j.SetStarted(98, t0); err != nil {
			t.Fatal(err)
		}
		if err := j.Avoid(5, t0.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		list := []vastapi.Instance{
			{ID: 55, Label: vastapi.Some(scaler.Label(owner, "f", "lost"))},
			{ID: 77},
		}
		if err := j.Reconcile(list, owner, t0, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		got := map[string]scaler.CreateRecord{}
		for _, c := range j.Creates() {
			got[c.Nonce] = c
		}
		if c := got["lost"]; c.InstanceID != 55 || c.Outcome != scaler.OutcomeCreated || c.SeenAt.IsZero() {
			t.Errorf("lost: %+v", c)
		}
		if c := got["byid"]; c.InstanceID != 77 || c.SeenAt.IsZero() {
			t.Errorf("byid: %+v", c)
		}
		if _, ok := got["never"]; ok {
			t.Error("a create never listed within grace was kept")
		}
		if _, ok := got["young"]; !ok {
			t.Error("a young pending create was dropped")
		}
		if len(j.StoppedByUs()) != 0 || len(j.StartedByUs()) != 0 || len(j.Avoided()) != 0 {
			t.Errorf("stale stops %v, starts %v or avoidances %v kept", j.StoppedByUs(), j.StartedByUs(), j.Avoided())
		}
		// The instance made by "lost" goes away: its record goes with it.
		if err := j.Reconcile(list[1:], owner, t0.Add(time.Minute), 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		for _, c := range j.Creates() {
			if c.Nonce == "lost" {
				t.Error("record of a gone instance kept")
			}
		}
		j2, err := scaler.OpenJournal(dir)
		if err != nil || len(j2.Creates()) != len(j.Creates()) {
			t.Fatalf("reconcile not saved: %v", err)
		}
	})
	t.Run("forget drops a refused create", func(t *testing.T) {
		j, _ := scaler.OpenJournal(t.TempDir())
		_ = j.Intent(scaler.CreateRecord{Nonce: "x", Fleet: "f", IntentAt: t0})
		if err := j.Forget("x"); err != nil || len(j.Creates()) != 0 {
			t.Fatalf("forget: %v %v", err, j.Creates())
		}
	})
	t.Run("an intent that cannot be written is refused and not kept", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state")
		j, err := scaler.OpenJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dir); err != nil { // the state dir vanishes under us
			t.Fatal(err)
		}
		if err := j.Intent(scaler.CreateRecord{Nonce: "x", Fleet: "f", IntentAt: t0}); err == nil {
			t.Fatal("intent written into a missing directory")
		}
		if len(j.Creates()) != 0 {
			t.Fatal("a failed intent stayed in memory")
		}
	})
}
