// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"encoding/binary"
	"errors"
	"math"
)

// ErrMalformed reports a column or edit list that ends early or carries an
// unknown tag.
var ErrMalformed = errors.New("abi: malformed encoding")

// AppendU32 appends v little endian.
func AppendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// AppendStr appends a length-prefixed string (no tag).
func AppendStr(b []byte, s string) []byte {
	b = AppendU32(b, uint32(len(s)))
	return append(b, s...)
}

// AppendBytes appends length-prefixed bytes (no tag).
func AppendBytes(b []byte, p []byte) []byte {
	b = AppendU32(b, uint32(len(p)))
	return append(b, p...)
}

// AppendEmpty appends an Empty value.
func AppendEmpty(b []byte) []byte { return append(b, TagEmpty) }

// AppendStrValue appends a tagged string value.
func AppendStrValue(b []byte, s string) []byte { return AppendStr(append(b, TagStr), s) }

// AppendIntValue appends a tagged int value.
func AppendIntValue(b []byte, v int64) []byte {
	return binary.LittleEndian.AppendUint64(append(b, TagInt), uint64(v))
}

// AppendDoubleValue appends a tagged double value.
func AppendDoubleValue(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(append(b, TagDouble), math.Float64bits(v))
}

// AppendBoolValue appends a tagged bool value.
func AppendBoolValue(b []byte, v bool) []byte {
	if v {
		return append(b, TagBool, 1)
	}
	return append(b, TagBool, 0)
}

// AppendBytesValue appends a tagged bytes value.
func AppendBytesValue(b []byte, p []byte) []byte { return AppendBytes(append(b, TagBytes), p) }

// AppendOtherValue appends a tagged read-only JSON rendering of a map or array.
func AppendOtherValue(b []byte, json string) []byte { return AppendStr(append(b, TagOther), json) }

// AppendEditHeader appends the op, table and index that start every edit.
func AppendEditHeader(b []byte, op, table uint8, index uint32) []byte {
	return AppendU32(append(b, op, table), index)
}

// Decoder reads columns and edit lists. Its zero value is unusable; make one
// with NewDecoder. After the first error every read returns a zero value and
// Err reports ErrMalformed, so callers may check once at the end.
type Decoder struct {
	buf []byte
	off int
	err error
}

// NewDecoder reads b.
func NewDecoder(b []byte) Decoder { return Decoder{buf: b} }

// Err is ErrMalformed after a short or bad read, else nil.
func (d *Decoder) Err() error { return d.err }

// Done reports whether every byte has been read.
func (d *Decoder) Done() bool { return d.off >= len(d.buf) }

// Offset is the number of bytes read so far.
func (d *Decoder) Offset() int { return d.off }

func (d *Decoder) fail() { d.err = ErrMalformed; d.off = len(d.buf) }

// U8 reads one byte.
func (d *Decoder) U8() uint8 {
	if d.off+1 > len(d.buf) {
		d.fail()
		return 0
	}
	v := d.buf[d.off]
	d.off++
	return v
}

// U32 reads a little-endian u32.
func (d *Decoder) U32() uint32 {
	if d.off+4 > len(d.buf) {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint32(d.buf[d.off:])
	d.off += 4
	return v
}

// U64 reads a little-endian u64.
func (d *Decoder) U64() uint64 {
	if d.off+8 > len(d.buf) {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.buf[d.off:])
	d.off += 8
	return v
}

// Raw reads a length-prefixed byte run. The result aliases the input.
func (d *Decoder) Raw() []byte {
	n := d.U32()
	if d.err != nil {
		return nil
	}
	if uint64(d.off)+uint64(n) > uint64(len(d.buf)) {
		d.fail()
		return nil
	}
	v := d.buf[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return v
}

// Scalar is one decoded non-list value. For TagStr, TagBytes and TagOther,
// Raw aliases the decoder's input; for TagInt, TagDouble and TagBool, Bits
// holds the 64 bits (a bool is 0 or 1).
type Scalar struct {
	Tag  uint8
	Raw  []byte
	Bits uint64
}

// Value reads one tagged value. A TagList value is reported with its tag and
// count in Bits; the caller reads its entries next.
func (d *Decoder) Value() Scalar {
	tag := d.U8()
	switch tag {
	case TagEmpty:
		return Scalar{}
	case TagStr, TagBytes, TagOther:
		return Scalar{Tag: tag, Raw: d.Raw()}
	case TagInt, TagDouble:
		return Scalar{Tag: tag, Bits: d.U64()}
	case TagBool:
		v := d.U8()
		if v > 1 {
			d.fail()
		}
		return Scalar{Tag: tag, Bits: uint64(v)}
	case TagList:
		return Scalar{Tag: tag, Bits: uint64(d.U32())}
	}
	d.fail()
	return Scalar{}
}

// EditLen is the length of the edit b starts with, as the host reads an
// edit list, or -1 when b does not start with a whole edit of a known
// operation. edit_where takes an operation only if this is its length.
func EditLen(b []byte) int {
	d := NewDecoder(b)
	op := d.U8()
	d.U8()
	d.U32()
	switch op {
	case OpSetAttr:
		d.Raw()
		d.Value()
	case OpDeleteAttr:
		d.Raw()
	case OpRenameAttr:
		d.Raw()
		d.Raw()
	case OpSetField:
		d.U8()
		d.Value()
	case OpDrop:
	default:
		return -1
	}
	if d.Err() != nil {
		return -1
	}
	return d.Offset()
}

// Skip reads past one value, including a list's entries.
func (d *Decoder) Skip() {
	v := d.Value()
	if v.Tag != TagList {
		return
	}
	for i := uint64(0); i < v.Bits && d.err == nil; i++ {
		d.Raw()
		d.Skip()
	}
}
