// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// batch is the guest side of one call: it fetches columns from the host on
// first use (one host call per field a filter touches, whatever the number
// of items), caches them for the call, and collects edits to send once at
// the end.
//
// A module's batch lives as long as the instance, and so do its column
// buffers: each batch reads its columns into the buffers of the one before,
// so that a steady stream of batches allocates nothing and never wakes the
// guest's garbage collector. Strings read from columns are therefore valid
// only until the filter returns.
type batch struct {
	h      hostcall.Host
	signal int32
	lens   [abi.TableLog + 1]int32
	fixed  [abi.TableLog + 1][abi.FieldResource + 1]*column
	byKey  []*column // FieldAttr columns, one per key asked for
	// lastAttr is the FieldAttr column Attr read last: a filter reading
	// one key of every item finds it without a search.
	lastAttr *column
	kids     [abi.TableLog + 1]*children
	edits    []byte
	otlp     bool  // the filter replaced the whole batch
	err      error // first failure, reported when the filter returns
	// cols holds every column struct and buffer used so far; the first
	// used of them serve the current batch.
	cols     []*column
	used     int
	kidStore [abi.TableLog + 1]children
	// sels holds the words of every Selection so far, the first selUsed
	// of them this batch's; scratch is for kernel arguments.
	sels    [][]uint64
	selUsed int
	scratch []byte
}

// maxKeptColumn bounds the buffer a column keeps for the next batch, so
// that one huge batch does not pin its memory for good.
const maxKeptColumn = 4 << 20

// column is one field of every item of a table, exactly as the host sent
// it: a single pointer-free buffer read in place (see abi.Column).
type column struct {
	table, field int32
	key          string
	n            int
	data         abi.Column
	buf          []byte // data's memory, kept for the next batch
}

// value is item i's Value, Empty out of range: one call, toValue inlined,
// since filters read attributes per item and in a Go guest a call costs
// more than the read.
func (c *column) value(i int32) Value {
	if uint(i) >= uint(c.n) {
		return Value{}
	}
	e := c.data[int(i)*abi.EntrySize:][:abi.EntrySize]
	return c.toValue(e[0], binary.LittleEndian.Uint64(e[8:]))
}

func (c *column) toValue(tag uint8, bits uint64) Value {
	switch tag {
	case abi.TagStr, abi.TagBytes, abi.TagOther:
		return Value{kind: Kind(tag), s: hostcall.String(c.data.Data(bits))}
	case abi.TagInt, abi.TagDouble, abi.TagBool:
		return Value{kind: Kind(tag), n: bits}
	}
	return Value{}
}

// children groups the items of a child table (events, links, points) by
// their parent, which the host lists in order.
type children struct{ offs []int32 }

func (b *batch) reset(h hostcall.Host, signal int32) {
	b.h, b.signal, b.err, b.otlp = h, signal, nil, false
	for i := range b.lens {
		b.lens[i] = -1
	}
	b.fixed = [abi.TableLog + 1][abi.FieldResource + 1]*column{}
	b.kids = [abi.TableLog + 1]*children{}
	clear(b.byKey)
	b.byKey, b.lastAttr = b.byKey[:0], nil
	b.edits = b.edits[:0]
	for _, c := range b.cols[:b.used] {
		buf := c.buf
		if cap(buf) > maxKeptColumn {
			buf = nil
		}
		*c = column{buf: buf}
	}
	b.used = 0
	b.selUsed = 0
}

// flush sends the edits staged so far, so that a kernel's edits come after
// them, as the filter staged them.
func (b *batch) flush() {
	if len(b.edits) == 0 {
		return
	}
	if rc := b.h.Edit(b.edits); rc < 0 {
		b.hostErr("edit", rc)
	}
	b.edits = b.edits[:0]
}

// newColumn is a column struct for this batch, with the buffer an earlier
// batch left.
func (b *batch) newColumn(table, field int32, key string) *column {
	if b.used == len(b.cols) {
		b.cols = append(b.cols, new(column))
	}
	c := b.cols[b.used]
	b.used++
	c.table, c.field, c.key = table, field, key
	return c
}

func (b *batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *batch) hostErr(what string, code int32) {
	b.fail(fmt.Errorf("wasmcol: %s: %s", what, abi.ErrorText(code)))
}

func (b *batch) length(table int32) int {
	if n := b.lens[table]; n >= 0 {
		return int(n)
	}
	n := b.h.Len(table)
	if n < 0 {
		b.hostErr(fmt.Sprintf("table %d", table), n)
		n = 0
	}
	b.lens[table] = n
	return int(n)
}

// fixedCol returns a field's column; after the first use that is one
// array load, which inlines.
func (b *batch) fixedCol(table, field int32) *column {
	if c := b.fixed[table][field]; c != nil {
		return c
	}
	return b.col(table, field, "")
}

// col returns the column, fetching it on first use.
func (b *batch) col(table, field int32, key string) *column {
	if field == abi.FieldAttr {
		// Filters pass the same key constant every time: compare string
		// identity first, which in a Wasm guest is far cheaper than bytes.
		for _, c := range b.byKey {
			if c.table == table && hostcall.Same(c.key, key) {
				return c
			}
		}
		for _, c := range b.byKey {
			if c.table == table && c.key == key {
				return c
			}
		}
	} else if c := b.fixed[table][field]; c != nil {
		return c
	}
	c := b.fetch(table, field, key)
	if field == abi.FieldAttr {
		b.byKey = append(b.byKey, c)
	} else {
		b.fixed[table][field] = c
	}
	return c
}

func (b *batch) fetch(table, field int32, key string) *column {
	n := b.length(table)
	c := b.newColumn(table, field, key)
	raw, code := b.h.Column(table, field, key, c.buf[:0])
	if cap(raw) > 0 {
		c.buf = raw[:0]
	}
	if code < 0 {
		b.hostErr(fmt.Sprintf("column %d of table %d", field, table), code)
		return c
	}
	if len(raw) < n*abi.EntrySize {
		b.fail(fmt.Errorf("wasmcol: column %d of table %d: %w", field, table, abi.ErrMalformed))
		return c
	}
	c.n, c.data = n, abi.Column(raw)
	return c
}

func (b *batch) value(table int32, i int32, field int32, key string) Value {
	return b.col(table, field, key).value(i)
}

// attrs iterates over item i's attributes in the order the host keeps them.
func (b *batch) attrs(table, i int32) iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		c := b.col(table, abi.FieldAttrs, "")
		if i < 0 || int(i) >= c.n {
			return
		}
		tag, bits := c.data.Entry(int(i))
		if tag != abi.TagList {
			return
		}
		for j := 0; j < abi.ListLen(bits); j++ {
			k, vt, vb := c.data.ListEntry(bits, j)
			if !yield(hostcall.String(k), c.toValue(vt, vb)) {
				return
			}
		}
	}
}

// childRange is the run of child-table items whose parent is item i.
func (b *batch) childRange(child int32, i int32) (int32, int32) {
	k := b.kids[child]
	if k == nil {
		parentTable := parentOf[child]
		n := b.length(parentTable)
		k = &b.kidStore[child]
		k.offs = append(k.offs[:0], make([]int32, n+1)...)
		pc := b.col(child, abi.FieldParent, "")
		for j := 0; j < pc.n; j++ {
			if pi := pc.value(int32(j)).Int(); pi >= 0 && pi < int64(n) {
				k.offs[pi+1]++
			}
		}
		for j := 1; j <= n; j++ {
			k.offs[j] += k.offs[j-1]
		}
		b.kids[child] = k
	}
	if int(i)+1 < len(k.offs) {
		return k.offs[i], k.offs[i+1]
	}
	return 0, 0
}

var parentOf = [abi.TableLog + 1]int32{
	abi.TableScope: abi.TableResource, abi.TableSpan: abi.TableScope,
	abi.TableEvent: abi.TableSpan, abi.TableLink: abi.TableSpan,
	abi.TableMetric: abi.TableScope, abi.TablePoint: abi.TableMetric,
	abi.TableLog: abi.TableScope,
}

func (b *batch) edit(op uint8, table int32, i int32) {
	b.edits = abi.AppendEditHeader(b.edits, op, uint8(table), uint32(i))
}

// finish sends the staged edits. The host applies them only if the call
// then returns success, so a failing filter leaves the batch untouched.
func (b *batch) finish() error {
	if b.err != nil {
		return b.err
	}
	if len(b.edits) > 0 {
		if b.otlp {
			return errors.New("wasmcol: a filter that replaces the batch with SetOTLP cannot also edit items")
		}
		if rc := b.h.Edit(b.edits); rc < 0 {
			return fmt.Errorf("wasmcol: edit: %s", abi.ErrorText(rc))
		}
	}
	return nil
}

// item is what every batch element shares: its table, index and attributes.
type item struct {
	b     *batch
	table int32
	i     int32
}

// Index is the item's position in its table, from 0.
func (it item) Index() int { return int(it.i) }

// Attr is the attribute named key, or the empty Value when absent.
func (it item) Attr(key string) Value {
	c := it.b.lastAttr
	if c == nil || c.table != it.table || !hostcall.Same(c.key, key) {
		c = it.b.col(it.table, abi.FieldAttr, key)
		it.b.lastAttr = c
	}
	return c.value(it.i)
}

// Attrs iterates over every attribute:
//
//	for key, v := range span.Attrs() { ... }
func (it item) Attrs() iter.Seq2[string, Value] { return it.b.attrs(it.table, it.i) }

// SetAttr sets (or adds) the attribute key to v when the filter returns.
// v must be a string, int, double, bool or bytes: setting an empty Value or
// a KindOther (map or array) makes the whole call fail, edits unapplied.
func (it item) SetAttr(key string, v Value) {
	if v.kind == KindStr { // what filters set most, in one write
		it.b.edits = appendSetStr(it.b.edits, uint8(it.table), uint32(it.i), key, v.s)
		return
	}
	it.b.edit(abi.OpSetAttr, it.table, it.i)
	it.b.edits = appendValue(abi.AppendStr(it.b.edits, key), v)
}

// appendSetStr appends SetAttr(key, Str(val)) on item i of table, as the
// appends above would, but grown once and written in place: in a Wasm
// guest each append is a call that passes the slice through memory, and
// staging edits was the largest part of knative-hops' guest code.
func appendSetStr(b []byte, table uint8, i uint32, key, val string) []byte {
	n, size := len(b), 6+4+len(key)+1+4+len(val)
	b = slices.Grow(b, size)[:n+size]
	e := b[n:]
	e[0], e[1] = abi.OpSetAttr, table
	binary.LittleEndian.PutUint32(e[2:6], i)
	binary.LittleEndian.PutUint32(e[6:10], uint32(len(key)))
	e = e[10+copy(e[10:], key):]
	e[0] = abi.TagStr
	binary.LittleEndian.PutUint32(e[1:5], uint32(len(val)))
	copy(e[5:], val)
	return b
}

// DeleteAttr removes the attribute key, if present, when the filter returns.
func (it item) DeleteAttr(key string) {
	it.b.edit(abi.OpDeleteAttr, it.table, it.i)
	it.b.edits = abi.AppendStr(it.b.edits, key)
}

// RenameAttr moves the attribute from old to new, replacing any value at
// new, when the filter returns. Nothing happens when old is absent.
func (it item) RenameAttr(old, new string) {
	it.b.edit(abi.OpRenameAttr, it.table, it.i)
	it.b.edits = abi.AppendStr(abi.AppendStr(it.b.edits, old), new)
}

func (it item) drop()         { it.b.edit(abi.OpDrop, it.table, it.i) }
func (it item) parent() int32 { return int32(it.num(abi.FieldParent)) }
func (it item) resource() Resource {
	return Resource{item{it.b, abi.TableResource, int32(it.num(abi.FieldResource))}}
}
func (it item) scope(b *batch) Scope { return Scope{item{b, abi.TableScope, it.parent()}} }

func (it item) set(field int32, v Value) {
	it.b.edit(abi.OpSetField, it.table, it.i)
	it.b.edits = appendValue(append(it.b.edits, uint8(field)), v)
}

// Item is what every element of a batch with attributes shares: spans,
// events, links, data points, log records, resources and scopes. It lets a
// helper work on any of them.
type Item interface {
	Index() int
	Attr(key string) Value
	Attrs() iter.Seq2[string, Value]
	SetAttr(key string, v Value)
	DeleteAttr(key string)
	RenameAttr(old, new string)
}

// str reads a Str, Bytes or Other field as a string sharing the column, and
// num an Int field. Each is one call with everything inside it inlined: in
// a Go guest a call costs more than the read, and these run per item.
func (it item) str(field int32) string {
	c := it.b.fixedCol(it.table, field)
	if uint(it.i) >= uint(c.n) {
		return ""
	}
	e := c.data[int(it.i)*abi.EntrySize:][:abi.EntrySize]
	switch e[0] {
	case abi.TagStr, abi.TagBytes, abi.TagOther:
	default:
		return ""
	}
	off, n := binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint32(e[12:])
	return hostcall.String(c.data[off : off+n])
}

func (it item) num(field int32) int64 {
	c := it.b.fixedCol(it.table, field)
	if uint(it.i) >= uint(c.n) {
		return 0
	}
	e := c.data[int(it.i)*abi.EntrySize:][:abi.EntrySize]
	if e[0] != abi.TagInt {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(e[8:]))
}

// raw is a Bytes field (an ID) as a string sharing the column.
func (it item) raw(field int32) string { return it.str(field) }

// Resource is the resource that spans, metrics or logs come from.
type Resource struct{ item }

// Scope is the instrumentation scope of spans, metrics or logs.
type Scope struct{ item }

// Name is the scope's name.
func (s Scope) Name() string { return s.str(abi.FieldName) }

// Version is the scope's version.
func (s Scope) Version() string { return s.str(abi.FieldVersion) }

// Resource is the resource the scope belongs to.
func (s Scope) Resource() Resource { return s.resource() }
