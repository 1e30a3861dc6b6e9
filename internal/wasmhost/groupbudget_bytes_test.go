// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestGroupBytesCopiesStayWithinTheBudget: group's attribute
// reader asked st.fits(n) before it copied a Bytes value, but fits weighs
// n against what is settled, and the grouping settles its copies
// (gr.copied) only every 1,024 items: every copy made since the last
// settle was missing from the check. With host_memory_limit at 16 MiB and
// a 1 s timeout (the default), 12 spans with distinct 8 MiB Bytes values
// were copied and kept, 96 MiB, six times the budget, before the settle
// refused them all (the review of attack round 26).
func TestGroupBytesCopiesStayWithinTheBudget(t *testing.T) {
	guest := `(module
  (import "wasmcol" "group" (func $group (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "fail" (func $fail (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "k")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (i32.store8 (i32.const 0) (i32.const 255))
    (i32.store8 (i32.const 1) (i32.const 255))
    ;; group(Span, Attr, "k", sel 0 len 2, out 64 len 64): its rc is the result
    (i32.store (i32.const 200) (call $group (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 64) (i32.const 64)))
    (i32.const 0)))`
	p, err := New(context.Background(), Options{Source: "groupbudget", Module: watModule(t, guest, false), PoolSize: 1,
		Timeout: time.Second, HostMemoryMiB: 16})
	require.NoError(t, err)
	defer p.Close(context.Background())
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 12 {
		raw := make([]byte, 8<<20)
		raw[0] = byte(i)
		spans.AppendEmpty().Attributes().PutEmptyBytes("k").FromRaw(raw)
	}
	worst := uint64(0)
	for range 3 {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		_, err := p.ProcessTraces(context.Background(), td)
		runtime.ReadMemStats(&m1)
		alloc := m1.TotalAlloc - m0.TotalAlloc
		worst = max(worst, alloc)
		t.Logf("%.1f MiB allocated: %v", float64(alloc)/(1<<20), err)
	}
	require.Less(t, worst, uint64(24<<20), "group copied %.0f MiB under a 16 MiB host_memory_limit", float64(worst)/(1<<20))
}
