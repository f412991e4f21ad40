package metrics

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// exposition is a snapshot rendered once: the text exposition, and the same bytes as the
// beginning of a gzip member's deflate stream (sync-flushed, not final) with their CRC-32, so a
// scrape can finish the member with the self-metrics it gathers without compressing the
// snapshot again (see gzipBody).
type exposition struct {
	plain   []byte
	deflate []byte
	crc     uint32
}

var emptyExposition = mustEmptyExposition()

func mustEmptyExposition() *exposition {
	e, err := newExposition(nil)
	if err != nil {
		panic(err)
	}
	return e
}

// render gathers the snapshot's collector into its text exposition. On a gather error it still
// renders every family that gathered cleanly, and returns the error too.
func render(s *Snapshot) (*exposition, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCollector(s)); err != nil {
		return nil, fmt.Errorf("register snapshot collector: %w", err)
	}
	mfs, gatherErr := reg.Gather()
	var buf bytes.Buffer
	if err := writeText(&buf, mfs); err != nil {
		return nil, err
	}
	e, err := newExposition(buf.Bytes())
	if err != nil {
		return nil, err
	}
	if gatherErr != nil {
		return e, fmt.Errorf("gather snapshot: %w", gatherErr)
	}
	return e, nil
}

func writeText(w io.Writer, mfs []*dto.MetricFamily) error {
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return fmt.Errorf("encode %s: %w", mf.GetName(), err)
		}
	}
	return nil
}

func newExposition(plain []byte) (*exposition, error) {
	var z bytes.Buffer
	fw, err := flate.NewWriter(&z, flate.DefaultCompression)
	if err != nil {
		return nil, fmt.Errorf("deflate snapshot: %w", err)
	}
	if _, err := fw.Write(plain); err != nil {
		return nil, fmt.Errorf("deflate snapshot: %w", err)
	}
	// Flush ends the data on a byte boundary with a non-final block, so another deflate
	// stream may follow it in the same gzip member.
	if err := fw.Flush(); err != nil {
		return nil, fmt.Errorf("deflate snapshot: %w", err)
	}
	return &exposition{plain: plain, deflate: z.Bytes(), crc: crc32.ChecksumIEEE(plain)}, nil
}

// gzipHeader is a minimal RFC 1952 member header: deflate, no flags, no mtime, OS unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// tail is the part of a reply gathered per scrape (the self-metrics): its text and the same
// text as a complete (final) deflate stream.
type tail struct {
	plain   []byte
	deflate []byte
	events  uint64    // self-metric events recorded before the gather began
	at      time.Time // when the gather began
}

// tailWriters reuses deflate writers: a new one allocates about a megabyte.
var tailWriters = sync.Pool{New: func() any {
	fw, err := flate.NewWriter(nil, flate.BestSpeed)
	if err != nil {
		panic(err) // only for an invalid level
	}
	return fw
}}

func newTail(plain []byte) (*tail, error) {
	var z bytes.Buffer
	z.Grow(len(plain)/4 + 64)
	fw := tailWriters.Get().(*flate.Writer)
	defer tailWriters.Put(fw)
	fw.Reset(&z)
	if _, err := fw.Write(plain); err != nil {
		return nil, fmt.Errorf("deflate self-metrics: %w", err)
	}
	if err := fw.Close(); err != nil {
		return nil, fmt.Errorf("deflate self-metrics: %w", err)
	}
	return &tail{plain: plain, deflate: z.Bytes()}, nil
}

// gzipLen is the length of the gzip member of e and t (see gzipTrailer).
func (e *exposition) gzipLen(t *tail) int {
	return len(gzipHeader) + len(e.deflate) + len(t.deflate) + 8
}

// gzipTrailer ends the gzip member of e.plain followed by t.plain: the CRC-32 and the size of
// the whole text. The member is gzipHeader, e.deflate, t.deflate and this trailer: the first
// deflate stream ends on a byte boundary without a final block, and the second (which refers
// to none of the first's bytes) ends the member.
func (e *exposition) gzipTrailer(t *tail) [8]byte {
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc32.Update(e.crc, crc32.IEEETable, t.plain))
	binary.LittleEndian.PutUint32(trailer[4:], uint32(len(e.plain)+len(t.plain)))
	return trailer
}
