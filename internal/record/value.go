package record

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"slices"
	"unsafe"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// The field table holds each field's offset in vastapi.Offer, taken from reflect at start, so a
// value is read and written without reflect's cost: a replay reads hundreds of millions.

func at[T any](o *vastapi.Offer, off uintptr) *T {
	return (*T)(unsafe.Add(unsafe.Pointer(o), off))
}

// equal reports whether a and b hold the same value of f (floats bit for bit).
func (f *field) equal(a, b *vastapi.Offer) bool {
	if f.kind >= kOptInt {
		va, vb := *at[bool](a, f.valid), *at[bool](b, f.valid)
		if va != vb {
			return false
		}
		if !va {
			return true
		}
	}
	switch f.kind {
	case kInt, kOptInt:
		return *at[int](a, f.off) == *at[int](b, f.off)
	case kInt64, kOptInt64:
		return *at[int64](a, f.off) == *at[int64](b, f.off)
	case kFloat, kOptFloat:
		return math.Float64bits(*at[float64](a, f.off)) == math.Float64bits(*at[float64](b, f.off))
	case kString, kOptString:
		return *at[string](a, f.off) == *at[string](b, f.off)
	case kBool, kOptBool:
		return *at[bool](a, f.off) == *at[bool](b, f.off)
	case kInts:
		return slices.Equal(*at[[]int64](a, f.off), *at[[]int64](b, f.off))
	}
	return false
}

// write appends o's value of f.
func (f *field) write(e *enc, o *vastapi.Offer) {
	if f.kind >= kOptInt {
		valid := *at[bool](o, f.valid)
		e.boolean(valid)
		if !valid {
			return
		}
	}
	switch f.kind {
	case kInt, kOptInt:
		e.varint(int64(*at[int](o, f.off)))
	case kInt64, kOptInt64:
		e.varint(*at[int64](o, f.off))
	case kFloat, kOptFloat:
		e.float(*at[float64](o, f.off))
	case kString, kOptString:
		e.str(*at[string](o, f.off))
	case kBool, kOptBool:
		e.boolean(*at[bool](o, f.off))
	case kInts:
		ids := *at[[]int64](o, f.off)
		if ids == nil {
			e.uvarint(0)
			return
		}
		// Length+1, so an empty list and none stay apart; then the first and the steps.
		e.uvarint(uint64(len(ids)) + 1)
		prev := int64(0)
		for _, v := range ids {
			e.varint(v - prev)
			prev = v
		}
	}
}

// read sets o's value of f from d.
func (f *field) read(d *dec, o *vastapi.Offer) {
	if f.kind >= kOptInt {
		valid := d.boolean()
		*at[bool](o, f.valid) = valid
		if !valid {
			f.zero(o)
			*at[bool](o, f.valid) = false
			return
		}
	}
	switch f.kind {
	case kInt, kOptInt:
		*at[int](o, f.off) = int(d.varint())
	case kInt64, kOptInt64:
		*at[int64](o, f.off) = d.varint()
	case kFloat, kOptFloat:
		*at[float64](o, f.off) = d.float()
	case kString, kOptString:
		*at[string](o, f.off) = d.str()
	case kBool, kOptBool:
		*at[bool](o, f.off) = d.boolean()
	case kInts:
		n := d.uvarint()
		if n > uint64(len(d.b))+1 {
			d.fail("list past the end")
			return
		}
		if n == 0 {
			*at[[]int64](o, f.off) = nil
			return
		}
		ids := make([]int64, n-1)
		prev := int64(0)
		for i := range ids {
			prev += d.varint()
			ids[i] = prev
		}
		*at[[]int64](o, f.off) = ids
	}
}

// zero clears o's value of f.
func (f *field) zero(o *vastapi.Offer) {
	switch f.kind {
	case kInt, kOptInt:
		*at[int](o, f.off) = 0
	case kInt64, kOptInt64:
		*at[int64](o, f.off) = 0
	case kFloat, kOptFloat:
		*at[float64](o, f.off) = 0
	case kString, kOptString:
		*at[string](o, f.off) = ""
	case kBool, kOptBool:
		*at[bool](o, f.off) = false
	case kInts:
		*at[[]int64](o, f.off) = nil
	}
	if f.kind >= kOptInt {
		*at[bool](o, f.valid) = false
	}
}

// skip reads past a value of kind k that no field of this build has (a recording made by a
// build whose Offer has a field this one lacks).
func skip(d *dec, k kind) {
	if k >= kOptInt && !d.boolean() {
		return
	}
	switch k {
	case kInt, kOptInt, kInt64, kOptInt64:
		d.varint()
	case kFloat, kOptFloat:
		d.float()
	case kString, kOptString:
		d.str()
	case kBool, kOptBool:
		d.boolean()
	case kInts:
		n := d.uvarint()
		for i := uint64(1); i < n && d.err == nil; i++ {
			d.varint()
		}
	default:
		d.fail("unknown field kind")
	}
}

// fingerprintSeed is this process's: fingerprints are compared only within one process.
var fingerprintSeed = maphash.MakeSeed()

// fingerprint hashes o's recorded fields: two offers with the same fingerprint record the same,
// but for a chance of one in 2^64. It lets a writer pass over an unchanged offer without
// encoding it.
func fingerprint(o *vastapi.Offer) uint64 {
	var h maphash.Hash
	h.SetSeed(fingerprintSeed)
	var b [8]byte
	u64 := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	for i := range fields {
		f := &fields[i]
		if f.kind >= kOptInt && !*at[bool](o, f.valid) {
			h.WriteByte(0)
			continue
		}
		switch f.kind {
		case kInt, kOptInt:
			u64(uint64(*at[int](o, f.off)))
		case kInt64, kOptInt64:
			u64(uint64(*at[int64](o, f.off)))
		case kFloat, kOptFloat:
			u64(math.Float64bits(*at[float64](o, f.off)))
		case kString, kOptString:
			s := *at[string](o, f.off)
			u64(uint64(len(s)))
			h.WriteString(s)
		case kBool, kOptBool:
			if *at[bool](o, f.off) {
				h.WriteByte(2)
			} else {
				h.WriteByte(1)
			}
		case kInts:
			ids := *at[[]int64](o, f.off)
			if ids == nil {
				u64(1 << 63)
			} else {
				u64(uint64(len(ids)))
			}
			for _, v := range ids {
				u64(uint64(v))
			}
		}
	}
	return h.Sum64()
}
