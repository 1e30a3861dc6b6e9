// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"encoding/binary"
	"math"
)

// Column layout. A column holds one value per item as a fixed-width entry,
// then a data region for the bytes of strings and lists:
//
//	entry i at 16*i:  tag u8, 7 zero bytes, payload u64
//	  TagInt, TagDouble, TagBool: payload is the value's 64 bits
//	  TagStr, TagBytes, TagOther: payload is offset u32, length u32 of the
//	                              bytes, the offset counted from the column start
//	  TagList:                    payload is offset u32, count u32 of the
//	                              list's entries, 24 bytes each:
//	                              key offset u32, key length u32, a 16-byte value entry
//	  TagEmpty:                   all zero
//
// Fixed-width entries let a guest read item i without decoding the items
// before it, and keep the guest's column a single pointer-free buffer,
// which costs a garbage-collected guest nothing to keep.
const (
	EntrySize     = 16
	ListEntrySize = 24
)

// ColumnWriter builds a column for n items. Write exactly one value per
// item, in order; after List(k), write k Key+value pairs before the next
// item's value.
type ColumnWriter struct {
	buf      []byte
	base     int // where the column starts in buf
	next     int // the next item's entry
	slot     int // where the next value goes: the next entry, or a list entry's value
	listNext int // the next list entry
	listLeft int
	limit    int // the most buf may hold; 0 for no limit
	over     bool
	budget   Budget
	grown    bool // buf is a buffer the writer took from budget
}

// Budget is what a column's buffers are taken from, besides its limit:
// the host's memory budget, which other columns share.
type Budget interface {
	// Take takes n bytes, or reports false if they are not free.
	Take(n int) bool
	// Give gives back n bytes taken.
	Give(n int)
}

// NewColumnWriter appends a column for n items to dst.
func NewColumnWriter(dst []byte, n int) ColumnWriter {
	base := len(dst)
	dst = append(dst, make([]byte, n*EntrySize)...)
	return ColumnWriter{buf: dst, base: base, next: base, slot: base}
}

// Bytes is dst with the column appended.
func (w *ColumnWriter) Bytes() []byte { return w.buf }

// SetLimit bounds the column at n bytes, its entries included. A write that
// would pass it is dropped, and every write after it: Over then reports
// true, and the column is not to be used. Room grows by doubling, so a
// column costs at most about twice its limit to build however its values
// arrive.
func (w *ColumnWriter) SetLimit(n int) { w.limit = w.base + n }

// SetBudget makes the column's growth take from b as well.
func (w *ColumnWriter) SetBudget(b Budget) { w.budget = b }

// Over reports whether a write passed the limit or the budget, or the
// column was abandoned.
func (w *ColumnWriter) Over() bool { return w.over }

// Abandon drops every write from now on: the column is not to be used,
// as when it passes its limit.
func (w *ColumnWriter) Abandon() { w.over = true }

// Room is how many more bytes fit within the limit.
func (w *ColumnWriter) Room() int {
	if w.limit == 0 {
		return math.MaxInt
	}
	return w.limit - len(w.buf)
}

// reserve makes room for n more bytes, or marks the column over its limit.
func (w *ColumnWriter) reserve(n int) bool {
	if w.over {
		return false
	}
	need := len(w.buf) + n
	if w.limit > 0 && need > w.limit {
		w.over = true
		return false
	}
	if need > cap(w.buf) {
		size := max(need, 2*cap(w.buf))
		if w.limit > 0 {
			size = min(size, w.limit)
		}
		// While it is copied, the old buffer lives as long as the new
		// one: the new one is taken whole, and the old one, if the writer
		// took it, given back after.
		if w.budget != nil && !w.budget.Take(size) {
			w.over = true
			return false
		}
		grown := make([]byte, len(w.buf), size)
		copy(grown, w.buf)
		if w.budget != nil && w.grown {
			w.budget.Give(cap(w.buf))
		}
		w.buf, w.grown = grown, true
	}
	return true
}

func (w *ColumnWriter) advance() {
	if w.listLeft > 0 {
		w.listLeft--
		w.listNext += ListEntrySize
		if w.listLeft > 0 {
			w.slot = -1 // a Key must come first
			return
		}
	}
	w.slot = w.next
}

func (w *ColumnWriter) take() int {
	at := w.slot
	if at == w.next {
		w.next += EntrySize
	}
	return at
}

func (w *ColumnWriter) scalar(tag uint8, bits uint64) {
	if w.over {
		return
	}
	at := w.take()
	w.buf[at] = tag
	binary.LittleEndian.PutUint64(w.buf[at+8:], bits)
	w.advance()
}

func (w *ColumnWriter) data(tag uint8, s string) {
	if !w.reserve(len(s)) {
		return
	}
	at := w.take()
	off := uint32(len(w.buf) - w.base)
	w.buf = append(w.buf, s...)
	w.buf[at] = tag
	binary.LittleEndian.PutUint32(w.buf[at+8:], off)
	binary.LittleEndian.PutUint32(w.buf[at+12:], uint32(len(s)))
	w.advance()
}

// Empty writes an absent value.
func (w *ColumnWriter) Empty() {
	if w.over {
		return
	}
	w.take()
	w.advance()
}

// Str writes a string.
func (w *ColumnWriter) Str(s string) { w.data(TagStr, s) }

// Bytes writes bytes.
func (w *ColumnWriter) BytesValue(b []byte) { w.data(TagBytes, string(b)) }

// Other writes the JSON text of a map or array value.
func (w *ColumnWriter) Other(json string) { w.data(TagOther, json) }

// OtherSized writes a map or array value whose JSON text, n bytes long,
// write appends to the column, with no copy in between.
func (w *ColumnWriter) OtherSized(n int, write func(dst []byte) []byte) {
	if !w.reserve(n) {
		return
	}
	at := w.take()
	off := len(w.buf)
	w.buf = write(w.buf)
	w.buf[at] = TagOther
	binary.LittleEndian.PutUint32(w.buf[at+8:], uint32(off-w.base))
	binary.LittleEndian.PutUint32(w.buf[at+12:], uint32(len(w.buf)-off))
	w.advance()
}

// Entry writes a value in the form Column.Entry and Column.Data read it
// back: a tag, with bits for Int, Double and Bool, or data for Str,
// Bytes and Other. Empty, or a tag it does not know, writes an absent
// value.
func (w *ColumnWriter) Entry(tag uint8, bits uint64, data string) {
	switch tag {
	case TagStr, TagBytes, TagOther:
		w.data(tag, data)
	case TagInt, TagDouble, TagBool:
		w.scalar(tag, bits)
	default:
		w.Empty()
	}
}

// Int writes an integer.
func (w *ColumnWriter) Int(v int64) { w.scalar(TagInt, uint64(v)) }

// Double writes a float.
func (w *ColumnWriter) Double(v float64) { w.scalar(TagDouble, math.Float64bits(v)) }

// Bool writes a boolean.
func (w *ColumnWriter) Bool(v bool) {
	var b uint64
	if v {
		b = 1
	}
	w.scalar(TagBool, b)
}

// List starts a list of count key-value pairs as the current item's value.
func (w *ColumnWriter) List(count int) {
	if !w.reserve(count * ListEntrySize) {
		return
	}
	at := w.take()
	off := len(w.buf) - w.base
	w.buf = append(w.buf, make([]byte, count*ListEntrySize)...)
	w.buf[at] = TagList
	binary.LittleEndian.PutUint32(w.buf[at+8:], uint32(off))
	binary.LittleEndian.PutUint32(w.buf[at+12:], uint32(count))
	if count == 0 {
		w.slot = w.next
		return
	}
	w.listNext, w.listLeft, w.slot = w.base+off, count, -1
}

// Key writes the key of the next list entry; its value comes next.
func (w *ColumnWriter) Key(k string) {
	if !w.reserve(len(k)) {
		return
	}
	at := w.listNext
	off := uint32(len(w.buf) - w.base)
	w.buf = append(w.buf, k...)
	binary.LittleEndian.PutUint32(w.buf[at:], off)
	binary.LittleEndian.PutUint32(w.buf[at+4:], uint32(len(k)))
	w.slot = at + 8
}

// Column reads a column. Out-of-range reads panic like slice indexing: the
// host is trusted to write columns with ColumnWriter.
type Column []byte

// Entry is item i's tag and payload.
func (c Column) Entry(i int) (tag uint8, bits uint64) {
	e := c[i*EntrySize : i*EntrySize+EntrySize]
	return e[0], binary.LittleEndian.Uint64(e[8:])
}

// Data is the byte run a TagStr, TagBytes or TagOther payload points at.
func (c Column) Data(bits uint64) []byte {
	off, n := uint32(bits), uint32(bits>>32)
	return c[off : off+n : off+n]
}

// ListEntry is entry j of the list a TagList payload points at.
func (c Column) ListEntry(bits uint64, j int) (key []byte, tag uint8, vbits uint64) {
	at := int(uint32(bits)) + j*ListEntrySize
	e := c[at : at+ListEntrySize]
	koff, kn := binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])
	return c[koff : koff+kn : koff+kn], e[8], binary.LittleEndian.Uint64(e[16:])
}

// ListLen is the entry count of a TagList payload.
func ListLen(bits uint64) int { return int(bits >> 32) }
