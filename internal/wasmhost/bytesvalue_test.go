// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestBytesAttributeCopiesFitTheTimeLeft: pdata gives a Bytes value only
// as a copy, and group made two of it for every item and a third to keep
// it, and select and refine one for every item under MatchEqual, in
// steps no check splits and no reckoning covered. One span with a 128 MiB
// Bytes attribute, each kernel called in a loop, under a 5 ms timeout:
// group 715-725 ms a batch cold and 28-32 warm, 384 MiB allocated;
// select and refine 8-12 ms, 128 MiB (attack round 26).
func TestBytesAttributeCopiesFitTheTimeLeft(t *testing.T) {
	const timeout = 5 * time.Millisecond
	calls := map[string]string{
		// group(Span, Attr, "k", sel 0 len 8, out 64 len 64)
		"group": `(call $group (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 0) (i32.const 8) (i32.const 64) (i32.const 64))`,
		// select(Span, Attr, "k", Equal, list at 200 (one Bytes "x"), out 0 len 8)
		"select": `(call $select (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 1) (i32.const 200) (i32.const 10) (i32.const 0) (i32.const 8))`,
		// refine, the same on sel 0
		"refine": `(call $refine (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 1) (i32.const 200) (i32.const 10) (i32.const 0) (i32.const 8))`,
	}
	td := ptrace.NewTraces()
	raw := make([]byte, 128<<20)
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes().PutEmptyBytes("k").FromRaw(raw)
	raw = nil
	for _, name := range []string{"group", "select", "refine"} {
		t.Run(name, func(t *testing.T) {
			guest := fmt.Sprintf(`(module
  (import "wasmcol" "select" (func $select (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "refine" (func $refine (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "group" (func $group (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "k")
  ;; a list of one value: count 1, Bytes (tag 5), length 1, "x"
  (data (i32.const 200) "\01\00\00\00\05\01\00\00\00x")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l
      (i64.store (i32.const 0) (i64.const -1))
      (drop %s)
      (br $l))
    (i32.const 0)))`, calls[name])
			p, err := New(context.Background(), Options{Source: name, Module: watModule(t, guest, false), PoolSize: 1, Timeout: timeout})
			require.NoError(t, err)
			defer p.Close(context.Background())
			worst := time.Duration(0)
			for range 4 {
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				began := time.Now()
				_, err := p.ProcessTraces(context.Background(), td)
				took := time.Since(began)
				runtime.ReadMemStats(&m1)
				worst = max(worst, took)
				t.Logf("%s: %v, %.0f MiB allocated: %v", name, took, float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20), err)
			}
			require.Less(t, worst, timeout+5*time.Millisecond, "%s: a batch took %v under a %v timeout", name, worst, timeout)
		})
	}
}
