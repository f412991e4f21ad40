package record

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A segment file is the magic line, then one frame per poll:
//
//	uvarint  length of the rest of the frame
//	uint32   CRC-32C of the rest, little-endian
//	byte     kind: 1 the whole market (a key frame), 2 the changes since the frame before
//	byte     flags: 1 on a key frame that repeats the state of the segment before's last poll
//	varint   the poll's time, Unix nanoseconds
//	uvarint  how many offers are listed after this frame
//	...      the body, DEFLATE-compressed on its own
//
// So every frame can be checked before it is believed, and a file cut anywhere reads up to its
// last whole frame: the length runs past the end, or the checksum fails.
const magic = "VWREC01\n"

type frameKind byte

const (
	frameKey   frameKind = 1
	frameDelta frameKind = 2
)

// flagContinues marks a key frame written when a segment is rotated: it holds the market as
// the previous segment's last poll left it, so a reader that read that segment can skip it.
const flagContinues = 1

// maxFrame bounds a frame's length: a length past it is corruption, not a big market.
const maxFrame = 256 << 20

type frameHeader struct {
	kind  frameKind
	flags byte
	at    int64
	count int
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends a whole frame: h, then body compressed with zw.
func appendFrame(dst []byte, h frameHeader, body []byte, zw *flate.Writer) ([]byte, error) {
	var rest bytes.Buffer
	rest.WriteByte(byte(h.kind))
	rest.WriteByte(h.flags)
	rest.Write(binary.AppendVarint(nil, h.at))
	rest.Write(binary.AppendUvarint(nil, uint64(h.count)))
	zw.Reset(&rest)
	if _, err := zw.Write(body); err != nil {
		return dst, err
	}
	if err := zw.Close(); err != nil {
		return dst, err
	}
	dst = binary.AppendUvarint(dst, uint64(rest.Len()))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(rest.Bytes(), castagnoli))
	return append(dst, rest.Bytes()...), nil
}

// errCut is a segment that ends inside a frame or in a frame that fails its checksum: what
// came before it reads, nothing after.
var errCut = errors.New("segment cut")

// frameReader reads the frames of one segment.
type frameReader struct {
	r    *bufio.Reader
	size int64 // the file's size: a length past it is a cut, not an allocation
	pos  int64 // offset of the next frame
	buf  []byte
	zr   io.ReadCloser
	body bytes.Buffer
}

func newFrameReader(r io.Reader, size int64) (*frameReader, error) {
	fr := &frameReader{r: bufio.NewReaderSize(r, 64<<10), size: size}
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(fr.r, head); err != nil || string(head) != magic {
		if err == nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: no segment header", errCut)
		}
		return nil, err
	}
	fr.pos = int64(len(magic))
	return fr, nil
}

// next reads the next frame's header and its still compressed body: io.EOF at a clean end,
// an error wrapping errCut at a partial or damaged frame.
func (fr *frameReader) next() (frameHeader, []byte, error) {
	var h frameHeader
	n, err := binary.ReadUvarint(fr.r)
	if errors.Is(err, io.EOF) {
		return h, nil, io.EOF
	}
	if err != nil || n < 4 || n > maxFrame {
		return h, nil, fr.cut("bad frame length")
	}
	if fr.pos+int64(n) > fr.size {
		return h, nil, fr.cut("frame runs past the end")
	}
	if cap(fr.buf) < int(n)+4 {
		fr.buf = make([]byte, int(n)+4)
	}
	b := fr.buf[:int(n)+4]
	if _, err := io.ReadFull(fr.r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return h, nil, fr.cut("frame runs past the end")
		}
		return h, nil, err
	}
	rest := b[4:]
	if crc32.Checksum(rest, castagnoli) != binary.LittleEndian.Uint32(b) {
		return h, nil, fr.cut("checksum mismatch")
	}
	d := dec{b: rest}
	h.kind, h.flags, h.at = frameKind(d.byte()), d.byte(), d.varint()
	h.count = int(d.uvarint())
	if d.err != nil || (h.kind != frameKey && h.kind != frameDelta) {
		return h, nil, fr.cut("bad frame header")
	}
	fr.pos += int64(binary.PutUvarint(make([]byte, binary.MaxVarintLen64), n)) + int64(n) + 4
	return h, d.b, nil
}

func (fr *frameReader) cut(why string) error {
	return fmt.Errorf("%w at byte %d: %s", errCut, fr.pos, why)
}

// inflate decompresses a frame's body; the result is valid until the next call.
func (fr *frameReader) inflate(z []byte) ([]byte, error) {
	src := bytes.NewReader(z)
	if fr.zr == nil {
		fr.zr = flate.NewReader(src)
	} else if err := fr.zr.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, err
	}
	fr.body.Reset()
	if _, err := fr.body.ReadFrom(fr.zr); err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return fr.body.Bytes(), nil
}
