// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// groupModel is what ABI.md says group does, with values read from the
// field's column (refine's reading): k, sel after, the first k bitmaps of
// out and the result column.
func groupModel(t *testing.T, st *callState, table, field int32, key string, sel []byte, capacity int) (int32, []byte, []byte, []byte) {
	t.Helper()
	n := st.t.count(table)
	col, rc := st.t.column(nil, table, field, key)
	if rc < 0 {
		t.Fatalf("column %d/%d/%q: %d", table, field, key, rc)
	}
	c := abi.Column(col)
	type val struct {
		tag  uint8
		bits uint64
		s    string
	}
	stride := len(sel)
	var vals []val
	var groups [][]int32
	after := slices.Clone(sel)
	for i := range n {
		if sel[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		tag, bits := c.Entry(int(i))
		v := val{tag: tag}
		switch tag {
		case abi.TagStr, abi.TagBytes:
			v.s = string(c.Data(bits))
		case abi.TagInt, abi.TagDouble, abi.TagBool:
			v.bits = bits
		default:
			continue
		}
		k := slices.Index(vals, v)
		if k < 0 {
			if len(vals) == capacity {
				continue
			}
			vals, groups = append(vals, v), append(groups, nil)
			k = len(vals) - 1
		}
		groups[k] = append(groups[k], i)
		after[i/8] &^= 1 << (i % 8)
	}
	for i := int(n); i < 8*stride; i++ { // "clears ... its bits past n"
		after[i/8] &^= 1 << (i % 8)
	}
	out := make([]byte, 0, len(vals)*stride)
	w := abi.NewColumnWriter(nil, len(vals))
	for k, v := range vals {
		out = append(out, bitmapOf(groups[k], stride)...)
		w.Entry(v.tag, v.bits, v.s)
	}
	return int32(len(vals)), after, out, w.Bytes()
}

// TestGroupAgreesWithTheABI: on random batches, selections, strides and
// capacities, group answers what ABI.md describes, read from the field's
// column: the groups in order of first appearance, the items left in sel
// and no bit past n, no byte of out past the k bitmaps written, and the
// values as a column.
func TestGroupAgreesWithTheABI(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	type fk struct {
		table, field int32
		key          string
	}
	fields := []fk{
		{abi.TableSpan, abi.FieldName, ""}, {abi.TableSpan, abi.FieldKind, ""}, {abi.TableSpan, abi.FieldResource, ""},
		{abi.TableSpan, abi.FieldStatusCode, ""}, {abi.TableSpan, abi.FieldParentSpanID, ""}, {abi.TableSpan, abi.FieldTraceState, ""},
		{abi.TableSpan, abi.FieldStatusMessage, ""}, {abi.TableSpan, abi.FieldFlags, ""}, {abi.TableSpan, abi.FieldTraceID, ""},
		{abi.TableEvent, abi.FieldName, ""}, {abi.TableResource, abi.FieldAttr, "service.name"},
	}
	for _, table := range []int32{abi.TableSpan, abi.TableEvent, abi.TableResource, abi.TableScope, abi.TableLink} {
		for k := range 5 {
			fields = append(fields, fk{table, abi.FieldAttr, fmt.Sprintf("k%d", k)})
		}
	}
	const sel, out, key = 4096, 8192, 100
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 7))
		st := newState(1 << 20)
		st.t.traces = benchdata.RandomTraces(seed, 20+r.IntN(60))
		for _, f := range fields {
			n := st.t.count(f.table)
			stride := int(selectionLen(n)) + r.IntN(3)
			if stride == 0 {
				stride = 1
			}
			bitmap := make([]byte, stride)
			for i := range bitmap {
				bitmap[i] = byte(r.Uint32()) | byte(r.Uint32())
			}
			outLen := stride*(1+r.IntN(6)) + r.IntN(stride)
			capacity := min(outLen/stride, abi.MaxKernelArgs)
			junk := bytes.Repeat([]byte{0xA5}, outLen+16)
			mem.Write(sel, bitmap)
			mem.Write(out, junk)
			mem.Write(key, []byte(f.key))
			wantK, wantSel, wantOut, wantRes := groupModel(t, st, f.table, f.field, f.key, bitmap, capacity)
			what := fmt.Sprintf("seed %d table %d field %d %q (n %d, stride %d, capacity %d, sel %x)", seed, f.table, f.field, f.key, n, stride, capacity, bitmap)
			k := call(st, hostGroup, uint64(f.table), uint64(f.field), key, uint64(len(f.key)), sel, uint64(stride), out, uint64(outLen))
			if k != wantK {
				t.Fatalf("%s: %d groups, want %d", what, k, wantK)
			}
			if b, _ := mem.Read(sel, uint32(stride)); !bytes.Equal(b, wantSel) {
				t.Errorf("%s: sel left %x, want %x", what, b, wantSel)
			}
			b, _ := mem.Read(out, uint32(outLen+16))
			if !bytes.Equal(b[:len(wantOut)], wantOut) {
				t.Errorf("%s: bitmaps %x, want %x", what, b[:len(wantOut)], wantOut)
			}
			if !bytes.Equal(b[len(wantOut):], junk[len(wantOut):]) {
				t.Errorf("%s: wrote out past its %d bitmaps", what, k)
			}
			if !bytes.Equal(st.result, wantRes) {
				t.Errorf("%s: result %x, want %x", what, st.result, wantRes)
			}
		}
	}
}

// TestGroupOddValues: values that compare oddly group as the column
// tells them apart: Str "" apart from absent and Empty, empty Bytes
// apart from Str "", NaNs by their bits, -0 apart from 0, Int 1 apart
// from Double 1; maps and arrays stay in sel.
func TestGroupOddValues(t *testing.T) {
	nan2 := math.Float64frombits(0x7ff8000000000001)
	set := []func(m pcommon.Map){
		func(m pcommon.Map) { m.PutStr("v", "") },
		func(m pcommon.Map) {},
		func(m pcommon.Map) { m.PutEmpty("v") },
		func(m pcommon.Map) { m.PutEmptyBytes("v") },
		func(m pcommon.Map) { m.PutEmptyBytes("v").FromRaw([]byte("a")) },
		func(m pcommon.Map) { m.PutStr("v", "a") },
		func(m pcommon.Map) { m.PutInt("v", 1) },
		func(m pcommon.Map) { m.PutDouble("v", 1) },
		func(m pcommon.Map) { m.PutDouble("v", math.NaN()) },
		func(m pcommon.Map) { m.PutDouble("v", nan2) },
		func(m pcommon.Map) { m.PutDouble("v", math.Copysign(0, -1)) },
		func(m pcommon.Map) { m.PutDouble("v", 0) },
		func(m pcommon.Map) { m.PutBool("v", true) },
		func(m pcommon.Map) { m.PutBool("v", false) },
		func(m pcommon.Map) { m.PutEmptyMap("v").PutStr("a", "b") },
		func(m pcommon.Map) { m.PutEmptySlice("v").AppendEmpty().SetStr("a") },
		func(m pcommon.Map) { m.PutDouble("v", math.NaN()) },
		func(m pcommon.Map) { m.PutStr("v", "") },
		func(m pcommon.Map) { m.PutEmptyBytes("v") },
	}
	groupAgreesWithModel(t, set, []string{"", "a"}, [][]byte{{0xFF, 0xFF, 0xFF, 0xFF}})
}

// groupAgreesWithModel makes a span per setter of set, each giving its
// attribute "v" a value or none, named by names in turn, and checks that
// group by "v" and by name answers as groupModel does on each bitmap of
// four bytes (at most 32 spans).
func groupAgreesWithModel(t *testing.T, set []func(pcommon.Map), names []string, bitmaps [][]byte) {
	t.Helper()
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i, f := range set {
		s := spans.AppendEmpty()
		s.SetName(names[i%len(names)])
		f(s.Attributes())
	}
	const sel, out, key = 4096, 8192, 100
	mem.Write(key, []byte("v"))
	for _, field := range []int32{abi.FieldAttr, abi.FieldName} {
		for _, bitmap := range bitmaps {
			st := newState(1 << 20)
			st.t.traces = td
			mem.Write(sel, bitmap)
			wantK, wantSel, wantOut, wantRes := groupModel(t, st, abi.TableSpan, field, "v", bitmap, 64)
			k := call(st, hostGroup, abi.TableSpan, uint64(field), key, 1, sel, 4, out, 256)
			if k != wantK {
				t.Fatalf("field %d, sel %x: %d groups, want %d", field, bitmap, k, wantK)
			}
			b, _ := mem.Read(sel, 4)
			o, _ := mem.Read(out, uint32(len(wantOut)))
			if !bytes.Equal(b, wantSel) || !bytes.Equal(o, wantOut) || !bytes.Equal(st.result, wantRes) {
				t.Errorf("field %d: sel %x bitmaps %x result %x, want %x %x %x", field, b, o, st.result, wantSel, wantOut, wantRes)
			}
		}
	}
}

// TestGroupOverlappingArguments: sel, out and key may overlap in any
// way; group stays inside them and answers as many groups as apart.
func TestGroupOverlappingArguments(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	st := newState(1 << 20)
	const base = 4096
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		stride := 7 + r.IntN(3)
		selAt := base + r.IntN(64)
		outAt := base + r.IntN(64)
		outLen := r.IntN(80)
		keyAt := base + r.IntN(64)
		field := []int32{abi.FieldName, abi.FieldAttr, abi.FieldKind, abi.FieldTraceID}[r.IntN(4)]
		area := make([]byte, 256)
		for i := range area {
			area[i] = byte(r.Uint32())
		}
		copy(area[keyAt-base:], "k1")
		mem.Write(base-64, make([]byte, 64))
		mem.Write(base, area)
		mem.Write(base+256, make([]byte, 64))
		k := call(st, hostGroup, abi.TableSpan, uint64(field), uint64(keyAt), 2, uint64(selAt), uint64(stride), uint64(outAt), uint64(outLen))
		if k > int32(max(outLen/stride, 0)) {
			t.Fatalf("%d groups with room for %d", k, outLen/stride)
		}
		lo, hi := min(selAt, outAt), max(selAt+stride, outAt+outLen)
		b, _ := mem.Read(base-64, 256+128)
		for i, c := range b {
			at := base - 64 + i
			if (at < lo || at >= hi) && ((at >= base && at < base+256 && c != area[at-base]) || ((at < base || at >= base+256) && c != 0)) {
				t.Fatalf("group (sel %d+%d, out %d+%d) wrote byte %d", selAt, stride, outAt, outLen, at)
			}
		}
	}
}

// TestGroupContinues: a guest that takes its groups a few at a time,
// passing back the selection each call left, gets exactly the groups one
// call with room for all would give, in order, while the host reads each
// item once: d distinct values cost one pass, not d/capacity passes. A
// selection changed between calls is grouped afresh.
func TestGroupContinues(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	r := rand.New(rand.NewPCG(3, 4))
	const n = 300
	withV := 0
	for i := range n {
		s := spans.AppendEmpty()
		s.SetName(fmt.Sprintf("n%d", r.IntN(200)))
		if i%7 != 0 {
			s.Attributes().PutInt("v", int64(r.IntN(150)))
			withV++
		}
	}
	const sel, out, key, room = 4096, 8192, 100, 3
	stride := int(selectionLen(n))
	all := bytes.Repeat([]byte{0xFF}, stride)
	all[stride-1] = 1<<(n%8) - 1
	mem.Write(key, []byte("v"))
	// entries is a column's entries as text, a value each.
	entries := func(col []byte, k int) []string {
		c := abi.Column(col)
		var e []string
		for j := range k {
			tag, bits := c.Entry(j)
			if tag == abi.TagStr || tag == abi.TagBytes {
				e = append(e, fmt.Sprintf("%d:%q", tag, c.Data(bits)))
			} else {
				e = append(e, fmt.Sprintf("%d:%d", tag, bits))
			}
		}
		return e
	}
	for _, field := range []int32{abi.FieldName, abi.FieldAttr} {
		st := newState(1 << 20)
		st.t.traces = td
		wantK, wantSel, wantOut, wantRes := groupModel(t, st, abi.TableSpan, field, "v", all, n)
		var gotOut []byte
		var got []string
		mem.Write(sel, all)
		for calls := 0; ; calls++ {
			if calls == 5 { // the same bits written anew: still a continuation
				b, _ := mem.Read(sel, uint32(stride))
				mem.Write(sel, append([]byte(nil), b...))
			}
			k := call(st, hostGroup, abi.TableSpan, uint64(field), key, 1, sel, uint64(stride), out, room*uint64(stride))
			if k < 0 || calls > n {
				t.Fatalf("field %d: call %d answered %d", field, calls, k)
			}
			o, _ := mem.Read(out, uint32(int(k)*stride))
			gotOut = append(gotOut, o...)
			got = append(got, entries(st.result, int(k))...)
			if k < room {
				break
			}
		}
		if want := entries(wantRes, int(wantK)); !slices.Equal(got, want) {
			t.Errorf("field %d: values %v, want %v", field, got, want)
		}
		if !bytes.Equal(gotOut, wantOut) {
			t.Errorf("field %d: the groups' bitmaps differ from one call's", field)
		}
		if b, _ := mem.Read(sel, uint32(stride)); !bytes.Equal(b, wantSel) {
			t.Errorf("field %d: sel left %x, want %x", field, b, wantSel)
		}
		if st.t.grp.reads != n { // every item, once
			t.Errorf("field %d: read %d items for %d groups of %d items (%d with v)", field, st.t.grp.reads, wantK, n, withV)
		}
		// Another selection, here the whole table again, is grouped
		// afresh: its first groups, not the next.
		mem.Write(sel, all)
		k := call(st, hostGroup, abi.TableSpan, uint64(field), key, 1, sel, uint64(stride), out, room*uint64(stride))
		o, _ := mem.Read(out, uint32(int(k)*stride))
		if k != room || !bytes.Equal(o, wantOut[:room*stride]) || !slices.Equal(entries(st.result, room), entries(wantRes, room)) {
			t.Errorf("field %d: a new selection got %d groups, not the first %d", field, k, room)
		}
		if st.t.grp.reads != 2*n {
			t.Errorf("field %d: a new selection read %d items, want %d", field, st.t.grp.reads-n, n)
		}
	}
}
