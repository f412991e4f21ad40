package scaler_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/scaler"
)

const realAPI = "https://console.vast.ai"

// A state directory remembers the API it belongs to and refuses another (issue 16 item 9).
func TestAStateDirBelongsToOneAPI(t *testing.T) {
	t.Run("a new directory is made and marked; the same API is welcome again", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if adopted, err := scaler.BindStateDir(dir, "simulated seed=1"); err != nil || adopted {
			t.Fatalf("bind: %v (adopted %v)", err, adopted)
		}
		if _, err := scaler.BindStateDir(dir, "simulated seed=1"); err != nil {
			t.Fatal(err)
		}
		if err := scaler.CheckStateDir(dir, "simulated seed=1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another API is refused, naming both", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := scaler.BindStateDir(dir, "simulated seed=1"); err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{first(scaler.BindStateDir(dir, realAPI)), scaler.CheckStateDir(dir, realAPI)} {
			var other *scaler.StateAPIError
			if !errors.As(err, &other) || !strings.Contains(err.Error(), "simulated seed=1") || !strings.Contains(err.Error(), realAPI) {
				t.Fatalf("err %v", err)
			}
		}
		if _, err := scaler.BindStateDir(dir, "simulated seed=2"); err == nil {
			t.Fatal("another simulated market's state was accepted")
		}
	})
	t.Run("a directory of state from before the mark is adopted, and says so", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, scaler.SpendFile), []byte(`{"version":1}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := scaler.CheckStateDir(dir, realAPI); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, scaler.APIFile)); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("the read-only check wrote the mark")
		}
		if adopted, err := scaler.BindStateDir(dir, realAPI); err != nil || !adopted {
			t.Fatalf("bind: %v (adopted %v)", err, adopted)
		}
		if _, err := scaler.BindStateDir(dir, "simulated seed=1"); err == nil {
			t.Fatal("once marked, another API is refused")
		}
	})
	t.Run("no directory configured", func(t *testing.T) {
		if err := scaler.CheckStateDir("", realAPI); err != nil {
			t.Fatal(err)
		}
		if _, err := scaler.BindStateDir("", realAPI); err == nil {
			t.Fatal("bound no directory")
		}
	})
}

func first[T any](_ T, err error) error { return err }
