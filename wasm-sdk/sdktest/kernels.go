// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// The kernels (ABI.md, "Kernels"), with the host's limits and answers:
// whole-column tests and edits staged for every selected item.

func selectionBytes(n int32) int { return (int(n) + 7) / 8 }

func isSelected(sel []byte, i int) bool { return i/8 < len(sel) && sel[i/8]&(1<<(i%8)) != 0 }

func (h *callHost) Select(table, field int32, key string, match int32, list, out []byte) int32 {
	return h.test(table, field, key, match, list, out, false)
}

func (h *callHost) Refine(table, field int32, key string, match int32, list, sel []byte) int32 {
	return h.test(table, field, key, match, list, sel, true)
}

// test is Select, and with refine Refine: only the items set in out are
// tested, and those that fail are cleared.
func (h *callHost) test(table, field int32, key string, match int32, list, out []byte, refine bool) int32 {
	if h.t == nil {
		return abi.ErrState
	}
	if len(key) > abi.MaxKernelKey || len(list) > abi.MaxKernelList {
		return abi.ErrTooLarge
	}
	vals, rc := parseMatch(match, list)
	if rc < 0 {
		return rc
	}
	if field == abi.FieldAttrs {
		return abi.ErrArgument
	}
	n := h.t.length(table)
	if n < 0 {
		return n
	}
	if len(out) < selectionBytes(n) {
		return abi.ErrArgument
	}
	out = out[:selectionBytes(n)]
	if refine && field == abi.FieldAttr {
		return h.refineAttr(table, key, match, vals, n, out)
	}
	col, rc := h.t.column(table, field, key)
	if rc < 0 {
		return rc
	}
	c := abi.Column(col)
	if !refine {
		clear(out)
	}
	matches := int32(0)
	for i := 0; i < len(out)*8; i++ {
		if refine && !isSelected(out, i) {
			continue
		}
		ok := false
		if i < int(n) {
			ok = matchEntry(c, i, match, vals)
		}
		if ok {
			out[i/8] |= 1 << (i % 8)
			matches++
		} else {
			out[i/8] &^= 1 << (i % 8)
		}
	}
	return matches
}

// refineAttr is Refine on an attribute, which the host reads for the
// selected items only: it refuses only for a value of one of them that a
// column would refuse, and then leaves sel as it came.
func (h *callHost) refineAttr(table int32, key string, match int32, vals []abi.Scalar, n int32, sel []byte) int32 {
	if !hasField[table][abi.FieldAttr] {
		return abi.ErrArgument
	}
	saved := bytes.Clone(sel)
	matches := int32(0)
	for i := 0; i < len(sel)*8; i++ {
		if !isSelected(sel, i) {
			continue
		}
		ok := false
		if i < int(n) {
			w := newColWriter(nil, 1)
			h.t.tooDeep = false
			if j := attrIndex(*h.t.attrs(table, i), key); j >= 0 {
				h.t.write(w, (*h.t.attrs(table, i))[j].Value)
			} else {
				w.Empty()
			}
			if h.t.tooDeep {
				copy(sel, saved)
				return abi.ErrTooLarge
			}
			ok = matchEntry(abi.Column(w.Bytes()), 0, match, vals)
		}
		if ok {
			matches++
		} else {
			sel[i/8] &^= 1 << (i % 8)
		}
	}
	return matches
}

// matchEntry is matchValue on entry i of column c.
func matchEntry(c abi.Column, i int, match int32, vals []abi.Scalar) bool {
	tag, bits := c.Entry(i)
	var data []byte
	if tag == abi.TagStr || tag == abi.TagBytes || tag == abi.TagOther {
		data = c.Data(bits)
	}
	return matchValue(match, vals, tag, bits, data)
}

// parseMatch reads a select's list of values.
func parseMatch(match int32, list []byte) ([]abi.Scalar, int32) {
	switch match {
	case abi.MatchEqual, abi.MatchPrefix, abi.MatchPresent:
	default:
		return nil, abi.ErrArgument
	}
	d := abi.NewDecoder(list)
	count := d.U32()
	switch {
	case d.Err() != nil:
		return nil, abi.ErrEncoding
	case count > abi.MaxKernelArgs:
		return nil, abi.ErrTooLarge
	case match == abi.MatchPresent && count > 0:
		return nil, abi.ErrArgument
	}
	var vals []abi.Scalar
	for range count {
		v := d.Value()
		if d.Err() != nil {
			return nil, abi.ErrEncoding
		}
		switch {
		case v.Tag < abi.TagStr || v.Tag > abi.TagBytes:
			return nil, abi.ErrArgument
		case match == abi.MatchPrefix && v.Tag != abi.TagStr:
			return nil, abi.ErrArgument
		}
		vals = append(vals, v)
	}
	if !d.Done() {
		return nil, abi.ErrEncoding
	}
	return vals, 0
}

func matchValue(match int32, vals []abi.Scalar, tag uint8, bits uint64, data []byte) bool {
	if match == abi.MatchPresent {
		return tag != abi.TagEmpty
	}
	for _, v := range vals {
		switch {
		case match == abi.MatchPrefix:
			if tag == abi.TagStr && bytes.HasPrefix(data, v.Raw) {
				return true
			}
		case v.Tag != tag:
		case tag == abi.TagStr || tag == abi.TagBytes:
			if bytes.Equal(data, v.Raw) {
				return true
			}
		case v.Bits == bits:
			return true
		}
	}
	return false
}

func (h *callHost) EditWhere(op, sel []byte) int32 {
	if h.t == nil {
		return abi.ErrState
	}
	if len(op) > abi.MaxKernelList {
		return abi.ErrTooLarge
	}
	if abi.EditLen(op) != len(op) {
		return abi.ErrEncoding
	}
	n := h.t.length(int32(op[1]))
	if n < 0 {
		return n
	}
	var out []byte
	k := int32(0)
	for i := 0; i < int(n); i++ {
		if !isSelected(sel, i) {
			continue
		}
		if h.staged+len(out)+len(op) > maxEdits {
			return abi.ErrTooLarge
		}
		at := len(out)
		out = append(out, op...)
		binary.LittleEndian.PutUint32(out[at+2:], uint32(i))
		k++
	}
	h.staged += len(out)
	h.edits = append(h.edits, out)
	return k
}

func (h *callHost) CopyAttr(table int32, from, to string, sel []byte, flags uint32) int32 {
	if h.t == nil {
		return abi.ErrState
	}
	if len(from) > abi.MaxKernelKey || len(to) > abi.MaxKernelKey {
		return abi.ErrTooLarge
	}
	if flags&^abi.CopyToParent != 0 {
		return abi.ErrArgument
	}
	n := h.t.length(table)
	if n < 0 {
		return n
	}
	// The values and parents as the filter could read them itself.
	vals, rc := h.t.column(table, abi.FieldAttr, from)
	if rc < 0 {
		return rc // no attributes on this table
	}
	dst, parents := table, []byte(nil)
	if flags&abi.CopyToParent != 0 {
		dst = parentOf[table]
		if dst == 0 || !hasField[dst][abi.FieldAttr] {
			return abi.ErrArgument
		}
		parents, _ = h.t.column(table, abi.FieldParent, "")
	}
	var out []byte
	k := int32(0)
	for i := 0; i < int(n); i++ {
		if !isSelected(sel, i) {
			continue
		}
		tag, bits := abi.Column(vals).Entry(i)
		at := uint32(i)
		if parents != nil {
			_, p := abi.Column(parents).Entry(i)
			at = uint32(p)
		}
		head := abi.AppendStr(abi.AppendEditHeader(out, abi.OpSetAttr, uint8(dst), at), to)
		switch tag {
		case abi.TagStr:
			out = abi.AppendStrValue(head, string(abi.Column(vals).Data(bits)))
		case abi.TagBytes:
			out = abi.AppendBytesValue(head, abi.Column(vals).Data(bits))
		case abi.TagInt:
			out = abi.AppendIntValue(head, int64(bits))
		case abi.TagDouble:
			out = abi.AppendDoubleValue(head, math.Float64frombits(bits))
		case abi.TagBool:
			out = abi.AppendBoolValue(head, bits == 1)
		default:
			continue // absent, or a map or array: nothing to set
		}
		if h.staged+len(out) > maxEdits {
			return abi.ErrTooLarge
		}
		k++
	}
	h.staged += len(out)
	h.edits = append(h.edits, out)
	return k
}

// parentOf is the table of each table's Parent field.
var parentOf = map[int32]int32{
	abi.TableScope: abi.TableResource, abi.TableSpan: abi.TableScope, abi.TableEvent: abi.TableSpan,
	abi.TableLink: abi.TableSpan, abi.TableMetric: abi.TableScope, abi.TablePoint: abi.TableMetric,
	abi.TableLog: abi.TableScope,
}

// Group files the selected items by value as the host does: an attribute
// read per selected item, other fields from their column; Str, Int,
// Double, Bool and Bytes values grouped by tag and content, in order of
// first appearance, at most len(out)/len(sel) groups.
func (h *callHost) Group(table, field int32, key string, sel, out, dst []byte) ([]byte, int32) {
	if h.t == nil {
		return dst[:0], abi.ErrState
	}
	if len(key) > abi.MaxKernelKey {
		return dst[:0], abi.ErrTooLarge
	}
	if field == abi.FieldAttrs {
		return dst[:0], abi.ErrArgument
	}
	n := h.t.length(table)
	if n < 0 {
		return dst[:0], n
	}
	stride := len(sel)
	if stride == 0 || stride < selectionBytes(n) || len(out)/stride == 0 {
		return dst[:0], abi.ErrArgument
	}
	capacity := min(len(out)/stride, abi.MaxKernelArgs)
	// entry is item i's value as a one-entry column.
	var col abi.Column
	if field != abi.FieldAttr {
		c, rc := h.t.column(table, field, key)
		if rc < 0 {
			return dst[:0], rc
		}
		col = c
	} else if !hasField[table][abi.FieldAttr] {
		return dst[:0], abi.ErrArgument
	}
	entry := func(i int) abi.Column {
		if col != nil {
			w := newColWriter(nil, 1)
			tag, bits := col.Entry(i)
			switch tag {
			case abi.TagStr:
				w.Str(string(col.Data(bits)))
			case abi.TagBytes:
				w.BytesValue(col.Data(bits))
			default:
				return append(abi.Column(nil), col[i*abi.EntrySize:][:abi.EntrySize]...)
			}
			return abi.Column(w.Bytes())
		}
		w := newColWriter(nil, 1)
		if j := attrIndex(*h.t.attrs(table, i), key); j >= 0 {
			h.t.write(w, (*h.t.attrs(table, i))[j].Value)
		} else {
			w.Empty()
		}
		return abi.Column(w.Bytes())
	}
	type value struct {
		tag  uint8
		bits uint64
		data string
	}
	var vals []value
	group := make([]int, int(n)) // group+1 of each item, 0 for none
	for i := 0; i < int(n); i++ {
		if !isSelected(sel, i) {
			continue
		}
		c := entry(i)
		tag, bits := c.Entry(0)
		v := value{tag: tag}
		switch tag {
		case abi.TagStr, abi.TagBytes:
			v.data = string(c.Data(bits))
		case abi.TagInt, abi.TagDouble, abi.TagBool:
			v.bits = bits
		default:
			continue // no value to group by
		}
		k := slices.Index(vals, v)
		if k < 0 {
			if len(vals) == capacity {
				continue
			}
			vals = append(vals, v)
			k = len(vals) - 1
		}
		group[i] = k + 1
	}
	w := newColWriter(dst[:0], len(vals))
	for _, v := range vals {
		w.Entry(v.tag, v.bits, v.data)
	}
	clear(out[:len(vals)*stride])
	for i, k := range group {
		if k > 0 {
			out[(k-1)*stride+i/8] |= 1 << (i % 8)
			sel[i/8] &^= 1 << (i % 8)
		}
	}
	if n%8 != 0 {
		sel[n/8] &= 1<<(n%8) - 1
	}
	clear(sel[selectionBytes(n):]) // and the bytes past ceil(n/8)
	return w.Bytes(), int32(len(vals))
}
