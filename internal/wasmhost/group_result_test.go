// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestGroupResultFitsTheTimeLeft: group compared and hashed the values it
// files whole, checking the deadline only every 1,024 items, and wrote
// the values of the groups it delivers into a result grown by doubling
// as it was written, past what the budget was asked for. 256 spans whose
// attribute k holds distinct strings of about 480 KiB, grouped once a
// call: 41-319 ms a batch under a 5 ms timeout, 241 MiB allocated a batch
// (attack round 26).
func TestGroupResultFitsTheTimeLeft(t *testing.T) {
	const timeout = 5 * time.Millisecond
	guest := `(module
  (import "wasmcol" "group" (func $group (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "k")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l
      (memory.fill (i32.const 0) (i32.const 255) (i32.const 32))
      ;; group(Span, Attr, "k", sel 0 len 32, out 1024 len 8192)
      (drop (call $group (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 0) (i32.const 32) (i32.const 1024) (i32.const 8192)))
      (br $l))
    (i32.const 0)))`
	p, err := New(context.Background(), Options{Source: "group", Module: watModule(t, guest, false), PoolSize: 1, Timeout: timeout, HostMemoryMiB: 512})
	require.NoError(t, err)
	defer p.Close(context.Background())
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 256 {
		spans.AppendEmpty().Attributes().PutStr("k", strings.Repeat(string(rune('a'+i%26)), 480<<10-i))
	}
	worst := time.Duration(0)
	for range 5 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		began := time.Now()
		_, err := p.ProcessTraces(context.Background(), td)
		took := time.Since(began)
		runtime.ReadMemStats(&m1)
		worst = max(worst, took)
		t.Logf("%v, %.1f MiB allocated: %v", took, float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20), err)
	}
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}
