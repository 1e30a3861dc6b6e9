// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"encoding/binary"
	"iter"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Kernels are whole-column operations the guest asks for in one call, so
// that per-item work runs here, natively, instead of in the guest (see
// ABI.md, "Kernels"). Every one bounds what a hostile guest can make it
// do: keys, lists and operations are capped (ErrTooLarge), its time is
// linear in the table, and what it stages counts against the edit limit.

// selectionLen is the bytes of a selection bitmap for n items.
func selectionLen(n int32) uint32 { return (uint32(n) + 7) / 8 }

// selectedItems yields the items under n that sel selects, in order,
// skipping a byte of unselected items at a time.
func selectedItems(sel []byte, n int32) iter.Seq[int32] {
	return func(yield func(int32) bool) {
		for b, w := range sel[:min(len(sel), int(selectionLen(n)))] {
			for ; w != 0; w &= w - 1 {
				i := int32(b*8 + bits.TrailingZeros8(w))
				if i >= n || !yield(i) {
					return
				}
			}
		}
	}
}

// hostSelect: (table, field, key_ptr, key_len, match, args_ptr, args_len,
// out_ptr, out_len) -> matches. It builds the field's column as `column`
// would, tests every item, and writes the bitmap into out.
func hostSelect(st *callState, g mem, stack []uint64) int32 {
	r, rc := readSelect(st, g, stack)
	if rc < 0 {
		return rc
	}
	if matches, ok := st.t.recall(r.table, r.field, r.match, r.key, r.list, r.out); ok {
		return matches
	}
	clear(r.out)
	matches, ok := int32(0), false
	if st.t.cached(r.table, r.field, string(r.key)) == nil {
		matches, ok = st.t.selectFast(r.table, r.field, string(r.key), &r.args, r.out)
	}
	if !ok {
		clear(r.out) // a fast path may have stopped part way
		col, rc := testedColumn(st, r)
		if rc < 0 {
			return rc
		}
		matches = st.t.testColumn(col, r.n, &r.args, r.out)
	}
	st.t.remember(r.table, r.field, r.match, r.key, r.list, r.out, matches)
	return matches
}

// hostRefine: (table, field, key_ptr, key_len, match, args_ptr, args_len,
// sel_ptr, sel_len) -> matches. select's test, on the items set in sel
// only: those that fail it are cleared, so that narrowing a small
// selection costs its size, not the table's.
func hostRefine(st *callState, g mem, stack []uint64) int32 {
	r, rc := readSelect(st, g, stack)
	if rc < 0 {
		return rc
	}
	if test := st.t.itemTest(r.table, r.field, string(r.key), &r.args); test != nil {
		refusable := r.field == abi.FieldAttr
		if refusable {
			st.t.selSaved = append(st.t.selSaved[:0], r.out...)
		}
		matches, ok := st.t.refine(r.n, r.out, test)
		if !ok {
			copy(r.out, st.t.selSaved) // refused: the selection as it came
			return abi.ErrTooLarge
		}
		return matches
	}
	col, rc := testedColumn(st, r)
	if rc < 0 {
		return rc
	}
	matches, _ := st.t.refine(r.n, r.out, func(i int) (bool, bool) { return r.args.test(col, i), false })
	return matches
}

// selectReq is a select's or refine's arguments, checked, its key and
// list copied out of guest memory, out the guest's selection.
type selectReq struct {
	table, field, match int32
	key, list           []byte
	args                matcher
	n                   int32
	out                 []byte
}

func readSelect(st *callState, g mem, stack []uint64) (selectReq, int32) {
	r := selectReq{table: api.DecodeI32(stack[0]), field: api.DecodeI32(stack[1]), match: api.DecodeI32(stack[4])}
	if api.DecodeU32(stack[3]) > abi.MaxKernelKey || api.DecodeU32(stack[6]) > abi.MaxKernelList {
		return r, abi.ErrTooLarge
	}
	key, ok1 := g.bytes(stack[2], stack[3])
	list, ok2 := g.bytes(stack[5], stack[6])
	if !ok1 || !ok2 {
		return r, abi.ErrBounds
	}
	// The request is copied out of guest memory before anything is
	// written to out, which may overlap it: the values tested, and the
	// request the memo files the answer under, are what the guest asked.
	st.t.selKey = append(st.t.selKey[:0], key...)
	st.t.selList = append(st.t.selList[:0], list...)
	r.key, r.list = st.t.selKey, st.t.selList
	if rc := st.t.match.decode(r.match, r.list); rc < 0 {
		return r, rc
	}
	r.args = st.t.match
	if r.field == abi.FieldAttrs {
		return r, abi.ErrArgument // lists are not matched
	}
	if r.n = st.t.count(r.table); r.n < 0 {
		return r, r.n
	}
	if api.DecodeU32(stack[8]) < selectionLen(r.n) {
		return r, abi.ErrArgument
	}
	if r.out, ok1 = g.bytes(stack[7], uint64(selectionLen(r.n))); !ok1 {
		return r, abi.ErrBounds
	}
	return r, 0
}

// testedColumn is the column a select or refine tests when no faster path
// reads the field in place. Kernel columns count against the host memory
// budget as results do: sixteen of them on a large batch are many times
// one column.
func testedColumn(st *callState, r selectReq) (abi.Column, int32) {
	col, rc := st.t.kernelColumn(r.table, r.field, r.key)
	if rc < 0 {
		return nil, rc
	}
	if st.t.kernelBytes() > st.limits.maxResult || !st.settle() {
		st.t.dropKernelColumns()
		st.settle()
		return nil, abi.ErrTooLarge
	}
	return abi.Column(col), 0
}

// refine clears the items set in sel, of the first n, that fail test, and
// counts those left; it stops, reporting false, at an item whose value
// test refuses.
func (t *tables) refine(n int32, sel []byte, test itemTest) (int32, bool) {
	matches, tested := int32(0), 0
	for b, byt := range sel {
		for byt != 0 {
			bit := bits.TrailingZeros8(byt)
			byt &^= 1 << bit
			i := b*8 + bit
			if i >= int(n) {
				sel[b] &^= byte(0xff) << bit // ignored bits: cleared
				break
			}
			match, refused := test(i)
			switch {
			case refused:
				return 0, false
			case match:
				matches++
			default:
				sel[b] &^= 1 << bit
			}
			t.checkDeadline(tested)
			tested++
		}
	}
	return matches, true
}

// testColumn marks in out the first n items of column c that m matches.
// Tests of Str values, what filters ask most, compare the column's bytes
// in one loop; the rest go through test.
func (t *tables) testColumn(c abi.Column, n int32, m *matcher, out []byte) (matches int32) {
	strOnly := m.match != abi.MatchPresent && len(m.strs) == len(m.vals)
	for lo := int32(0); lo < n; lo += 1024 {
		for i := lo; i < min(lo+1024, n); i++ {
			var ok bool
			if strOnly {
				tag, bits := c.Entry(int(i))
				ok = tag == abi.TagStr && m.testBytes(c.Data(bits))
			} else {
				ok = m.test(c, int(i))
			}
			if ok {
				out[i/8] |= 1 << (i % 8)
				matches++
			}
		}
		t.checkDeadline(int(lo) + 1023)
	}
	return matches
}

// testBytes is testStr on a Str value's bytes.
func (m *matcher) testBytes(s []byte) bool {
	if m.match == abi.MatchPrefix {
		for _, p := range m.strs {
			if len(s) >= len(p) && string(s[:len(p)]) == p {
				return true
			}
		}
		return false
	}
	for _, p := range m.strs {
		if string(s) == p {
			return true
		}
	}
	return false
}

// testStr, testInt and testValue are test for a Str value, an Int value
// and an attribute's value, as a column would hold them.
func (m *matcher) testStr(s string) bool {
	switch m.match {
	case abi.MatchPresent:
		return true
	case abi.MatchPrefix:
		for _, p := range m.strs {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
		return false
	}
	return slices.Contains(m.strs, s)
}

func (m *matcher) testInt(n int64) bool {
	switch m.match {
	case abi.MatchPresent:
		return true
	case abi.MatchPrefix:
		return false
	}
	if len(m.ints) > 0 {
		_, found := slices.BinarySearch(m.ints, uint64(n))
		return found
	}
	for _, v := range m.vals {
		if v.Tag == abi.TagInt && v.Bits == uint64(n) {
			return true
		}
	}
	return false
}

func (m *matcher) testValue(v pcommon.Value) bool {
	var bits uint64
	tag := uint8(abi.TagEmpty)
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return m.testStr(v.Str())
	case pcommon.ValueTypeInt:
		return m.testInt(v.Int())
	case pcommon.ValueTypeDouble:
		tag, bits = abi.TagDouble, math.Float64bits(v.Double())
	case pcommon.ValueTypeBool:
		tag = abi.TagBool
		if v.Bool() {
			bits = 1
		}
	case pcommon.ValueTypeBytes:
		if m.match == abi.MatchPresent {
			return true
		}
		if m.match != abi.MatchEqual {
			return false
		}
		// pdata gives a Bytes value only as a copy: made only for a value
		// as long as one wanted, at most MaxKernelList bytes. Made for
		// every item, a span's 128 MiB value took 8-12 ms a select
		// under a 5 ms timeout (attack round 26).
		b := v.Bytes()
		var raw []byte
		for _, want := range m.vals {
			if want.Tag == abi.TagBytes && len(want.Raw) == b.Len() {
				if raw == nil {
					// Counted and reckoned before it is made: copies of
					// 64 KiB values on 4,096 records ran 87-330 ms between
					// two checks under a 5 ms timeout (attack round 27a).
					if m.t != nil {
						m.t.step(b.Len() / 16)
						m.t.reckonBytes(b.Len())
					}
					raw = b.AsRaw()
				}
				if bytes.Equal(raw, want.Raw) {
					return true
				}
			}
		}
		return false
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return m.match == abi.MatchPresent // read as Other: only present
	default:
		return false // Empty
	}
	if m.match == abi.MatchPresent {
		return true
	}
	if m.match == abi.MatchPrefix {
		return false
	}
	for _, want := range m.vals {
		if want.Tag == tag && want.Bits == bits {
			return true
		}
	}
	return false
}

// kernelColumn is a column built for kernels during one call.
type kernelColumn struct {
	table, field int32
	key          string
	data         []byte
}

// Kernel columns kept per call.
const maxKernelColumns = 16

// kernelColumn returns the column as `column` would build it, building it
// only on the first request of the call: a filter typically tests one
// field (the span name) against several conditions, then reads it.
func (t *tables) kernelColumn(table, field int32, key []byte) ([]byte, int32) {
	if c := t.cached(table, field, string(key)); c != nil {
		return c.data, 0
	}
	if t.kused == len(t.kcols) && len(t.kcols) < maxKernelColumns {
		t.kcols = append(t.kcols, kernelColumn{})
	}
	slot := min(t.kused, len(t.kcols)-1) // when full, the last is rebuilt
	c := &t.kcols[slot]
	buf := c.data[:0]
	if cap(buf) > maxKept {
		buf = nil
	}
	data, rc := t.build1(buf, table, field, string(key))
	if rc < 0 {
		// Not kept: a refused column's buffer may be as large as the
		// limit, and nothing would count it.
		*c = kernelColumn{}
		t.kused = min(t.kused, slot) // the slot no longer holds a column
		return nil, rc
	}
	*c = kernelColumn{table: table, field: field, key: string(key), data: data}
	if slot == t.kused {
		t.kused++
	}
	return data, 0
}

// kernelBytes is what the kernel columns hold, kept ones included.
func (t *tables) kernelBytes() int {
	n := 0
	for i := range t.kcols {
		n += cap(t.kcols[i].data)
	}
	return n
}

// dropKernelColumns frees every kernel column.
func (t *tables) dropKernelColumns() {
	t.kcols, t.kused = nil, 0
}

// cached is the column a kernel built this call, or nil.
func (t *tables) cached(table, field int32, key string) *kernelColumn {
	for i := range t.kcols[:t.kused] {
		if c := &t.kcols[i]; c.table == table && c.field == field && c.key == key {
			return c
		}
	}
	return nil
}

// matcher is a decoded select: the match and its list of values.
type matcher struct {
	match uint8
	vals  []abi.Scalar
	// ints holds the values, sorted, when they are all Int and many
	// (membership in a set of resources, say), for a binary search.
	ints []uint64
	// strs holds the Str values as strings, for tests on pdata, and words
	// the same for tests on a nameView.
	strs  []string
	words []strTest
	// t, when set, is the call's tables, which count and reckon the
	// copies testValue makes of Bytes values.
	t *tables
}

func decodeMatch(match int32, list []byte) (matcher, int32) {
	var m matcher
	rc := m.decode(match, list)
	return m, rc
}

// decode reads a select's match and list into m, reusing m's buffers: a
// select of 40 resources allocated 2 KiB to decode them, more than its
// test of 1,000 spans took.
func (m *matcher) decode(match int32, list []byte) int32 {
	*m = matcher{match: uint8(match), vals: m.vals[:0], strs: m.strs[:0], words: m.words[:0], ints: m.ints[:0]}
	rc := m.decode1(list)
	if rc < 0 {
		*m = matcher{match: uint8(match)}
	}
	return rc
}

func (m *matcher) decode1(list []byte) int32 {
	match := int32(m.match)
	if match < abi.MatchEqual || match > abi.MatchPresent {
		return abi.ErrArgument
	}
	d := abi.NewDecoder(list)
	count := d.U32()
	if d.Err() != nil {
		return abi.ErrEncoding
	}
	if count > abi.MaxKernelArgs {
		return abi.ErrTooLarge
	}
	if match == abi.MatchPresent && count != 0 {
		return abi.ErrArgument
	}
	for range count {
		v := d.Value()
		if d.Err() != nil {
			return abi.ErrEncoding
		}
		if !settable(v.Tag) || (match == abi.MatchPrefix && v.Tag != abi.TagStr) {
			return abi.ErrArgument
		}
		m.vals = append(m.vals, v)
	}
	if !d.Done() {
		return abi.ErrEncoding
	}
	for _, v := range m.vals {
		if v.Tag == abi.TagStr {
			m.strs = append(m.strs, string(v.Raw))
			m.words = append(m.words, newStrTest(m.strs[len(m.strs)-1]))
		}
	}
	if m.match == abi.MatchEqual && len(m.vals) > 4 {
		for _, v := range m.vals {
			if v.Tag != abi.TagInt {
				m.ints = m.ints[:0]
				break
			}
			m.ints = append(m.ints, v.Bits)
		}
		if !slices.IsSorted(m.ints) { // a filter lists indexes in order, mostly
			slices.Sort(m.ints)
		}
	}
	return 0
}

func (m *matcher) test(c abi.Column, i int) bool {
	tag, bits := c.Entry(i)
	switch m.match {
	case abi.MatchPresent:
		return tag != abi.TagEmpty
	case abi.MatchPrefix:
		if tag != abi.TagStr {
			return false
		}
		s := c.Data(bits)
		for _, v := range m.vals {
			if bytes.HasPrefix(s, v.Raw) {
				return true
			}
		}
		return false
	}
	if len(m.ints) > 0 {
		_, found := slices.BinarySearch(m.ints, bits)
		return tag == abi.TagInt && found
	}
	for _, v := range m.vals {
		if v.Tag != tag {
			continue
		}
		switch tag {
		case abi.TagStr, abi.TagBytes:
			if bytes.Equal(c.Data(bits), v.Raw) {
				return true
			}
		default:
			if bits == v.Bits {
				return true
			}
		}
	}
	return false
}

// hostEditWhere: (op_ptr, op_len, sel_ptr, sel_len) -> edits staged. The
// operation is one edit whose index is ignored; it is staged once for
// every selected item of its table, in order, as if the guest had sent
// each. The host validates the copies with the rest of the edit list.
func hostEditWhere(st *callState, g mem, stack []uint64) int32 {
	if api.DecodeU32(stack[1]) > abi.MaxKernelList {
		return abi.ErrTooLarge
	}
	op, ok1 := g.bytes(stack[0], stack[1])
	sel, ok2 := g.bytes(stack[2], stack[3])
	if !ok1 || !ok2 {
		return abi.ErrBounds
	}
	if abi.EditLen(op) != len(op) {
		return abi.ErrEncoding // not one whole edit
	}
	n := st.t.count(int32(op[1]))
	if n < 0 {
		return n
	}
	sel = sel[:min(len(sel), (int(n)+7)/8)]
	k := int32(0)
	for range selectedItems(sel, n) {
		k++
	}
	// The copies count against the staged edits' limit as if the guest
	// had sent each, whether they are staged as copies or as a record.
	copies := int(k) * len(op)
	if st.stagedEdits()+copies > st.limits.maxEdits {
		return abi.ErrTooLarge
	}
	// A record takes its bytes and its offset's in the editor's list;
	// where it would not be smaller, or the budget cannot hold it, the
	// copies are staged.
	if record := 8 + len(op) + len(sel) + 8; record < copies && st.stageRecord(op, sel, copies) {
		return k
	}
	// ensure: the edits are held against host_memory_limit, as edit's are.
	if !st.ensure(&st.edits, copies, st.editLimit()) {
		return abi.ErrTooLarge
	}
	for i := range selectedItems(sel, n) {
		at := len(st.edits)
		st.edits = append(st.edits, op...)
		binary.LittleEndian.PutUint32(st.edits[at+2:], uint32(i))
	}
	return k
}

// hostCopyAttr: (table, from_ptr, from_len, to_ptr, to_len, sel_ptr,
// sel_len, flags) -> edits staged. For every selected item whose attribute
// from holds a value an edit can set (not a map or an array), it stages
// SetAttr(to, that value) on the item, or on its parent with CopyToParent.
// The value is the one the batch arrived with, as every read sees.
func hostCopyAttr(st *callState, g mem, stack []uint64) int32 {
	table, flags := api.DecodeI32(stack[0]), api.DecodeU32(stack[7])
	if api.DecodeU32(stack[2]) > abi.MaxKernelKey || api.DecodeU32(stack[4]) > abi.MaxKernelKey {
		return abi.ErrTooLarge
	}
	from, ok1 := g.bytes(stack[1], stack[2])
	to, ok2 := g.bytes(stack[3], stack[4])
	sel, ok3 := g.bytes(stack[5], stack[6])
	if !ok1 || !ok2 || !ok3 {
		return abi.ErrBounds
	}
	if flags&^abi.CopyToParent != 0 {
		return abi.ErrArgument
	}
	n := st.t.count(table)
	if n < 0 {
		return n
	}
	dst := table
	if flags&abi.CopyToParent != 0 {
		dst = parentTable(table)
	}
	if !hasAttrs(table) || dst == 0 || !hasAttrs(dst) {
		return abi.ErrArgument
	}
	if dst != table && st.t.count(dst) < 0 {
		return abi.ErrArgument
	}
	mark, k := len(st.edits), int32(0)
	fromKey := string(from)
	for i := range selectedItems(sel, n) {
		v, ok := st.t.attr(table, i, fromKey)
		if !ok {
			continue
		}
		at := i
		if dst != table {
			at = st.t.parent(table, i)
		}
		size := setAttrSize(to, v)
		if size < 0 {
			continue
		}
		if v.Type() == pcommon.ValueTypeBytes {
			st.t.reckonBytes(size) // read as a copy, then copied again
		}
		if !st.ensure(&st.edits, size, st.editLimit()) {
			st.edits = st.edits[:mark]
			return abi.ErrTooLarge
		}
		st.edits, _ = appendSetAttr(st.edits, uint8(dst), uint32(at), to, v)
		k++
	}
	return k
}

// setAttrSize is the length of the edit appendSetAttr appends, -1 for a
// value an edit cannot set.
func setAttrSize(key []byte, v pcommon.Value) int {
	const head = 1 + 1 + 4 + 4 + 1 // op, table, index, key length, tag
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return head + len(key) + 4 + len(v.Str())
	case pcommon.ValueTypeBytes:
		return head + len(key) + 4 + v.Bytes().Len()
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble:
		return head + len(key) + 8
	case pcommon.ValueTypeBool:
		return head + len(key) + 1
	}
	return -1
}

// appendSetAttr appends SetAttr(key, v) on item i of table, or reports
// false for a value an edit cannot set.
func appendSetAttr(b []byte, table uint8, i uint32, key []byte, v pcommon.Value) ([]byte, bool) {
	head := func() []byte {
		return abi.AppendBytes(abi.AppendEditHeader(b, abi.OpSetAttr, table, i), key)
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return abi.AppendStrValue(head(), v.Str()), true
	case pcommon.ValueTypeInt:
		return abi.AppendIntValue(head(), v.Int()), true
	case pcommon.ValueTypeDouble:
		return abi.AppendDoubleValue(head(), v.Double()), true
	case pcommon.ValueTypeBool:
		return abi.AppendBoolValue(head(), v.Bool()), true
	case pcommon.ValueTypeBytes:
		return abi.AppendBytesValue(head(), v.Bytes().AsRaw()), true
	}
	return b, false
}
