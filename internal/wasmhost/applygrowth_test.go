// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// spinEditGuest stages the edit list ops with `edit`, then spins,
// reading the clock, until spinNs before start+budgetNs, and returns 0.
func spinEditGuest(ops []byte, signals int, budgetNs, spinNs int64) string {
	return fmt.Sprintf(`(module
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "%s")
  (func $now (result i64) (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 100000))) (i64.load (i32.const 100000)))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const %d))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (local $end i64)
    (local.set $end (i64.add (call $now) (i64.const %d)))
    (if (i32.lt_s (call $edit (i32.const 0) (i32.const %d)) (i32.const 0))
      (then (return (i32.const 1))))
    (loop $spin (br_if $spin (i64.lt_s (call $now) (local.get $end))))
    (i32.const 0)))`, watBytes(ops), signals, budgetNs-spinNs, len(ops))
}

// fullCap is the largest n <= max at which a slice of 40-byte
// elements grown by append one at a time, as pdata's decoder grows an
// item's attributes, is full (len == cap).
func fullCap(max int) int {
	type kv struct {
		v any
		k string
		i int32
	}
	var s []kv
	best := 0
	for len(s) < max {
		s = append(s, kv{})
		if len(s) == cap(s) {
			best = len(s)
		}
	}
	return best
}

// TestAddingToAFullListIsReckoned: one SetAttr on a log record of N
// empty attributes whose list is full (as the decoder's appends leave it
// at the right N). Applying reserves room (Map.EnsureCapacity), which
// copies the whole list (40 bytes an entry) into fresh memory, in one
// step; the estimate charged 3 comparisons an attribute, and a batch
// under a 150 ms timeout succeeded after 450-515 ms (attack round 27a).
// The copy is now reckoned at freshNsPerByte.
func TestAddingToAFullListIsReckoned(t *testing.T) {
	n := fullCap(4_000_000)
	const timeout = 150 * time.Millisecond
	var attrs []byte
	for range n {
		attrs = pbLen(attrs, 6, nil) // LogRecord.attributes: an empty KeyValue
	}
	req := logRequest(attrs)
	attrs = nil
	ops := abi.AppendIntValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableLog, 0), "k"), 1)
	reckoned := time.Duration((3 + 3*int64(n) + 8 + int64(len(ops))/8) * 10)
	spinNs := int64(reckoned) + int64(2*time.Millisecond)
	p, err := New(context.Background(), Options{Source: "ensurecap", Module: watModule(t, spinEditGuest(ops, 4, int64(timeout), spinNs), false),
		PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := time.Duration(0)
	for range 3 {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(req)
		require.NoError(t, err)
		debug.FreeOSMemory()
		start := time.Now()
		out, err := p.ProcessLogs(context.Background(), ld)
		el := time.Since(start)
		applied := false
		if err == nil {
			worst = max(worst, el)
			_, applied = out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("k")
		}
		t.Logf("n=%d attributes, timeout %v: %v (apply reckoned %v), applied %v, err %v", n, timeout, el, reckoned, applied, err)
	}
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch under a %v timeout succeeded after %v", timeout, worst)
}
