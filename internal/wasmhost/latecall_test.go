// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The host functions the deadline tests' guests import, by the names
// they call them.
const (
	importLen    = `(import "wasmcol" "len" (func $len (param i32) (result i32)))`
	importEdit   = `(import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))`
	importSelect = `(import "wasmcol" "select" (func $select (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))`
	importColumn = `(import "wasmcol" "column" (func $column (param i32 i32 i32 i32) (result i32)))`
	importGroup  = `(import "wasmcol" "group" (func $group (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))`
)

// lateGuest is a guest of signals that runs early, spins on the clock
// until spin has passed since its call began, then runs late and returns
// ret: a host function asked for work just before the deadline. imports
// are the wasmcol functions it calls, data its data segments, in memory
// of 10 pages; the clock is read into bytes 600,000 on.
func lateGuest(signals int, imports, data, early string, spin time.Duration, late string, ret int) string {
	return fmt.Sprintf(`(module
  %s
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 10)
  %s
  (func $now (result i64) (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 600000))) (i64.load (i32.const 600000)))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const %d))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (local $end i64)
    (local.set $end (i64.add (call $now) (i64.const %d)))
    %s
    (loop $spin (br_if $spin (i64.lt_s (call $now) (local.get $end))))
    %s
    (i32.const %d)))`, imports, data, signals, int64(spin), early, late, ret)
}

// manyEvents is a batch of one span of n empty events, 2n bytes on the
// wire.
func manyEvents(t *testing.T, n int) ptrace.Traces {
	t.Helper()
	span := make([]byte, 0, 2*n)
	for range n {
		span = append(span, 11<<3|2, 0) // Span.events: an empty event
	}
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(pbLen(nil, 1, pbLen(nil, 2, pbLen(nil, 2, span))))
	require.NoError(t, err)
	return td
}
