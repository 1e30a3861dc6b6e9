// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// TestApplyReservesByKeysNotEdits: 200,000 SetAttr of one key on one span
// add one attribute; the room reserved for new attributes must not grow
// with the number of edits (it once pinned 32 bytes per edit).
func TestApplyReservesByKeysNotEdits(t *testing.T) {
	var ops []byte
	for range 200_000 {
		ops = abi.AppendEditHeader(ops, abi.OpSetAttr, abi.TableSpan, 0)
		ops = abi.AppendIntValue(abi.AppendStr(ops, "same"), 1)
	}
	var tb tables
	tb.reset(abi.SignalTraces)
	tb.traces = benchdata.RandomTraces(1, 10)
	ed := editor{t: &tb}
	span := tb.traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	before := span.Attributes().Len()

	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if err := ed.apply(ops); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m1)
	if got := span.Attributes().Len(); got != before+1 {
		t.Fatalf("span 0 has %d attributes, want %d", got, before+1)
	}
	// The edit list is 4 MB. Applying it allocates about 2.3 MiB of
	// short-lived garbage (12 bytes an edit); a reservation per edit added
	// 7.8 MiB more, held by the span (10 MiB in all).
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 4<<20 {
		t.Errorf("applying the edits allocated %d KiB", alloc>>10)
	}
}

// TestEditsLeaveOneCopyOfAKey: a client may send a key twice; pdata keeps
// both and edits only the first. Deleting, setting or renaming a key must
// not leave a second copy of it to be exported (a redacting filter's
// DeleteAttr("secret") left secret=hunter3). Keys the edit does not name
// stay as they came.
func TestEditsLeaveOneCopyOfAKey(t *testing.T) {
	for name, tc := range map[string]struct {
		op   []byte
		want []string
	}{
		"delete": {abi.AppendStr(abi.AppendEditHeader(nil, abi.OpDeleteAttr, abi.TableSpan, 0), "secret"),
			[]string{"other=o2", "other=o"}}, // pdata moves the last attribute into the hole
		"set": {abi.AppendStrValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), "secret"), "***"),
			[]string{"secret=***", "other=o", "other=o2"}},
		"rename": {abi.AppendStr(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpRenameAttr, abi.TableSpan, 0), "secret"), "other"),
			[]string{"other=hunter2"}},
	} {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"s",
		  "attributes":[{"key":"secret","value":{"stringValue":"hunter2"}},{"key":"other","value":{"stringValue":"o"}},
		  {"key":"secret","value":{"stringValue":"hunter3"}},{"key":"other","value":{"stringValue":"o2"}}]}]}]}]}`))
		require.NoError(t, err)
		attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
		require.Equal(t, 4, attrs.Len(), "the keys are repeated")
		var tb tables
		tb.reset(abi.SignalTraces)
		tb.traces = td
		e := editor{t: &tb}
		require.NoError(t, e.apply(tc.op), name)
		var got []string
		for k, v := range attrs.All() {
			got = append(got, k+"="+v.AsString())
		}
		require.Equal(t, tc.want, got, name)
	}
}

// TestQuickWorkEstimate: validate charges each attribute edit the scan of
// its item's own attributes plus the keys earlier edits of the item and
// this one may have added, by its key's compareCost, three times, as
// exactWork counts a scan. It reads each item's own
// attributes once, after the walk, not at every edit; the sum must be
// the per-edit one all the same.
func TestQuickWorkEstimate(t *testing.T) {
	long := "a.key.longer.than.thirty.two.bytes.x" // compareCost 3
	var ops []byte
	set := func(span uint32, key string) {
		ops = abi.AppendEditHeader(ops, abi.OpSetAttr, abi.TableSpan, span)
		ops = abi.AppendIntValue(abi.AppendStr(ops, key), 1)
	}
	set(0, "k1")
	set(1, long)
	set(0, long)
	ops = abi.AppendStr(abi.AppendEditHeader(ops, abi.OpDeleteAttr, abi.TableSpan, 0), "k1")
	var tb tables
	tb.reset(abi.SignalTraces)
	tb.traces = benchdata.RandomTraces(2, 10)
	spans := tb.traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	if spans.Len() < 2 {
		t.Fatalf("the batch has %d spans in its first scope, want 2", spans.Len())
	}
	n0, n1 := spans.At(0).Attributes().Len(), spans.At(1).Attributes().Len()
	ed := editor{t: &tb}
	require.NoError(t, ed.validate(ops))
	want := 3*(n0+0+1)*1 + 3*(n1+0+1)*3 + 3*(n0+1+1)*3 + 3*(n0+2+1)*1
	require.Equal(t, want, ed.work)
}

// TestQuickWorkEstimateRandom holds the estimate to its per-edit
// definition on random lists of sets, deletes and renames over spans,
// events and resources, keys of every cost.
func TestQuickWorkEstimateRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var tb tables
		tb.reset(abi.SignalTraces)
		tb.traces = benchdata.RandomTraces(3, 20)
		ed := editor{t: &tb}
		var ops []byte
		want := 0
		earlier := map[[2]int32]int{} // edits on each item so far
		for k := rng.IntN(300); k > 0; k-- {
			table := []int32{abi.TableSpan, abi.TableResource, abi.TableEvent}[rng.IntN(3)]
			n := tb.count(table)
			if n <= 0 {
				continue
			}
			i := int32(rng.IntN(int(n)))
			key := strings.Repeat("k", rng.IntN(100))
			own := tb.attrs(table, i).Len()
			charge := func(key string) {
				c := earlier[[2]int32{table, i}]
				want += 3 * (own + c + 1) * compareCost(len(key))
				earlier[[2]int32{table, i}] = c + 1
			}
			switch rng.IntN(3) {
			case 0:
				ops = abi.AppendEditHeader(ops, abi.OpSetAttr, uint8(table), uint32(i))
				ops = abi.AppendIntValue(abi.AppendStr(ops, key), 1)
				charge(key)
			case 1:
				ops = abi.AppendStr(abi.AppendEditHeader(ops, abi.OpDeleteAttr, uint8(table), uint32(i)), key)
				charge(key)
			case 2:
				ops = abi.AppendStr(abi.AppendStr(abi.AppendEditHeader(ops, abi.OpRenameAttr, uint8(table), uint32(i)), key), key+"x")
				charge(key)
				charge(key + "x")
			}
		}
		require.NoError(t, ed.validate(ops))
		require.Equal(t, want, ed.work, "round %d", round)
		// Validation accepts on the estimate alone when it is low enough:
		// it must never be under the exact recount.
		require.GreaterOrEqual(t, ed.work, ed.exactWork(ops), "round %d", round)
		ed.commit(ops)
		ed.reset()
		require.Zero(t, ed.reserved, "round %d: reset leaves no reservation counted", round)
	}
}

// TestEditorCountsNotKept: the editor's counts per item (edits, keys that
// may be added, key costs) of one huge batch go when the call ends, past
// what the instance keeps as the index's slices do (keeper), rather than
// stay with the idle instance: 4 bytes an item each, 12 MiB for 1,000,000
// spans.
func TestEditorCountsNotKept(t *testing.T) {
	st := &callState{limits: limits{maxEdits: 1 << 30, keep: 1 << 20}, guard: newGuard(StackLimit)}
	st.begin(abi.SignalTraces)
	const n = 1<<20/4 + 1 // one past what keep lets a slice of int32 hold
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	for range n {
		spans.AppendEmpty()
	}
	st.t.traces = td
	ops := abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, n-1)
	ops = abi.AppendIntValue(abi.AppendStr(ops, "k"), 1)
	require.NoError(t, st.ed.apply(ops))
	require.GreaterOrEqual(t, cap(st.ed.attrOps[abi.TableSpan]), n, "the batch's counts were made")
	st.end()
	for name, c := range map[string]int{"edits": cap(st.ed.attrOps[abi.TableSpan]), "adds": cap(st.ed.adds[abi.TableSpan]),
		"costs": cap(st.ed.costs[abi.TableSpan])} {
		if c >= n {
			t.Errorf("the idle instance keeps the %s of %d spans", name, c)
		}
	}
}

// TestInternedKeysNotKept: the strings interned for a call's edits go
// with it when there are many, rather than stay with the idle instance.
func TestInternedKeysNotKept(t *testing.T) {
	st := &callState{limits: limits{maxEdits: 1 << 30, keep: 1 << 20}, guard: newGuard(StackLimit)}
	st.begin(abi.SignalTraces)
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	st.t.traces = td
	var ops []byte
	for i := range 1000 {
		ops = abi.AppendEditHeader(ops, abi.OpSetAttr, abi.TableSpan, 0)
		ops = abi.AppendIntValue(abi.AppendStr(ops, fmt.Sprintf("key-%060d", i)), 1)
	}
	require.NoError(t, st.ed.apply(ops))
	require.Greater(t, len(st.ed.strs.m), internKept, "the call interned its keys")
	st.end()
	require.LessOrEqual(t, len(st.ed.strs.m), internKept, "the idle instance keeps them")
}

// TestQuickEstimateIsNotUnderTheRecount: validation accepts a list on its
// quick estimate alone, so that estimate must never be under the exact
// recount. 80 distinct keys set on each of 4,096 bare spans cost 39.8
// million comparisons by the recount, past MaxApplyWork; the quick
// estimate counted 25.9 million, and the list was accepted.
func TestQuickEstimateIsNotUnderTheRecount(t *testing.T) {
	const spans, keys = 4096, 80
	bare := ptrace.NewTraces()
	ss := bare.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range spans {
		ss.AppendEmpty()
	}
	var ops []byte
	for i := range spans {
		for k := range keys {
			ops = abi.AppendEditHeader(ops, abi.OpSetAttr, abi.TableSpan, uint32(i))
			ops = abi.AppendIntValue(abi.AppendStr(ops, fmt.Sprintf("k%02d", k)), 1)
		}
	}
	var tb tables
	tb.reset(abi.SignalTraces)
	tb.traces = bare
	ed := editor{t: &tb}
	err := ed.apply(ops)
	require.ErrorContains(t, err, "attribute comparisons, more than")
	require.GreaterOrEqual(t, ed.work, ed.exactWork(ops), "the quick estimate is under the recount")
	require.Zero(t, ss.At(spans-1).Attributes().Len(), "a refused list was applied")
}

// BenchmarkValidateRecords validates what knative-hops stages on a batch
// of 1,000 spans, in kind and number: 25 SetAttr records from
// edit_where, of 125 spans each.
func BenchmarkValidateRecords(b *testing.B) {
	var tb tables
	tb.reset(abi.SignalTraces)
	tb.traces = benchdata.RandomTraces(1, 1000)
	n := tb.count(abi.TableSpan)
	ed := editor{t: &tb}
	var ops []byte
	var records []int
	for r := range 25 {
		op := abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0)
		op = abi.AppendStrValue(abi.AppendStr(op, "knative.hop"), "ingress")
		sel := make([]byte, (n+7)/8)
		for i := r % 8; i < int(n); i += 8 {
			sel[i/8] |= 1 << (i % 8)
		}
		records = append(records, len(ops))
		ops = binary.LittleEndian.AppendUint32(ops, uint32(len(op)))
		ops = append(ops, op...)
		ops = binary.LittleEndian.AppendUint32(ops, uint32(len(sel)))
		ops = append(ops, sel...)
	}
	for b.Loop() {
		ed.reset()
		ed.whereAt = append(ed.whereAt, records...)
		if err := ed.validate(ops); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDropChargesThePass: applying one drop makes a pass over the whole
// batch (removeDropped), 35 ms for a million metrics with a point each,
// which counting the drop as one edit left out of the time reckoning.
// One drop among 200,000 spans, with 3 ms left, is refused; with a
// second left, it is accepted.
func TestDropChargesThePass(t *testing.T) {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range 200_000 {
		spans.AppendEmpty()
	}
	drop := abi.AppendEditHeader(nil, abi.OpDrop, abi.TableSpan, 7)
	for _, tc := range []struct {
		left time.Duration
		want error
	}{{3 * time.Millisecond, errApplyDeadline}, {time.Second, nil}} {
		var tb tables
		tb.reset(abi.SignalTraces)
		tb.traces = td
		tb.count(abi.TableSpan) // the index, built before the clock starts
		ed := editor{t: &tb, guard: newGuard(StackLimit)}
		ed.guard.arm(phaseCall, tc.left)
		require.ErrorIs(t, ed.validate(drop), tc.want, "%s left", tc.left)
		if tc.want == nil {
			require.Equal(t, 200_000, td.SpanCount(), "validation dropped a span")
		}
	}
}
