// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestNameViewIsReckoned: the names of a call's spans or events, which
// selects and groups of names read, were gathered by append, each growth
// a copy no check splits: with 4 million events, a select of names asked
// late ran up to 80 ms past a 1 s timeout (attack round 27a). The view is
// now sized at once and reckoned first: asked with 300 ms left, where the
// view of 4 million names is reckoned at 448 ms, the select is refused.
func TestNameViewIsReckoned(t *testing.T) {
	const n = 4_000_000
	span := make([]byte, 0, 2*n)
	for range n {
		span = append(span, 11<<3|2, 0) // Span.events: an empty event
	}
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(pbLen(nil, 1, pbLen(nil, 2, pbLen(nil, 2, span))))
	require.NoError(t, err)
	span = nil
	const timeout = time.Second
	guest := fmt.Sprintf(`(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "select" (func $select (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 10)
  (func $now (result i64) (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 1000))) (i64.load (i32.const 1000)))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (local $end i64)
    (local.set $end (i64.add (call $now) (i64.const %d)))
    (drop (call $len (i32.const 4))) ;; the events' index, reckoned at 80 ms
    (loop $spin (br_if $spin (i64.lt_s (call $now) (local.get $end))))
    ;; select(Event, Name, Present, empty list at 16, out 4096 len 500,000)
    (drop (call $select (i32.const 4) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 4) (i32.const 4096) (i32.const 500000)))
    (i32.const 0)))`, int64(timeout-300*time.Millisecond))
	p, err := New(context.Background(), Options{Source: "nameview", Module: watModule(t, guest, false), PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worstFailing(t, 2, "would not finish in the time left", func() error {
		_, err := p.ProcessTraces(context.Background(), td)
		return err
	})
}
