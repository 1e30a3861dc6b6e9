// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// TestGroupContinuesAfterOverlap: a call whose out overlaps its sel
// leaves in sel what the host's own writes made of it, not the items of
// the groups still to come. A call passing that back answers what a
// fresh call on it would (groupModel), not the kept grouping's next
// groups: here out's second bitmap is sel, so the first call leaves sel
// empty, and a continuation handed out groups of items no longer
// selected.
func TestGroupContinuesAfterOverlap(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	const base, sel2, out2, key = 4096, 20000, 24000, 100
	mem.Write(key, []byte("k1"))
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 3000 {
		st := newState(1 << 20)
		n := st.t.count(abi.TableSpan)
		stride := int(selectionLen(n)) + r.IntN(3)
		field := []int32{abi.FieldName, abi.FieldAttr, abi.FieldKind, abi.FieldTraceID, abi.FieldStatusMessage}[r.IntN(5)]
		var selAt, outAt, outLen int
		if round == 0 { // out's second bitmap is sel
			field, outAt, outLen = abi.FieldName, base, 2*stride
			selAt = base + stride
		} else {
			selAt, outAt = base+r.IntN(64), base+r.IntN(64)
			outLen = stride * (1 + r.IntN(4))
		}
		area := make([]byte, 256)
		for i := range area {
			area[i] = byte(r.Uint32()) | byte(r.Uint32())
		}
		mem.Write(base, area)
		k1 := call(st, hostGroup, abi.TableSpan, uint64(field), key, 2, uint64(selAt), uint64(stride), uint64(outAt), uint64(outLen))
		if k1 < 0 {
			t.Fatalf("round %d: first call %d", round, k1)
		}
		left, _ := mem.Read(uint32(selAt), uint32(stride))
		left = bytes.Clone(left)
		// The same sel, passed back away from out.
		mem.Write(sel2, left)
		capacity := 1 + r.IntN(4)
		k2 := call(st, hostGroup, abi.TableSpan, uint64(field), key, 2, sel2, uint64(stride), out2, uint64(capacity*stride))
		wantK, wantSel, wantOut, wantRes := groupModel(t, st, abi.TableSpan, field, "k1", left, capacity)
		what := fmt.Sprintf("round %d field %d (sel %d out %d+%d stride %d, first call %d groups, left %x)", round, field, selAt, outAt, outLen, stride, k1, left)
		if k2 != wantK {
			t.Fatalf("%s: continuation answered %d groups, a fresh call %d", what, k2, wantK)
		}
		b, _ := mem.Read(sel2, uint32(stride))
		o, _ := mem.Read(out2, uint32(len(wantOut)))
		if !bytes.Equal(b, wantSel) || !bytes.Equal(o, wantOut) || !bytes.Equal(st.result, wantRes) {
			t.Fatalf("%s: continuation sel %x out %x result %x, a fresh call %x %x %x", what, b, o, st.result, wantSel, wantOut, wantRes)
		}
	}
}

// TestGroupKeepsWithinTheBudget: the values group keeps for the batch
// are copies when read through a kernel column, and count against
// host_memory_limit as the column they come from does. Without that, a
// guest grouped 400 KB of distinct status messages, made a select drop
// every kernel column (a second large column past the result limit), and
// held the 400 KB copies outside the budget, on top of whatever the
// budget then let it build again.
func TestGroupKeepsWithinTheBudget(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	const sel, out = 4096, 8192
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	const n, size = 400, 1000
	for i := range n {
		s := spans.AppendEmpty()
		s.Status().SetMessage(fmt.Sprintf("%0*d", size, i))
		s.SetName(fmt.Sprintf("%0*d", size, i))
		s.TraceState().FromRaw(fmt.Sprintf("%0*d", size, i))
	}
	st := newState(1 << 20)
	st.shared.mem.limit = 4 << 20
	st.limits.maxResult = 512 << 10
	st.t.traces = td
	stride := int(selectionLen(n))
	mem.Write(sel, bytes.Repeat([]byte{0xFF}, stride))
	k := call(st, hostGroup, abi.TableSpan, abi.FieldStatusMessage, 0, 0, sel, uint64(stride), out, uint64(4*stride))
	if k != 4 {
		t.Fatalf("group: %d", k)
	}
	// A select on TraceState: its column and the status messages' pass
	// the result limit together, and every kernel column is dropped.
	mem.Write(200, abi.AppendU32(nil, 0))
	if rc := call(st, hostSelect, abi.TableSpan, abi.FieldTraceState, 0, 0, abi.MatchPresent, 200, 4, 20000, uint64(stride)); rc != abi.ErrTooLarge {
		t.Fatalf("select: %d, want ErrTooLarge", rc)
	}
	if st.t.kernelBytes() != 0 {
		t.Fatalf("kernel columns kept: %d bytes", st.t.kernelBytes())
	}
	kept := 0
	for _, v := range st.t.grp.vals {
		kept += len(v.s)
	}
	if kept < n*size {
		t.Fatalf("group keeps %d bytes of values, want at least %d", kept, n*size)
	}
	st.settle()
	if used := st.shared.mem.used.Load(); used < int64(kept) {
		t.Errorf("group keeps %d bytes of copied values, the budget counts %d", kept, used)
	}
	// And gives them back with the batch.
	st.end()
	if used := st.shared.mem.used.Load(); used != 0 {
		t.Errorf("after the batch the budget still counts %d", used)
	}
}

// TestGroupContinuesAcrossColumnRebuilds: a grouping read through the
// last kernel column slot, continued after selects rebuilt that slot with
// other fields, still answers the values a fresh call would: the values
// it kept are its own copies, not views of the rebuilt buffer.
func TestGroupContinuesAcrossColumnRebuilds(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	const sel, out, list, keys, scratch = 4096, 8192, 200, 300, 20000
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	const n = 120
	for i := range n {
		s := spans.AppendEmpty()
		s.Status().SetMessage(fmt.Sprintf("message-%03d-%s", i%40, bytes.Repeat([]byte{'m'}, i%7)))
		s.TraceState().FromRaw(fmt.Sprintf("ts=%03d", i))
		for k := range 24 {
			s.Attributes().PutStr(fmt.Sprintf("k%02d", k), fmt.Sprintf("value-%d-%d", k, i))
		}
	}
	mem.Write(list, abi.AppendU32(nil, 0))
	for k := range 24 {
		mem.Write(uint32(keys+4*k), []byte(fmt.Sprintf("k%02d", k)))
	}
	for _, field := range []int32{abi.FieldStatusMessage, abi.FieldTraceState} {
		st := newState(1 << 20)
		st.t.traces = td
		stride := int(selectionLen(n))
		all := bytes.Repeat([]byte{0xFF}, stride)
		// Fifteen columns first, so the group's is the last slot.
		for k := range 15 {
			if rc := call(st, hostSelect, abi.TableSpan, abi.FieldAttr, uint64(keys+4*k), 3, abi.MatchPresent, list, 4, scratch, uint64(stride)); rc < 0 {
				t.Fatalf("select k%02d: %d", k, rc)
			}
		}
		mem.Write(sel, all)
		const room = 3
		for calls := 0; ; calls++ {
			left, _ := mem.Read(sel, uint32(stride))
			left = bytes.Clone(left)
			wantK, wantSel, wantOut, wantRes := groupModel(t, st, abi.TableSpan, field, "", left, room)
			k := call(st, hostGroup, abi.TableSpan, uint64(field), 0, 0, sel, uint64(stride), out, room*uint64(stride))
			b, _ := mem.Read(sel, uint32(stride))
			o, _ := mem.Read(out, uint32(len(wantOut)))
			if k != wantK || !bytes.Equal(b, wantSel) || !bytes.Equal(o, wantOut) || !bytes.Equal(st.result, wantRes) {
				t.Fatalf("field %d call %d: %d groups, sel %x, result %x; a fresh call %d, %x, %x", field, calls, k, b, st.result, wantK, wantSel, wantRes)
			}
			if k < room {
				break
			}
			// Rebuild the last slot, twice, with other attributes.
			for _, kk := range []int{15 + calls%9, 15 + (calls+1)%9} {
				if rc := call(st, hostSelect, abi.TableSpan, abi.FieldAttr, uint64(keys+4*kk), 3, abi.MatchPresent, list, 4, scratch, uint64(stride)); rc < 0 {
					t.Fatalf("select k%02d: %d", kk, rc)
				}
			}
		}
		if st.t.grp.reads != n {
			t.Errorf("field %d: read %d items, want one pass of %d", field, st.t.grp.reads, n)
		}
	}
}

// TestGroupDoesNotContinueAcrossBatches: the selection a call left in
// one batch, passed back in the next, whether of the same size or not,
// is grouped afresh there, as a fresh instance would group it.
func TestGroupDoesNotContinueAcrossBatches(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	const sel, out = 4096, 8192
	for _, next := range []int{50, 53, 40} {
		st := newState(1 << 20)
		mem.Write(sel, bytes.Repeat([]byte{0xFF}, 7))
		if k := call(st, hostGroup, abi.TableSpan, abi.FieldName, 0, 0, sel, 7, out, 2*7); k != 2 {
			t.Fatalf("group: %d", k)
		}
		left, _ := mem.Read(sel, 7)
		left = bytes.Clone(left)
		st.end()
		st.begin(abi.SignalTraces)
		st.t.traces = benchdata.RandomTraces(9, next)
		stride := max(7, int(selectionLen(int32(next))))
		bitmap := append(bytes.Clone(left), make([]byte, stride-7)...)
		mem.Write(sel, bitmap)
		wantK, wantSel, wantOut, wantRes := groupModel(t, st, abi.TableSpan, abi.FieldName, "", bitmap, 2)
		k := call(st, hostGroup, abi.TableSpan, abi.FieldName, 0, 0, sel, uint64(stride), out, uint64(2*stride))
		b, _ := mem.Read(sel, uint32(stride))
		o, _ := mem.Read(out, uint32(len(wantOut)))
		if k != wantK || !bytes.Equal(b, wantSel) || !bytes.Equal(o, wantOut) || !bytes.Equal(st.result, wantRes) {
			t.Errorf("next batch of %d: %d groups, sel %x, result %x; a fresh call %d, %x, %x", next, k, b, st.result, wantK, wantSel, wantRes)
		}
	}
}

// TestGroupIdleKeepsLittle: after a batch of many distinct values the
// instance does not keep the values' slice for the next batch, as it
// does not keep the map of them: 100,000 distinct attribute values left
// 3.7 MB of it to every idle instance, outside the budget and above the
// share of it (keptFor) an idle instance keeps of its other buffers.
func TestGroupIdleKeepsLittle(t *testing.T) {
	_, newState, _ := kernelHarness(t)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	const n = 100000
	for i := range n {
		spans.AppendEmpty().Attributes().PutInt("v", int64(i))
	}
	st := newState(1 << 20)
	st.t.traces = td
	st.t.count(abi.TableSpan)
	sel := bytes.Repeat([]byte{0xFF}, int(selectionLen(n)))
	if rc := st.groupAll(abi.TableSpan, abi.FieldAttr, "v", sel, n); rc < 0 || len(st.t.grp.vals) != n {
		t.Fatalf("groupAll: %d, %d values", rc, len(st.t.grp.vals))
	}
	st.end()
	g := &st.t.grp
	if kept := cap(g.vals) * int(unsafe.Sizeof(groupKey{})); kept > 64<<10 || g.ids != nil {
		t.Errorf("an idle instance keeps %d bytes of values (and the map: %v)", kept, g.ids != nil)
	}
}
