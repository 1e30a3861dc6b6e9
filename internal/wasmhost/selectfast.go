// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// The selects filters make most test span and event names, span kinds and
// resources, many times per batch: knative-hops makes about twenty selects
// on 1,000 spans, fifteen of them on the name. Reaching each span's name
// through pdata for every select cost about 17 ns a span in a real batch,
// most of it cache misses on span structs spread over the heap. So the
// first name or kind select of a call copies every name's string header
// and first eight bytes, and for spans every kind, into flat arrays in one
// pass over the spans, and later selects compare words from them; kinds
// and resources are tested through a bit set of the wanted values, in
// loops of about 1 ns an item.

// nameView is one table's names for the call, with each name's first
// eight bytes as a little-endian word (zero-padded), and for spans their
// kinds, read in the same pass since they share the span's struct.
type nameView struct {
	built bool
	names []string
	heads []uint64
	kinds []int32
}

func (v *nameView) reset() {
	clear(v.names) // drop the batch's strings
	v.built, v.names, v.heads, v.kinds = false, v.names[:0], v.heads[:0], v.kinds[:0]
}

func (v *nameView) add(s string) {
	v.names = append(v.names, s)
	v.heads = append(v.heads, headWord(s))
}

// headWord is s's first eight bytes as a little-endian word, zero-padded.
func headWord(s string) uint64 {
	if len(s) >= 8 {
		return binary.LittleEndian.Uint64([]byte(s[:8])) // no allocation
	}
	var b [8]byte
	copy(b[:], s)
	return binary.LittleEndian.Uint64(b[:])
}

// nameView returns the span (or event) names of the call, building them
// on first use.
func (t *tables) nameView(table int32) *nameView {
	v := &t.spanNames
	if table == abi.TableEvent {
		v = &t.eventNames
	}
	if v.built {
		return v
	}
	// A deadline met part way leaves a view that is not built: start over.
	// Sized at once, and reckoned when it must grow: grown by append, 4
	// million events' names ran up to 80 ms past the deadline, each
	// growth a copy no check splits (attack round 27a).
	n := len(t.spans)
	if table == abi.TableEvent {
		n = len(t.events)
	}
	if cap(v.heads) < n {
		t.reckonBytes(n * nameViewBytes)
	}
	v.names, v.heads, v.kinds = slices.Grow(v.names[:0], n), slices.Grow(v.heads[:0], n), v.kinds[:0]
	if table == abi.TableSpan {
		v.kinds = slices.Grow(v.kinds, n)
	}
	if table == abi.TableEvent {
		for i := range t.events {
			v.add(t.event(int32(i)).Name())
			t.checkDeadline(i)
		}
	} else {
		for i := range t.spans {
			sp := t.span(int32(i))
			v.add(sp.Name())
			v.kinds = append(v.kinds, int32(sp.Kind()))
			t.checkDeadline(i)
		}
	}
	v.built = true
	return v
}

// nameViewBytes is what a name view holds an item: a string header, its
// head word and its kind.
const nameViewBytes = 16 + 8 + 4

// selectSet marks the items whose value in vals is in set, checking the
// deadline every 1,024 items.
func (t *tables) selectSet(vals []int32, set []bool, out []byte) int32 {
	matches := int32(0)
	for lo := 0; lo < len(vals); lo += 1024 {
		for i, n := range vals[lo:min(lo+1024, len(vals))] {
			if uint32(n) < uint32(len(set)) && set[n] {
				i += lo
				out[i>>3] |= 1 << (i & 7)
				matches++
			}
		}
		t.checkDeadline(lo + 1023)
	}
	return matches
}

// selectOne is testHead for a select of one value, the usual case, in
// one loop: about 1 ns a name.
func (v *nameView) selectOne(t *tables, p strTest, prefix bool, out []byte) int32 {
	matches := int32(0)
	names := v.names[:len(v.heads)]
	for i, h := range v.heads {
		t.checkDeadline(i)
		var ok bool
		if prefix {
			ok = h&p.mask == p.head && len(names[i]) >= len(p.s) && (len(p.s) <= 8 || strings.HasPrefix(names[i][8:], p.s[8:]))
		} else {
			ok = h == p.head && len(names[i]) == len(p.s) && (len(p.s) <= 8 || names[i][8:] == p.s[8:])
		}
		if ok {
			out[i>>3] |= 1 << (i & 7)
			matches++
		}
	}
	return matches
}

// strTest is one Str value of a select, precomputed for word comparison.
type strTest struct {
	s    string
	head uint64 // headWord(s)
	mask uint64 // the bytes of head that s fills
}

func newStrTest(s string) strTest {
	mask := ^uint64(0)
	if len(s) < 8 {
		mask = 1<<(8*len(s)) - 1
	}
	return strTest{s: s, head: headWord(s), mask: mask}
}

// testHead is testStr on a name and its head word.
func (m *matcher) testHead(name string, head uint64) bool {
	switch m.match {
	case abi.MatchPresent:
		return true
	case abi.MatchPrefix:
		for _, p := range m.words {
			if head&p.mask == p.head && len(name) >= len(p.s) && (len(p.s) <= 8 || strings.HasPrefix(name[8:], p.s[8:])) {
				return true
			}
		}
		return false
	}
	for _, p := range m.words {
		if head == p.head && len(name) == len(p.s) && (len(p.s) <= 8 || name[8:] == p.s[8:]) {
			return true
		}
	}
	return false
}

// intSet is the select's values as a set when they are all Ints in
// [0, limit), or nil, for the general test to decide. The set is made in
// *buf, reused from call to call as the matcher's buffers are: a filter
// selects the spans of a set of resources several times a batch.
func (m *matcher) intSet(limit int, buf *[]bool) []bool {
	if m.match != abi.MatchEqual {
		return nil
	}
	for _, v := range m.vals {
		if v.Tag != abi.TagInt || v.Bits >= uint64(limit) {
			return nil
		}
	}
	if cap(*buf) < limit { // only once the values qualify
		*buf = make([]bool, limit)
	}
	set := (*buf)[:limit]
	clear(set)
	for _, v := range m.vals {
		set[v.Bits] = true
	}
	return set
}

// selectFast tests the fields filters select by most (span and event
// names, span kind, resource, an attribute of any table) without
// building a column. It reports false for other fields, which go through a column.
// The results are those of the column path: TestKernelsEmulatorMatchesHost
// compares them with the emulator, which always builds columns.
func (t *tables) selectFast(table, field int32, key string, m *matcher, out []byte) (int32, bool) {
	matches := int32(0)
	mark := func(i int, ok bool) {
		if ok {
			out[i/8] |= 1 << (i % 8)
			matches++
		}
		t.checkDeadline(i)
	}
	switch {
	case field == abi.FieldName && (table == abi.TableSpan || table == abi.TableEvent):
		v := t.nameView(table)
		if len(m.words) == 1 && m.match != abi.MatchPresent {
			return v.selectOne(t, m.words[0], m.match == abi.MatchPrefix, out), true
		}
		for i, h := range v.heads {
			mark(i, m.testHead(v.names[i], h))
		}
	case field == abi.FieldAttr && hasAttrs(table):
		m.t = t
		for i := range int(t.count(table)) {
			v, ok := t.attr(table, int32(i), key)
			if ok && isComposite(v) {
				return 0, false
			}
			mark(i, ok && m.testValue(v))
		}
	case table != abi.TableSpan:
		return 0, false
	case field == abi.FieldKind:
		kinds := t.nameView(abi.TableSpan).kinds
		if set := m.intSet(abi.SpanKindConsumer+1, &t.intSetBuf); set != nil {
			return t.selectSet(kinds, set, out), true
		}
		for i, k := range kinds {
			mark(i, m.testInt(int64(k)))
		}
	case field == abi.FieldResource:
		if set := m.intSet(len(t.res), &t.intSetBuf); set != nil {
			for lo := 0; lo < len(t.spans); lo += 1024 {
				for i := lo; i < min(lo+1024, len(t.spans)); i++ {
					if set[t.spans[i].res] { // res < len(t.res) by construction
						out[i>>3] |= 1 << (i & 7)
						matches++
					}
				}
				t.checkDeadline(lo + 1023)
			}
			return matches, true
		}
		for i := range t.spans {
			mark(i, m.testInt(int64(t.spans[i].res)))
		}
	default:
		return 0, false
	}
	return matches, true
}

// itemTest is selectFast's test of one item, for refine, or nil for the
// fields that go through a column. An attribute is read per item, of any
// table: refine reads only sel's items, and refuses only for a value of
// one of them that column would refuse.
func (t *tables) itemTest(table, field int32, key string, m *matcher) itemTest {
	switch {
	case field == abi.FieldName && (table == abi.TableSpan || table == abi.TableEvent):
		v := t.nameView(table)
		return func(i int) (bool, bool) { return m.testHead(v.names[i], v.heads[i]), false }
	case field == abi.FieldAttr && hasAttrs(table):
		m.t = t
		return func(i int) (bool, bool) {
			v, ok := t.attr(table, int32(i), key)
			if ok && isComposite(v) && !t.renderable(v) {
				return false, true
			}
			return ok && m.testValue(v), false
		}
	case table != abi.TableSpan:
		return nil
	case field == abi.FieldKind:
		kinds := t.nameView(abi.TableSpan).kinds
		return func(i int) (bool, bool) { return m.testInt(int64(kinds[i])), false }
	case field == abi.FieldResource:
		return func(i int) (bool, bool) { return m.testInt(int64(t.spans[i].res)), false }
	}
	return nil
}

// itemTest reports whether item i matches, or that its value is one
// column refuses.
type itemTest func(i int) (match, refused bool)

// renderable reports whether column would take v: as JSON, nested at
// most 64 levels and within a column's limit.
func (t *tables) renderable(v pcommon.Value) bool {
	room := t.maxColumn
	if room <= 0 {
		room = math.MaxInt
	}
	_, err := measureJSON(t, v, room)
	return err == nil
}

// isComposite reports a map or slice value. select's fast path leaves
// those to the column path, which renders them as JSON and refuses what it
// cannot render (nested past 64 levels, larger than the column's limit):
// a select answers exactly as the column, and the emulator, would.
func isComposite(v pcommon.Value) bool {
	t := v.Type()
	return t == pcommon.ValueTypeMap || t == pcommon.ValueTypeSlice
}

// A guest may ask the same select twice in one call (knative-hops asks
// which spans have messaging.destination.name for two selections); the
// second is answered from the first. Only small selections are kept.
const (
	maxSelectMemo     = 16
	maxSelectMemoBits = 16 << 10 // bytes of bitmap: 131,072 items
	// maxKeptMemo is what the memo and the request copies may keep from
	// one call to the next.
	maxKeptMemo = 64 << 10
)

type selectMemo struct {
	table, field, match int32
	key, list, bits     []byte
	matches             int32
}

// recall copies a select made earlier in the call into out, if there was one.
func (t *tables) recall(table, field, match int32, key, list, out []byte) (int32, bool) {
	for i := range t.memo[:t.memoUsed] {
		s := &t.memo[i]
		if s.table == table && s.field == field && s.match == match && len(s.bits) == len(out) &&
			bytes.Equal(s.key, key) && bytes.Equal(s.list, list) {
			copy(out, s.bits)
			return s.matches, true
		}
	}
	return 0, false
}

// remember keeps a select's result for the rest of the call.
func (t *tables) remember(table, field, match int32, key, list, bits []byte, matches int32) {
	if len(bits) > maxSelectMemoBits || len(key)+len(list) > maxSelectMemoBits || t.memoUsed == maxSelectMemo {
		return
	}
	if t.memoUsed == len(t.memo) {
		t.memo = append(t.memo, selectMemo{})
	}
	s := &t.memo[t.memoUsed]
	t.memoUsed++
	s.table, s.field, s.match, s.matches = table, field, match, matches
	s.key = append(s.key[:0], key...)
	s.list = append(s.list[:0], list...)
	s.bits = append(s.bits[:0], bits...)
}
