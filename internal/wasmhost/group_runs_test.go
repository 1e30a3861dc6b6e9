// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"math"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// TestGroupRuns: group finds an item's value among the recent ones,
// compared in a slot picked by its length and end bytes, before it hashes
// it. Runs of equal values broken by items with no value, by the same
// content under another tag (Str and Bytes, which share a slot), by -0 and
// 0 and by NaNs of other payloads must group exactly as the model of
// ABI.md does, on full and sparse selections.
func TestGroupRuns(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	nan2 := math.Float64frombits(0x7ff8000000000001)
	str := func(s string) func(m pcommon.Map) { return func(m pcommon.Map) { m.PutStr("v", s) } }
	byt := func(s string) func(m pcommon.Map) {
		return func(m pcommon.Map) { m.PutEmptyBytes("v").FromRaw([]byte(s)) }
	}
	dbl := func(f float64) func(m pcommon.Map) { return func(m pcommon.Map) { m.PutDouble("v", f) } }
	none := func(m pcommon.Map) {}
	set := []func(m pcommon.Map){
		str("a"), str("a"), none, str("a"), byt("a"), byt("a"), none, byt("a"), str("a"),
		byt(""), str(""), str(""), byt(""), none, none,
		dbl(math.NaN()), dbl(nan2), dbl(nan2), dbl(math.NaN()), dbl(math.Copysign(0, -1)), dbl(0), dbl(0), dbl(math.Copysign(0, -1)),
		func(m pcommon.Map) { m.PutInt("v", 0) }, func(m pcommon.Map) { m.PutBool("v", false) }, func(m pcommon.Map) { m.PutBool("v", false) },
		str("b"), str("b"), str("a"),
	}
	names := []string{"x", "x", "x", "y", "y", "", "", "y", "x", "x"}
	for i, f := range set {
		s := spans.AppendEmpty()
		s.SetName(names[i%len(names)])
		f(s.Attributes())
	}
	const sel, out, key = 4096, 8192, 100
	mem.Write(key, []byte("v"))
	for _, field := range []int32{abi.FieldAttr, abi.FieldName} {
		for _, bitmap := range [][]byte{{0xFF, 0xFF, 0xFF, 0xFF}, {0xB7, 0x6D, 0xDB, 0xFE}} {
			st := newState(1 << 20)
			st.t.traces = td
			mem.Write(sel, bitmap)
			wantK, wantSel, wantOut, wantRes := groupModel(t, st, abi.TableSpan, field, "v", bitmap, 64)
			k := call(st, hostGroup, abi.TableSpan, uint64(field), key, 1, sel, 4, out, 256)
			if k != wantK {
				t.Fatalf("field %d: %d groups, want %d", field, k, wantK)
			}
			b, _ := mem.Read(sel, 4)
			o, _ := mem.Read(out, uint32(len(wantOut)))
			if !bytes.Equal(b, wantSel) || !bytes.Equal(o, wantOut) || !bytes.Equal(st.result, wantRes) {
				t.Errorf("field %d: sel %x bitmaps %x result %x, want %x %x %x", field, b, o, st.result, wantSel, wantOut, wantRes)
			}
		}
	}
}

// TestGroupBuildsTheNameViewOnce: a group of span names, or of kinds,
// made before any select of names builds the call's name view, which the
// next group and select then use. group once built it on a copy of the
// call's tables and lost it, so that each such group read every span's
// name again: 80–160 µs a call on 1,000 spans where 5 µs do.
func TestGroupBuildsTheNameViewOnce(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	for _, field := range []int32{abi.FieldName, abi.FieldKind} {
		st := newState(1 << 20)
		n := st.t.count(abi.TableSpan)
		const sel, out = 4096, 8192
		all := make([]byte, (n+7)/8)
		for i := range n {
			all[i/8] |= 1 << (i % 8)
		}
		mod.Memory().Write(sel, all)
		if k := call(st, hostGroup, abi.TableSpan, uint64(field), 0, 0, sel, uint64(len(all)), out, 256*uint64(len(all))); k <= 0 {
			t.Fatalf("field %d: group answered %d", field, k)
		}
		if !st.t.spanNames.built {
			t.Errorf("field %d: the call's name view is not built after a group", field)
		}
	}
}
