// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// TestColumnLimitHoldsAsBuilt: a column is refused as it passes its limit,
// having cost at most about twice the limit to build (room grows by
// doubling), not once it is whole: 50,000 spans of four attributes each
// make a 5.8 MB attribute column, which cost 10 MB of allocations to build
// before it was refused against a 2 MiB limit.
func TestColumnLimitHoldsAsBuilt(t *testing.T) {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range 50_000 {
		a := spans.AppendEmpty().Attributes()
		for _, k := range []string{"a", "b", "c", "d"} {
			a.PutEmpty(k)
		}
	}
	var tb tables
	tb.reset(abi.SignalTraces)
	tb.traces = td
	require.EqualValues(t, 50_000, tb.count(abi.TableSpan), "the index, built before measuring")

	whole, rc := tb.build1(nil, abi.TableSpan, abi.FieldAttrs, "")
	require.Zero(t, rc)
	require.Greater(t, len(whole), 5<<20, "without a limit")

	const limit = 2 << 20
	tb.maxColumn = limit
	var col []byte
	got := allocated(func() { col, rc = tb.build1(nil, abi.TableSpan, abi.FieldAttrs, "") })
	require.EqualValues(t, abi.ErrTooLarge, rc)
	require.LessOrEqual(t, len(col), limit)
	require.LessOrEqual(t, got, uint64(2*limit+50_000*abi.EntrySize))

	tb.maxColumn = len(whole)
	same, rc := tb.build1(nil, abi.TableSpan, abi.FieldAttrs, "")
	require.Zero(t, rc, "a column exactly at its limit")
	require.Equal(t, whole, same)
}

// TestRefusedColumnNotKept: a column refused part way was built into a
// buffer that may have grown up to the limit, with what it took of the
// budget given back: the call state must not keep that buffer, counted
// by nothing, for the rest of the call (eight instances doing so held 160
// MiB against a 64 MiB budget).
func TestRefusedColumnNotKept(t *testing.T) {
	c := newSelectCaller(t)
	c.st.limits = limitsFor(1 << 20) // columns up to 512 KiB
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	big := strings.Repeat("x", 64<<10)
	for range 40 {
		spans.AppendEmpty().Attributes().PutStr("k", big)
	}
	c.batch(td)
	c.mod.Memory().Write(0, []byte("k"))
	stack := []uint64{abi.TableSpan, abi.FieldAttr, 0, 1}
	inBatch(hostColumn)(c.call, c.mod, stack)
	require.EqualValues(t, abi.ErrTooLarge, api.DecodeI32(stack[0]))
	held := c.st.held
	c.st.settle()
	require.Equal(t, held, c.st.held, "every buffer the call state keeps is counted")
	require.Equal(t, c.st.held, c.st.shared.mem.used.Load())
}
