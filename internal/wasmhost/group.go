// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// group sorts a selection's items by the value of one field, so that a
// filter decides once per distinct value (a span name, a service.name)
// and edits each value's items with one edit_where, instead of reading,
// hashing and comparing every item's value in the guest. knative-hops
// spent a third of its guest time doing that.

// groupKey is a value as group compares them: tag and content.
type groupKey struct {
	tag  uint8
	bits uint64 // Int, Double (its bits) and Bool
	s    string // Str and Bytes
}

// grouping is group's state: the whole grouping of the last call's
// selection, every distinct value in order of first appearance with its
// items, of which the calls so far delivered the first next groups. A
// guest that wants every group calls again with the selection the last
// call left it; the batch cannot change during the call, so the host
// delivers the next groups from here instead of reading every item left
// again, which made d distinct values cost d/32 passes over the items.
type grouping struct {
	ids   map[groupKey]int32
	vals  []groupKey
	items []int32 // the items grouped, in order
	gids  []int32 // and the group of each
	// byGroup is items sorted by group, group g's at
	// byGroup[start[g]:start[g+1]].
	byGroup, start []int32

	// What the last call was asked and left, for the next to continue.
	valid        bool
	table, field int32
	key          string
	next         int    // groups delivered so far
	left         []byte // the sel a continuation passes back, ceil(n/8) bytes

	// copied is the bytes of the values copied for keeping (read
	// through a kernel column, or Bytes), which count against the host
	// memory budget as the column they come from does, with the rest of
	// the grouping (see held).
	copied int
	// refused is set when a value to read would not fit the budget.
	refused bool
	// idsHeld is the most values ids has held since it was made: clear
	// keeps a map's tables.
	idsHeld int

	reads int // items read, for the tests to hold group to one pass
}

// groupSlotBytes is what a distinct value is taken to hold in ids (its
// 32-byte key, its id and the map's spare room), beside its 32 bytes in
// vals: the live heap of a grouping of a million values came to about
// 100 bytes an entry for the map alone.
const groupSlotBytes = 104

// maxKeptGrouping bounds, in elements, the grouping buffers a new
// grouping reuses: larger ones go to the collector rather than stay
// counted against the budget, or be cleared where the deadline cannot
// reach (a million distinct values cleared in one step).
const maxKeptGrouping = 1 << 14

// held is the host memory the grouping holds, which counts against the
// host memory budget: a million distinct start times once took 279 MiB
// in one group call, beside a budget of 64 MiB that counted only the
// copied strings (attack round 25).
func (g *grouping) held() int {
	return g.copied + 4*(cap(g.items)+cap(g.gids)+cap(g.byGroup)+cap(g.start)) +
		int(unsafe.Sizeof(groupKey{}))*cap(g.vals) + groupSlotBytes*g.idsHeld
}

// reset drops the batch's strings and what the last call left, and the
// buffers of a large grouping.
func (g *grouping) reset() {
	if g.idsHeld > maxKeptGrouping {
		g.ids, g.idsHeld = nil, 0
	}
	clear(g.ids)
	if cap(g.vals) > maxKeptGrouping {
		g.vals = nil // let go rather than cleared in one step
	}
	clear(g.vals) // the batch's strings
	g.vals = g.vals[:0]
	g.items, g.gids = keptUpTo(g.items, maxKeptGrouping), keptUpTo(g.gids, maxKeptGrouping)
	g.byGroup, g.start = keptUpTo(g.byGroup, maxKeptGrouping), keptUpTo(g.start, maxKeptGrouping)
	g.valid, g.key, g.copied, g.refused = false, "", 0, false
}

// keptUpTo is b emptied, or nil when it holds room for more than n.
func keptUpTo[T any](b []T, n int) []T {
	if cap(b) > n {
		return nil
	}
	return b[:0]
}

// trim lets the buffers of one huge batch go, as release does for the
// index.
func (g *grouping) trim(k *keeper) {
	if n := groupSlotBytes * g.idsHeld; cap(g.vals) > 1024 || n > k.left {
		// clear keeps a map's buckets; and the values, 32 bytes each,
		// go with it: 100,000 of them kept 3.7 MB in an idle instance.
		g.ids, g.vals, g.idsHeld = nil, nil, 0
	} else {
		k.left -= n // what the map keeps counts as the buffers do
	}
	g.reset()
	g.vals, g.items, g.gids = kept(k, g.vals), kept(k, g.items), kept(k, g.gids)
	g.byGroup, g.start, g.left = kept(k, g.byGroup), kept(k, g.start), kept(k, g.left)
}

// continues reports whether a call on sel continues the last one: the
// same field, and sel exactly what the last call left.
func (g *grouping) continues(table, field int32, key []byte, sel []byte, n int32) bool {
	return g.valid && g.table == table && g.field == field && g.key == string(key) &&
		bytes.Equal(sel[:selectionLen(n)], g.left)
}

// hostGroup: (table, field, key_ptr, key_len, sel_ptr, sel_len, out_ptr,
// out_len) -> groups. It reads the field of every item set in sel, as
// refine would, and files the items by value: out holds out_len/sel_len
// bitmaps of sel_len bytes each (at most MaxKernelArgs of them), and
// bitmap k gets the items of the k-th distinct value in item order. The
// items grouped are cleared from sel; those left are the ones with no
// value to group by (absent or Empty, a map or an array) and, when more
// values come than out holds bitmaps, those of the later values; bits
// past the table's last item are cleared. The
// result buffer holds the values, one column entry per group, for read.
// Nothing is written when the call fails. A call that continues the last
// (see grouping) answers from the grouping it kept.
func hostGroup(st *callState, g mem, stack []uint64) int32 {
	table, field := api.DecodeI32(stack[0]), api.DecodeI32(stack[1])
	if api.DecodeU32(stack[3]) > abi.MaxKernelKey {
		return abi.ErrTooLarge
	}
	key, ok1 := g.bytes(stack[2], stack[3])
	sel, ok2 := g.bytes(stack[4], stack[5])
	out, ok3 := g.bytes(stack[6], stack[7])
	if !ok1 || !ok2 || !ok3 {
		return abi.ErrBounds
	}
	if field == abi.FieldAttrs {
		return abi.ErrArgument // lists are not compared
	}
	n := st.t.count(table)
	if n < 0 {
		return n
	}
	stride := len(sel)
	if stride < int(selectionLen(n)) || stride == 0 {
		return abi.ErrArgument
	}
	capacity := min(len(out)/stride, abi.MaxKernelArgs)
	if capacity == 0 {
		return abi.ErrArgument
	}
	gr := &st.t.grp
	if !gr.continues(table, field, key, sel, n) {
		gr.reset()
		if rc := st.groupAll(table, field, string(key), sel, n); rc < 0 {
			gr.reset()
			st.settle()
			return rc
		}
		gr.table, gr.field, gr.key = table, field, string(key)
	}
	gr.valid = false // until this call has answered
	first, end := gr.next, min(gr.next+capacity, len(gr.vals))
	size := 0 // of the result column
	for _, v := range gr.vals[first:end] {
		size += abi.EntrySize + len(v.s)
	}
	if size > st.limits.maxResult || !st.fits(size-cap(st.result)) {
		gr.reset()
		st.settle()
		return abi.ErrTooLarge
	}
	// Sized before it is written, and reckoned: grown by doubling as it
	// was written, 120 MiB of values allocated 241 MiB, past what the
	// budget was asked for, and took 41-319 ms under a 5 ms timeout
	// (attack round 26).
	if cap(st.result) < size {
		st.t.reckonBytes(size)
		st.result = make([]byte, 0, size)
	}
	w := abi.NewColumnWriter(st.result[:0], end-first)
	for _, v := range gr.vals[first:end] {
		w.Entry(v.tag, v.bits, v.s)
	}
	st.result = w.Bytes()
	if rc := st.setResult(); rc < 0 {
		gr.reset()
		st.settle()
		return rc
	}
	// What a continuation must pass back: sel as it came less the items
	// delivered, and no bit past n. It is worked out here, before any
	// write, rather than read back from sel after: a guest may pass sel
	// and out overlapping, and what the host's writes to out then make of
	// sel is not the items of the groups still to come.
	ln := selectionLen(n)
	gr.left = append(gr.left[:0], sel[:ln]...)
	if n%8 != 0 {
		gr.left[n/8] &= 1<<(n%8) - 1
	}
	for _, i := range gr.byGroup[gr.start[first]:gr.start[end]] {
		gr.left[i/8] &^= 1 << (i % 8)
	}
	// Written only now that nothing can fail. A guest may pass sel and
	// out overlapping: the writes stay in bounds, the answer is its own.
	// The bitmaps lie end to end: cleared as one, so that the deadline is
	// checked across them, not only within one (256 of 1 MiB each took
	// 503 ms under a 20 ms timeout).
	clearChecked(st.guard, out[:(end-first)*stride])
	for k := range end - first {
		for _, i := range gr.byGroup[gr.start[first+k]:gr.start[first+k+1]] {
			out[k*stride+int(i)/8] |= 1 << (i % 8)
			sel[i/8] &^= 1 << (i % 8)
		}
	}
	// Bits past the table, ignored, are cleared as refine does, and so
	// are the bytes of sel past ceil(n/8): sel_len may be longer.
	if n%8 != 0 {
		sel[n/8] &= 1<<(n%8) - 1
	}
	clearChecked(st.guard, sel[ln:])
	gr.next = end
	gr.valid = true
	return int32(end - first)
}

// clearChecked clears b a MiB at a time, checking the deadline between:
// sel_len, which is also out's stride, is the guest's to choose, up to
// its whole memory, and clearing 4 GiB in memory never touched took 6.9 s
// under a 50 ms timeout. A guest stopped here is discarded with what it
// was given half written.
func clearChecked(g *guard, b []byte) {
	for len(b) > 1<<20 {
		clear(b[:1<<20])
		b = b[1<<20:]
		if g != nil {
			g.check()
		}
	}
	clear(b)
}

// copyChecked copies src into dst copyStep bytes at a time, checking the
// deadline between, as clearChecked clears: the guest chooses where read
// writes, and pages it has just grown cost the host a fault each to write
// (a 16 MiB result read into fresh pages again and again took 30-63 ms a
// batch under a 10 ms timeout, attack round 26).
func copyChecked(g *guard, dst, src []byte) {
	for len(dst) > copyStep && len(src) > copyStep {
		copy(dst[:copyStep], src)
		dst, src = dst[copyStep:], src[copyStep:]
		if g != nil {
			g.check()
		}
	}
	copy(dst, src)
}

// copyStep: 64 pages, at most about a millisecond of faults.
const copyStep = 256 << 10

// groupAll reads the field of every item set in sel and files them all,
// however many distinct values they hold, into st.t.grp.
func (st *callState) groupAll(table, field int32, key string, sel []byte, n int32) int32 {
	value, fromColumn, rc := st.groupValue(table, field, key)
	if rc < 0 {
		return rc
	}
	gr := &st.t.grp
	if gr.ids == nil {
		gr.ids = make(map[groupKey]int32)
	}
	// What the grouping grows to hold is settled against the budget every
	// 1,024 items, past which it has grown at most once. It is not sized
	// for the selection up front: fresh memory costs a page fault a page
	// on some machines, and a call stopped early would have paid for all.
	read := 0
	// A batch holds few distinct values many times over: a value is
	// looked for first among the recent ones, in a slot picked by its
	// length and end bytes, and compared there, which costs less than
	// hashing it (hashing was half of grouping a batch's names). A value
	// not there goes through the map and takes the slot.
	var recent [16]int32 // a value's id + 1; 0 for none
	for i := range selectedItems(sel, n) {
		st.t.checkDeadline(read)
		if read&1023 == 1023 && !st.settle() {
			return abi.ErrTooLarge
		}
		read++
		gr.reads++
		v, ok := value(i)
		if !ok {
			if gr.refused {
				return abi.ErrTooLarge
			}
			continue
		}
		// Compared and hashed whole: 256 values of 480 KiB each took
		// 13-16 ms a call under a 5 ms timeout (attack round 26).
		st.t.step(len(v.s) / 16)
		slot := recentSlot(v)
		if len(gr.items) == cap(gr.items) {
			// Grown by append, in copies no check splits: 4 million
			// items are 27 MB copied at the last growth (attack round
			// 27a).
			st.t.reckonGrowth(len(gr.items), 8)
		}
		if r := recent[slot]; r > 0 && gr.vals[r-1] == v {
			gr.items = append(gr.items, i)
			gr.gids = append(gr.gids, r-1)
			continue
		}
		id, found := gr.ids[v]
		if !found {
			if fromColumn {
				// Kept past this call, where a kernel column it
				// aliases may be rebuilt; pdata's strings stay as
				// they are for the batch, and a Bytes value is a
				// copy already (pdataKey). A large one is weighed
				// and reckoned before it is copied, as a Bytes value
				// is: copied first and settled after, a 4 MiB status
				// message went 1 MiB past a 10 MiB budget before it
				// was refused. The small ones are settled every 1,024
				// items, at most a MiB apart.
				if len(v.s) >= weighCopyBytes {
					if !st.settle() || !st.fits(len(v.s)) {
						return abi.ErrTooLarge
					}
					st.t.reckonBytes(len(v.s))
				}
				v.s = strings.Clone(v.s)
			}
			if fromColumn || v.tag == abi.TagBytes {
				gr.copied += len(v.s)
			}
			if len(gr.vals) == cap(gr.vals) {
				st.t.reckonGrowth(len(gr.vals), int(unsafe.Sizeof(groupKey{})))
			}
			id = int32(len(gr.vals))
			gr.ids[v] = id
			gr.idsHeld = max(gr.idsHeld, len(gr.ids))
			gr.vals = append(gr.vals, v)
		}
		recent[slot] = id + 1
		gr.items = append(gr.items, i)
		gr.gids = append(gr.gids, id)
	}
	// A counting sort by group, stable, so each group's items stay in
	// item order; its buffers are settled before they are allocated, and
	// its passes check the deadline as the reading did.
	if !st.fits(4 * (len(gr.vals) + 1 - cap(gr.start) + len(gr.items) - cap(gr.byGroup))) {
		return abi.ErrTooLarge
	}
	gr.start = slices.Grow(gr.start[:0], len(gr.vals)+1)[:len(gr.vals)+1]
	clear(gr.start)
	gr.byGroup = slices.Grow(gr.byGroup[:0], len(gr.items))[:len(gr.items)]
	if !st.settle() {
		return abi.ErrTooLarge
	}
	for j, id := range gr.gids {
		gr.start[id+1]++
		st.t.checkDeadline(j)
	}
	for k := range gr.vals {
		gr.start[k+1] += gr.start[k]
		st.t.checkDeadline(k)
	}
	for j, i := range gr.items { // start[id] moves on to group id+1's start
		id := gr.gids[j]
		gr.byGroup[gr.start[id]] = i
		gr.start[id]++
		st.t.checkDeadline(j)
	}
	copy(gr.start[1:], gr.start[:len(gr.vals)]) // and back
	gr.start[0] = 0
	gr.next = 0
	// The copies outlive the column they were read from, which a later
	// select may drop: they count against the budget until the grouping
	// goes.
	if !st.settle() {
		return abi.ErrTooLarge
	}
	return 0
}

// weighCopyBytes is the size from which group weighs a value it copies
// out of a kernel column before copying it.
const weighCopyBytes = 1 << 10

// recentSlot picks v's slot among groupAll's recent values.
func recentSlot(v groupKey) int {
	h := uint(len(v.s))*7 + uint(v.tag)*3 + uint(v.bits)
	if n := len(v.s); n > 0 {
		h += uint(v.s[0])*31 + uint(v.s[n-1])*17
	}
	return int(h % 16)
}

// groupValue returns what group reads of item i: the field as refine
// reads it, or false for an item with no value to group by.
func (st *callState) groupValue(table, field int32, key string) (value func(i int32) (groupKey, bool), fromColumn bool, rc int32) {
	// The call's tables, not a copy of them: a name view built on a copy
	// was lost, and built again by every group of names before a select
	// of names had built it for the call.
	t := &st.t
	switch {
	case field == abi.FieldName && (table == abi.TableSpan || table == abi.TableEvent):
		v := t.nameView(table)
		return func(i int32) (groupKey, bool) { return groupKey{tag: abi.TagStr, s: v.names[i]}, true }, false, 0
	case field == abi.FieldAttr && hasAttrs(table):
		return func(i int32) (groupKey, bool) {
			v, ok := t.attr(table, i, key)
			if !ok {
				return groupKey{}, false
			}
			if v.Type() == pcommon.ValueTypeBytes {
				// pdata gives a Bytes value only as a copy, made for
				// every item, a value seen before too: it must fit the
				// budget and the time left before it is made (one span
				// of 128 MiB took 715 ms a call cold under a 5 ms
				// timeout, 384 MiB allocated; attack round 26).
				// Settled first: the copies kept since the last
				// settle count too (12 values of 8 MiB made 96 MiB
				// in one call past a 16 MiB budget before it).
				n := v.Bytes().Len()
				if !st.settle() || !st.fits(n) {
					t.grp.refused = true
					return groupKey{}, false
				}
				t.reckonBytes(n)
			}
			return pdataKey(v)
		}, false, 0
	case field == abi.FieldKind && table == abi.TableSpan:
		kinds := t.nameView(abi.TableSpan).kinds
		return func(i int32) (groupKey, bool) { return groupKey{tag: abi.TagInt, bits: uint64(kinds[i])}, true }, false, 0
	case field == abi.FieldResource && table == abi.TableSpan:
		return func(i int32) (groupKey, bool) { return groupKey{tag: abi.TagInt, bits: uint64(t.spans[i].res)}, true }, false, 0
	}
	col, rc := testedColumn(st, selectReq{table: table, field: field, key: []byte(key)})
	if rc < 0 {
		return nil, false, rc
	}
	return func(i int32) (groupKey, bool) {
		tag, bits := col.Entry(int(i))
		switch tag {
		case abi.TagStr, abi.TagBytes:
			// A view of the column, which lives through the call; group
			// copies the values it keeps.
			b := col.Data(bits)
			return groupKey{tag: tag, s: unsafe.String(unsafe.SliceData(b), len(b))}, true
		case abi.TagInt, abi.TagDouble, abi.TagBool:
			return groupKey{tag: tag, bits: bits}, true
		}
		return groupKey{}, false // Empty, or Other: a map or an array
	}, true, 0
}

// pdataKey is an attribute value as group compares it.
func pdataKey(v pcommon.Value) (groupKey, bool) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return groupKey{tag: abi.TagStr, s: v.Str()}, true
	case pcommon.ValueTypeInt:
		return groupKey{tag: abi.TagInt, bits: uint64(v.Int())}, true
	case pcommon.ValueTypeDouble:
		return groupKey{tag: abi.TagDouble, bits: math.Float64bits(v.Double())}, true
	case pcommon.ValueTypeBool:
		k := groupKey{tag: abi.TagBool}
		if v.Bool() {
			k.bits = 1
		}
		return k, true
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw() // a copy of its own: kept as it is
		return groupKey{tag: abi.TagBytes, s: unsafe.String(unsafe.SliceData(raw), len(raw))}, true
	}
	return groupKey{}, false
}
