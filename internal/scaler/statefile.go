package scaler

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// The state holds the journal and the spend book, each a versioned JSON document of a Store
// that is read without writing anything (so `vastwatch plan` and a follower can read what the
// leader wrote) and replaced whole and durably.

// stateFile is the data of one of the state's documents.
type stateFile interface {
	// version is the file's format version, as read.
	version() int
}

// decodeState decodes b into *d, checking its version against want and then with check; on
// any error *d is left as it is.
func decodeState[T any, PT interface {
	*T
	stateFile
}](b []byte, d PT, want int, check func(PT) error) error {
	var got T
	if err := json.Unmarshal(b, &got); err != nil {
		return fmt.Errorf("corrupt: %w", err)
	}
	if v := PT(&got).version(); v != want {
		return fmt.Errorf("version %d, want %d", v, want)
	}
	if err := check(&got); err != nil {
		return err
	}
	*d = got
	return nil
}

// writeDurably replaces path with buf: a temp file in the same directory, synced, renamed over
// path, and the directory synced.
func writeDurably(path, pattern string, buf []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if _, err := tmp.Write(buf); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", filepath.Base(path), err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync state dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync state dir: %w", err)
	}
	return nil
}
