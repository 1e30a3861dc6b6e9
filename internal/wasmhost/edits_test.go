// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"runtime"
	"testing"

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
