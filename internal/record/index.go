package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// IndexFile is the index's name in a recording directory: one entry per closed segment, so a
// reader finds the segments of a time range, and retention their ages, without opening them.
// It is a hint: a segment it does not list (the one open at a crash) is read all the same.
const IndexFile = "index.json"

const indexVersion = 1

// IndexEntry is one closed segment.
type IndexEntry struct {
	File  string    `json:"file"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Polls int       `json:"polls"`
	Bytes int64     `json:"bytes"`
}

type indexFile struct {
	dir      string
	Version  int          `json:"version"`
	Segments []IndexEntry `json:"segments"`
}

// loadIndex reads dir's index; a missing one is empty, an unreadable one an error (a corrupt
// index is left for a person to look at, never overwritten blind).
func loadIndex(dir string) (*indexFile, error) {
	idx := &indexFile{dir: dir, Version: indexVersion}
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if err := json.Unmarshal(b, idx); err != nil {
		return nil, fmt.Errorf("record: %s corrupt (move it away to rebuild it): %w", filepath.Join(dir, IndexFile), err)
	}
	if idx.Version != indexVersion {
		return nil, fmt.Errorf("record: %s has version %d, want %d", filepath.Join(dir, IndexFile), idx.Version, indexVersion)
	}
	return idx, nil
}

func (x *indexFile) add(e IndexEntry) {
	x.Segments = slices.DeleteFunc(x.Segments, func(s IndexEntry) bool { return s.File == e.File })
	x.Segments = append(x.Segments, e)
	slices.SortFunc(x.Segments, func(a, b IndexEntry) int { return strings.Compare(a.File, b.File) })
}

func (x *indexFile) entry(file string) (IndexEntry, bool) {
	for _, e := range x.Segments {
		if e.File == file {
			return e, true
		}
	}
	return IndexEntry{}, false
}

// save replaces the index durably: a temp file, synced, renamed over it.
func (x *indexFile) save() error {
	b, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(x.dir, ".index-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(x.dir, IndexFile)); err != nil {
		return err
	}
	syncDir(x.dir)
	return nil
}

// segments lists dir's segment files in time order.
func segments(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), segmentExt) {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// retain drops closed segments past the age or size limit, oldest first. The open segment is
// never dropped; a segment the index does not list (left by a crash) counts by its size and,
// for its age, by the next segment's start.
func (w *Writer) retain() {
	if w.o.MaxAge <= 0 && w.o.MaxBytes <= 0 {
		return
	}
	names, err := segments(w.o.Dir)
	if err != nil {
		w.log.Warn("recording: retention skipped", "err", err)
		return
	}
	type seg struct {
		name  string
		to    time.Time
		bytes int64
	}
	var segs []seg
	var total int64
	for i, n := range names {
		if w.seg != nil && n == w.seg.name {
			continue
		}
		fi, err := os.Stat(filepath.Join(w.o.Dir, n))
		if err != nil {
			continue
		}
		s := seg{name: n, bytes: fi.Size()}
		if e, ok := w.index.entry(n); ok {
			s.to = e.To
		} else if i+1 < len(names) {
			s.to, _ = time.Parse("20060102T150405.000000000Z", strings.TrimSuffix(names[i+1], segmentExt))
		}
		segs = append(segs, s)
		total += s.bytes
	}
	if w.seg != nil {
		total += w.seg.bytes
	}
	for _, s := range segs {
		old := w.o.MaxAge > 0 && !s.to.IsZero() && w.lastAt.Sub(s.to) > w.o.MaxAge
		big := w.o.MaxBytes > 0 && total > w.o.MaxBytes
		if !old && !big {
			break
		}
		if err := os.Remove(filepath.Join(w.o.Dir, s.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.log.Warn("recording: retention could not drop a segment", "segment", s.name, "err", err)
			continue
		}
		total -= s.bytes
		w.index.Segments = slices.DeleteFunc(w.index.Segments, func(e IndexEntry) bool { return e.File == s.name })
		w.log.Info("recording: segment dropped by retention", "segment", s.name, "age_limit", old, "size_limit", big)
	}
}

// Extent is the span a recording in dir covers, as its index and segment names tell without
// reading the segments: from its first segment's first poll to its last closed segment's last
// poll or its last segment's first, whichever is later. The end is a lower bound while a
// segment is open.
func Extent(dir string) (from, to time.Time, err error) {
	names, err := segments(dir)
	if err != nil || len(names) == 0 {
		return from, to, fmt.Errorf("record: no recording in %s", dir)
	}
	idx, err := loadIndex(dir)
	if err != nil {
		return from, to, err
	}
	nameTime := func(n string) time.Time {
		t, _ := time.Parse("20060102T150405.000000000Z", strings.TrimSuffix(n, segmentExt))
		return t
	}
	from, to = nameTime(names[0]), nameTime(names[len(names)-1])
	if e, ok := idx.entry(names[0]); ok {
		from = e.From
	}
	for _, e := range idx.Segments {
		if e.To.After(to) {
			to = e.To
		}
	}
	return from, to, nil
}
