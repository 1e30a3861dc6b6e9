// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// whereStrGuest stages one edit_where: SetAttr("k", Str of size bytes)
// on every one of n log records.
func whereStrGuest(n, size int) string {
	op := abi.AppendStrValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableLog, 0), "k"), "")
	op = op[:len(op)-4]
	op = abi.AppendU32(op, uint32(size))
	opLen := len(op) + size
	selAt := 1 << 20
	return fmt.Sprintf(`(module
  (import "wasmcol" "edit_where" (func $where (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 32)
  (data (i32.const 0) "%s")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (memory.fill (i32.const %d) (i32.const 255) (i32.const %d))
    (if (i32.lt_s (call $where (i32.const 0) (i32.const %d) (i32.const %d) (i32.const %d)) (i32.const 0))
      (then (return (i32.const 1))))
    (i32.const 0)))`, watBytes(op), selAt, (n+7)/8, opLen, selAt, (n+7)/8)
}

// TestApplyOfSharedStrIsNotRefused: 3,000 log records set to one 60 KiB
// string under a 500 ms timeout. A Str is interned once for the record,
// not copied for every item: applying costs a map put an item, a few ms.
// Reckoning the whole list's bytes at freshNsPerByte, as a fix for Bytes
// values first did, made it 737 ms and refused it (the review of attack
// round 26).
func TestApplyOfSharedStrIsNotRefused(t *testing.T) {
	const n, size, timeout = 3000, 60 << 10, 500 * time.Millisecond
	p, err := New(context.Background(), Options{Source: "ws", Module: watModule(t, whereStrGuest(n, size), false),
		PoolSize: 1, Timeout: timeout, HostMemoryMiB: 1024, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer p.Close(context.Background())
	for range 3 {
		start := time.Now()
		out, err := p.ProcessLogs(context.Background(), logsN(n))
		t.Logf("%v: %v", time.Since(start), err)
		require.NoError(t, err)
		v, ok := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(n - 1).Attributes().Get("k")
		require.True(t, ok)
		require.Equal(t, size, len(v.Str()))
	}
}
