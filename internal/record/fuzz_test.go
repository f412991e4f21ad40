package record

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzReadSegment: whatever a segment file holds, reading it returns polls or io.EOF, never
// panics and never an error other than the filesystem's.
func FuzzReadSegment(f *testing.F) {
	dir := f.TempDir()
	record(&testing.T{}, dir, newMarket(7, 6), 4, time.Hour)
	names, _ := segments(dir)
	b, _ := os.ReadFile(filepath.Join(dir, names[0]))
	f.Add(b)
	f.Add([]byte(magic))
	f.Add(append([]byte(magic), 5, 0, 0, 0, 0, 2, 0, 0, 0))
	f.Fuzz(func(t *testing.T, seg []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, SegmentName(t0)), seg, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := OpenReader(d, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for range 1000 {
			if _, err := r.Next(); errors.Is(err, io.EOF) {
				return
			} else if err != nil {
				t.Fatal(err)
			}
		}
	})
}
