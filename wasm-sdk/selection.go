// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math/bits"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// Cond is a condition the host tests on every item of a table at once,
// natively, instead of the filter testing each item in Wasm. Make one with
// NameIs, NameHasPrefix, AttrIs, AttrHasPrefix, HasAttr, KindIs or
// ResourceIn, and pass it to a batch's *Where method. Making one allocates
// nothing: a Cond keeps the slice of values it was given, so changing the
// slice before the Cond is used changes the Cond.
type Cond struct {
	field int32
	key   string
	match int32
	// The values are the caller's slice, kept as it came so that making a
	// Cond allocates nothing: of vals, strs (Str values) and ints (Int
	// values), one is set.
	vals []Value
	strs []string
	ints []int
}

// NameIs holds for items whose name is one of names.
func NameIs(names ...string) Cond {
	return Cond{field: abi.FieldName, match: abi.MatchEqual, strs: names}
}

// NameHasPrefix holds for items whose name starts with one of prefixes.
func NameHasPrefix(prefixes ...string) Cond {
	return Cond{field: abi.FieldName, match: abi.MatchPrefix, strs: prefixes}
}

// AttrIs holds for items whose attribute key equals one of values, kind
// included (Str("1") is not Int(1)).
func AttrIs(key string, values ...Value) Cond {
	return Cond{field: abi.FieldAttr, key: key, match: abi.MatchEqual, vals: values}
}

// AttrHasPrefix holds for items whose attribute key is a string starting
// with one of prefixes.
func AttrHasPrefix(key string, prefixes ...string) Cond {
	return Cond{field: abi.FieldAttr, key: key, match: abi.MatchPrefix, strs: prefixes}
}

// HasAttr holds for items that have the attribute key, of any kind.
func HasAttr(key string) Cond { return Cond{field: abi.FieldAttr, key: key, match: abi.MatchPresent} }

// KindIs holds for spans of one of kinds.
func KindIs(kinds ...SpanKind) Cond {
	c := Cond{field: abi.FieldKind, match: abi.MatchEqual, ints: make([]int, len(kinds))}
	for i, k := range kinds {
		c.ints[i] = int(k)
	}
	return c
}

// ResourceIn holds for items whose resource is one of the resources with
// these indexes (Resource.Index): a per-resource decision applied to every
// span, log record or data point of the resources.
func ResourceIn(indexes ...int) Cond {
	return Cond{field: abi.FieldResource, match: abi.MatchEqual, ints: indexes}
}

// count is how many values c lists.
func (c Cond) count() int { return len(c.vals) + len(c.strs) + len(c.ints) }

// part is c's values from the lo-th on, at most abi.MaxKernelArgs of
// them, what the host takes in one call: a condition listing more is
// asked in parts, which meet it together.
func (c Cond) part(lo int) Cond {
	hi := lo + abi.MaxKernelArgs
	c.vals = c.vals[min(lo, len(c.vals)):min(hi, len(c.vals))]
	c.strs = c.strs[min(lo, len(c.strs)):min(hi, len(c.strs))]
	c.ints = c.ints[min(lo, len(c.ints)):min(hi, len(c.ints))]
	return c
}

// request encodes c's list and copies its key into the batch's scratch
// buffer. Handing the host the copy rather than c.key keeps c from
// escaping (the host is an interface, so what it is given escapes), and
// with it the values a Cond constructor's caller passed: making a Cond
// then allocates nothing, where it cost a heap allocation in every select.
func (b *batch) request(c Cond) (list []byte, key string) {
	b.scratch = c.appendList(b.scratch[:0])
	n := len(b.scratch)
	b.scratch = append(b.scratch, c.key...)
	return b.scratch[:n], hostcall.String(b.scratch[n:])
}

// appendList encodes c's values as a select's list.
func (c Cond) appendList(b []byte) []byte {
	b = abi.AppendU32(b, uint32(c.count()))
	for _, v := range c.vals {
		b = appendValue(b, v)
	}
	for _, s := range c.strs {
		b = abi.AppendStrValue(b, s)
	}
	for _, n := range c.ints {
		b = abi.AppendIntValue(b, int64(n))
	}
	return b
}

// Selection is a set of items of one table: what a *Where method found, or
// what a filter adds itself. Its edits (SetAttr, CopyAttr, ...) stage one
// edit for every item in it in a single host call, in the order of the
// filter's other edits.
//
//	broker := t.SpansWhere(wasmcol.NameHasPrefix("broker:"))
//	broker.SetAttr("knative.hop", wasmcol.Str("ingress"))
//	for i := range broker.All() { ... t.Span(i) ... }
//
// # Notes
//   - A Selection belongs to its batch and is valid until the process
//     method returns, like the strings read from columns: the SDK reuses
//     its memory for the next batch.
//   - And, Or and AndNot make new Selections; Add changes this one, and
//     every copy of it.
type Selection struct {
	b     *batch
	table int32
	words []uint64
	// live, when set, bounds the words that can hold items: a group's
	// selection, whose few items a batch of many distinct values would
	// otherwise cost a pass over the whole table each time it is counted,
	// visited or emptied. Shared with the selection's copies, as words
	// are, so that Add on one widens it for all.
	live *wordRange
}

// wordRange is words [lo, hi) of a selection.
type wordRange struct{ lo, hi int }

// span is the words that can hold s's items, and the index of the
// first.
func (s Selection) span() ([]uint64, int) {
	if s.live == nil {
		return s.words, 0
	}
	return s.words[s.live.lo:s.live.hi], s.live.lo
}

// selection is an empty selection of table, its words from the batch's
// pool.
func (b *batch) selection(table int32) Selection {
	return Selection{b: b, table: table, words: b.words((b.length(table) + 63) / 64)}
}

// words is n zeroed words from the batch's pool.
func (b *batch) words(n int) []uint64 {
	if b.selUsed == len(b.sels) {
		b.sels = append(b.sels, nil)
	}
	w := b.sels[b.selUsed]
	if cap(w) < n {
		w = make([]uint64, n)
	}
	w = w[:n]
	clear(w)
	b.sels[b.selUsed] = w
	b.selUsed++
	return w
}

// where asks the host for the items of table that meet c.
func (b *batch) where(table int32, c Cond) Selection {
	if c.count() <= abi.MaxKernelArgs {
		return b.where1(table, c)
	}
	s := b.selection(table)
	for lo := 0; lo < c.count(); lo += abi.MaxKernelArgs {
		p := b.where1(table, c.part(lo))
		for i := range s.words {
			s.words[i] |= p.words[i]
		}
	}
	return s
}

func (b *batch) where1(table int32, c Cond) Selection {
	s := b.selection(table)
	list, key := b.request(c)
	if rc := b.h.Select(table, c.field, key, c.match, list, hostcall.Words(s.words)); rc < 0 {
		b.hostErr(fmt.Sprintf("select on field %d of table %d", c.field, table), rc)
		clear(s.words)
	}
	return s
}

// Where is the items of s that meet c: s.And(t.SpansWhere(c)), but
// tested by the host on s's items only, so that narrowing a few spans by
// an attribute costs those spans, not the batch.
func (s Selection) Where(c Cond) Selection {
	if s.b == nil {
		return s
	}
	b := s.b
	out := b.selection(s.table)
	if c.count() <= abi.MaxKernelArgs {
		copy(out.words, s.words)
		b.refine(c, out)
		return out
	}
	part := b.selection(s.table)
	for lo := 0; lo < c.count(); lo += abi.MaxKernelArgs {
		copy(part.words, s.words)
		b.refine(c.part(lo), part)
		for i := range out.words {
			out.words[i] |= part.words[i]
		}
	}
	return out
}

func (b *batch) refine(c Cond, s Selection) {
	list, key := b.request(c)
	if rc := b.h.Refine(s.table, c.field, key, c.match, list, hostcall.Words(s.words)); rc < 0 {
		b.hostErr(fmt.Sprintf("refine on field %d of table %d", c.field, s.table), rc)
		clear(s.words)
	}
}

// Len is the number of items in the selection.
func (s Selection) Len() int {
	n := 0
	words, _ := s.span()
	for _, w := range words {
		n += bits.OnesCount64(w)
	}
	return n
}

// Has reports whether item i is in the selection.
func (s Selection) Has(i int) bool {
	return uint(i/64) < uint(len(s.words)) && s.words[i/64]&(1<<(uint(i)%64)) != 0
}

// Add puts item i in the selection; an index out of range is ignored.
// The table's length is known once a selection of it exists: read here
// without the call length makes, which in a Wasm guest costs more than
// the rest.
func (s Selection) Add(i int) {
	if uint(i/64) < uint(len(s.words)) && i >= 0 && int32(i) < s.b.lens[s.table] {
		s.words[i/64] |= 1 << (uint(i) % 64)
		if r := s.live; r != nil {
			r.lo, r.hi = min(r.lo, i/64), max(r.hi, i/64+1)
		}
	}
}

// All iterates over the indexes of the items in the selection, in order.
func (s Selection) All() iter.Seq[int] {
	return func(yield func(int) bool) {
		words, lo := s.span()
		for wi, w := range words {
			for w != 0 {
				i := (lo+wi)*64 + bits.TrailingZeros64(w)
				if !yield(i) {
					return
				}
				w &= w - 1
			}
		}
	}
}

func (s Selection) combine(o Selection, op uint8) Selection {
	if s.b == nil {
		return s
	}
	out := s.b.selection(s.table)
	if o.table != s.table {
		s.b.fail(fmt.Errorf("wasmcol: combining selections of tables %d and %d", s.table, o.table))
		return out
	}
	// One loop per operation: a function value called per word is an
	// indirect call in Wasm, several times the word operation.
	w, a, b := out.words, s.words[:len(out.words)], o.words[:len(out.words)]
	switch op {
	case opAnd:
		for i := range w {
			w[i] = a[i] & b[i]
		}
	case opOr:
		for i := range w {
			w[i] = a[i] | b[i]
		}
	default:
		for i := range w {
			w[i] = a[i] &^ b[i]
		}
	}
	return out
}

const (
	opAnd uint8 = iota
	opOr
	opAndNot
)

// And is the items in both selections.
func (s Selection) And(o Selection) Selection {
	return s.combine(o, opAnd)
}

// Or is the items in either selection.
func (s Selection) Or(o Selection) Selection {
	return s.combine(o, opOr)
}

// AndNot is the items in s but not in o.
func (s Selection) AndNot(o Selection) Selection {
	return s.combine(o, opAndNot)
}

// ByName iterates over the items of s grouped by name: each distinct
// name once, in the order the names first appear, with the items that
// have it. The host sorts the items, so that a filter works out what a
// name calls for once and edits all its items with one edit each:
//
//	for name, spans := range broker.ByName() {
//		if ns, ok := namespaceOf(name); ok {
//			spans.SetAttr("kn.broker.namespace", wasmcol.Str(ns))
//		}
//	}
//
// The names are valid until the process method returns. Each selection
// is valid in its own iteration only: the next reuses its memory, so that
// a batch of many distinct names costs no more memory than a few. Keep
// one beyond its iteration by adding its items (Add) to a selection made
// before the loop. Where, And, Or and AndNot each take a new selection of
// the batch, held until the process method returns: called in every
// iteration they cost (distinct values × items) / 8 bytes, what reusing
// the group's memory avoids.
//
// The host reads each item's name once for the whole loop; the loop's
// own cost is a pass over the selection's words per distinct name.
func (s Selection) ByName() iter.Seq2[string, Selection] {
	return func(yield func(string, Selection) bool) {
		s.groups(abi.FieldName, "", func(v Value, g Selection) bool { return yield(v.s, g) })
	}
}

// ByAttr iterates over the items of s grouped by the value of the
// attribute key, as ByName does by name. Values are told apart by kind
// and content (Str("1") is not Int(1)); items without the attribute, or
// whose value is a map or an array, are not visited. Values and
// selections are valid as ByName's are.
func (s Selection) ByAttr(key string) iter.Seq2[Value, Selection] {
	return func(yield func(Value, Selection) bool) { s.groups(abi.FieldAttr, key, yield) }
}

// groupsPerCall is the bitmaps the SDK gives one group call: a batch has
// a few distinct names or service names, and a call per 32 of them
// costs little, where room for 256 would cost 32 bytes an item.
const groupsPerCall = 32

func (s Selection) groups(field int32, key string, yield func(Value, Selection) bool) {
	b := s.b
	if b == nil || s.Len() == 0 {
		return
	}
	rest := b.selection(s.table)
	copy(rest.words, s.words)
	n := len(rest.words)
	// One block of bitmaps for every call: selections the batch kept per
	// group would cost (distinct values × items) / 8 bytes, 50 MB for
	// 20,000 spans of distinct names.
	block := b.words(n * groupsPerCall)
	live := new(wordRange) // the group's, reused as its words are
	for {
		c := b.newColumn(s.table, field, key)
		raw, k := b.h.Group(s.table, field, key, hostcall.Words(rest.words), hostcall.Words(block), c.buf[:0])
		if cap(raw) > 0 {
			c.buf = raw[:0]
		}
		if k < 0 {
			b.hostErr(fmt.Sprintf("group on field %d of table %d", field, s.table), k)
			return
		}
		if k > groupsPerCall || len(raw) < int(k)*abi.EntrySize {
			b.fail(fmt.Errorf("wasmcol: group on field %d of table %d: %w", field, s.table, abi.ErrMalformed))
			return
		}
		c.n, c.data = int(k), abi.Column(raw)
		for j := range int(k) {
			g := Selection{b: b, table: s.table, words: block[j*n : (j+1)*n : (j+1)*n], live: live}
			// The one pass over the group's words: what it does next
			// costs its items, not the table.
			lo, hi := 0, 0
			for wi, w := range g.words {
				if w != 0 {
					if hi == 0 {
						lo = wi
					}
					hi = wi + 1
				}
			}
			*live = wordRange{lo, hi}
			ok := yield(c.value(int32(j)), g)
			// Emptied after its iteration, whether or not the block is
			// reused: a filter that keeps one fails its tests at once,
			// not only on a batch of more than 32 values.
			words, _ := g.span()
			clear(words)
			*live = wordRange{}
			if !ok {
				return
			}
		}
		if k < groupsPerCall {
			return
		}
	}
}

// guestCopies is the most items for which editWhere stages copies of
// the edit itself: a call to the host costs more than a copy or two.
// An edit longer than edit_where takes is staged as copies whatever the
// selection, as Item's edits are.
const guestCopies = 2

// editWhere stages op (one edit with index 0) for every item.
func (s Selection) editWhere(op []byte) {
	b := s.b
	if b == nil {
		return
	}
	// Copies also where they take fewer bytes than the record, the
	// operation and a bitmap of the whole table: a group of a few items
	// in a large batch. The bytes staged then stay linear in the batch
	// however many groups a filter edits, where a record per group
	// would cost groups × items / 8.
	if n := s.Len(); n == 0 {
		return
	} else if n <= guestCopies || len(op) > abi.MaxKernelList || n*len(op) <= len(op)+8*len(s.words) {
		for i := range s.All() {
			at := len(b.edits)
			b.edits = append(b.edits, op...)
			binary.LittleEndian.PutUint32(b.edits[at+2:], uint32(i))
		}
		return
	}
	b.flush()
	if rc := b.h.EditWhere(op, hostcall.Words(s.words)); rc < 0 {
		b.hostErr("edit_where", rc)
	}
}

func (s Selection) template(op uint8) []byte {
	return abi.AppendEditHeader(s.b.scratch[:0], op, uint8(s.table), 0)
}

// SetAttr sets (or adds) the attribute key to v on every item, as
// Item.SetAttr does on one.
func (s Selection) SetAttr(key string, v Value) {
	if s.b == nil {
		return
	}
	s.b.scratch = appendValue(abi.AppendStr(s.template(abi.OpSetAttr), key), v)
	s.editWhere(s.b.scratch)
}

// DeleteAttr removes the attribute key from every item.
func (s Selection) DeleteAttr(key string) {
	if s.b == nil {
		return
	}
	s.b.scratch = abi.AppendStr(s.template(abi.OpDeleteAttr), key)
	s.editWhere(s.b.scratch)
}

// RenameAttr moves the attribute old to new on every item that has it.
func (s Selection) RenameAttr(old, new string) {
	if s.b == nil {
		return
	}
	s.b.scratch = abi.AppendStr(abi.AppendStr(s.template(abi.OpRenameAttr), old), new)
	s.editWhere(s.b.scratch)
}

// SetKind sets the kind of every span in a selection of spans.
func (s Selection) SetKind(k SpanKind) {
	if s.b == nil {
		return
	}
	s.b.scratch = appendValue(append(s.template(abi.OpSetField), abi.FieldKind), Int(int64(k)))
	s.editWhere(s.b.scratch)
}

// Drop removes every item (spans, data points, log records) when the
// filter returns.
func (s Selection) Drop() {
	if s.b == nil {
		return
	}
	s.editWhere(s.template(abi.OpDrop))
}

// CopyAttr sets the attribute to, on every item that has the attribute
// from, to from's value (maps and arrays, which edits cannot set, are
// left out).
func (s Selection) CopyAttr(from, to string) { s.copyAttr(from, to, 0) }

// CopyAttrToParent does what CopyAttr does, but sets to on each item's
// parent: an event's or a link's span, a span's or a log record's scope,
// a scope's resource. With several items of one parent, the last wins.
func (s Selection) CopyAttrToParent(from, to string) { s.copyAttr(from, to, abi.CopyToParent) }

func (s Selection) copyAttr(from, to string, flags uint32) {
	b := s.b
	if b == nil || s.Len() == 0 {
		return
	}
	b.flush()
	if rc := b.h.CopyAttr(s.table, from, to, hostcall.Words(s.words), flags); rc < 0 {
		b.hostErr("copy_attr", rc)
	}
}

// SpansWhere is the spans that meet c, tested by the host over the whole
// batch in one call.
func (t Traces) SpansWhere(c Cond) Selection { return t.b.where(abi.TableSpan, c) }

// EventsWhere is the span events that meet c.
func (t Traces) EventsWhere(c Cond) Selection { return t.b.where(abi.TableEvent, c) }

// ResourcesWhere is the resources that meet c, a condition on their
// attributes. A filter that decides by resource asks this once rather than
// reading every resource's attributes itself; ResourceIn then takes the
// spans of the resources selected.
func (t Traces) ResourcesWhere(c Cond) Selection { return t.b.where(abi.TableResource, c) }

// NoSpans is an empty selection of spans, for a filter to Add to.
func (t Traces) NoSpans() Selection { return t.b.selection(abi.TableSpan) }

// NoResources is an empty selection of resources, for a filter to Add to.
func (t Traces) NoResources() Selection { return t.b.selection(abi.TableResource) }

// RecordsWhere is the log records that meet c.
func (l Logs) RecordsWhere(c Cond) Selection { return l.b.where(abi.TableLog, c) }

// PointsWhere is the data points that meet c.
func (m Metrics) PointsWhere(c Cond) Selection { return m.b.where(abi.TablePoint, c) }

// ResourcesWhere is the resources that meet c, as Traces.ResourcesWhere.
func (l Logs) ResourcesWhere(c Cond) Selection { return l.b.where(abi.TableResource, c) }

// ResourcesWhere is the resources that meet c, as Traces.ResourcesWhere.
func (m Metrics) ResourcesWhere(c Cond) Selection { return m.b.where(abi.TableResource, c) }
