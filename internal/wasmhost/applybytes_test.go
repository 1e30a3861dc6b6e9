// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// whereBytesGuest stages one edit_where: SetAttr("k", Bytes of size
// bytes) on every one of n log records, then spins, reading the clock,
// until spinNs before start+budgetNs (0: no spin).
func whereBytesGuest(n, size int, budgetNs, spinNs int64) string {
	op := abi.AppendBytesValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableLog, 0), "k"), nil)
	op = op[:len(op)-4]
	op = abi.AppendU32(op, uint32(size)) // the value's bytes are the zeros after
	opLen := len(op) + size
	selAt := 1 << 20
	return fmt.Sprintf(`(module
  (import "wasmcol" "edit_where" (func $where (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 32)
  (data (i32.const 0) "%s")
  (func $now (result i64) (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 2000000))) (i64.load (i32.const 2000000)))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (local $end i64)
    (local.set $end (i64.add (call $now) (i64.const %d)))
    (memory.fill (i32.const %d) (i32.const 255) (i32.const %d))
    (if (i32.lt_s (call $where (i32.const 0) (i32.const %d) (i32.const %d) (i32.const %d)) (i32.const 0))
      (then (return (i32.const 1))))
    (if (i64.gt_s (i64.const %d) (i64.const 0)) (then
      (loop $spin (br_if $spin (i64.lt_s (call $now) (local.get $end))))))
    (i32.const 0)))`, watBytes(op), budgetNs-spinNs, selAt, (n+7)/8, opLen, selAt, (n+7)/8, spinNs)
}

func watBytes(b []byte) string {
	s := ""
	for _, c := range b {
		s += fmt.Sprintf("\\%02x", c)
	}
	return s
}

func logsN(n int) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range n {
		lr.AppendEmpty().Body().SetStr("x")
	}
	return ld
}

// TestApplyOfBytesValuesFitsTheTimeout: one edit_where of a 60 KiB
// Bytes value on every log record: applying copies it once an item into
// fresh memory (the staged edits' quarter of host_memory_limit), which
// was reckoned at 1.25 ns a byte of the list. A guest that spins (reading
// the WASI clock) until the time left just holds that reckoning made the
// batch end far past its timeout, reported as a success: 75-101 ms under
// 50 ms, 780-1,013 ms under 500 ms (attack round 26). The heap is returned
// to the OS before each batch (debug.FreeOSMemory), as the Go scavenger
// does in an idle Collector.
func TestApplyOfBytesValuesFitsTheTimeout(t *testing.T) {
	for _, c := range []struct {
		hostMiB uint32
		n       int
		timeout time.Duration
	}{{64, 260, 50 * time.Millisecond}, {1024, 3000, 500 * time.Millisecond}} {
		const size = 60 << 10
		n, timeout := c.n, c.timeout
		// Reckoned: 1.25 ns a byte of the copies, plus 80 ns an edit.
		reckoned := time.Duration(int64(n)*int64(size+20)*10/8 + int64(n)*80)
		spinNs := int64(reckoned) + int64(2*time.Millisecond)
		p, err := New(context.Background(), Options{Source: "wb", Module: watModule(t, whereBytesGuest(n, size, int64(timeout), spinNs), false),
			PoolSize: 1, Timeout: timeout, HostMemoryMiB: c.hostMiB})
		require.NoError(t, err)
		worst := time.Duration(0)
		for range 3 {
			ld := logsN(n)
			debug.FreeOSMemory()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			start := time.Now()
			out, err := p.ProcessLogs(context.Background(), ld)
			el := time.Since(start)
			runtime.ReadMemStats(&ms1)
			applied := 0
			if err == nil {
				worst = max(worst, el)
				if v, ok := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(n - 1).Attributes().Get("k"); ok {
					applied = v.Bytes().Len()
				}
			}
			t.Logf("host_memory_limit %d MiB, timeout %v: %v (apply reckoned %v), %d MiB allocated, last item's value %d bytes, err %v",
				c.hostMiB, timeout, el, reckoned, (ms1.TotalAlloc-ms0.TotalAlloc)>>20, applied, err)
		}
		p.Close(context.Background())
		assert.Less(t, worst, timeout+5*time.Millisecond, "a batch under a %v timeout succeeded after %v", timeout, worst)
	}
}
