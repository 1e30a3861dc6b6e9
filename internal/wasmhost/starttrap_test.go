// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

// startTrapGuest starts cleanly once; after its first batch, which marks
// the key-value store and traps, every new instance's start section fills
// 8 MiB of its memory and traps, so that every batch starts an instance
// that fails to start.
const startTrapGuest = `(module
  (import "wasmcol" "kv_get" (func $kv_get (param i32 i32) (result i32)))
  (import "wasmcol" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 128)
  (data (i32.const 0) "boom")
  (func $start
    (if (i32.ge_s (call $kv_get (i32.const 0) (i32.const 4)) (i32.const 0))
      (then (memory.fill (i32.const 16) (i32.const 1) (i32.const 8388000)) unreachable)))
  (start $start)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $kv_set (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 1)))
    unreachable))`

func residentKiB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kib int64
			_, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kib)
			require.NoError(t, err)
			return kib
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestFailedStartFreesMemory: an instance whose start section traps after
// touching its memory gets no module from wazero, which closes nothing.
// Forty of them, one a batch, grew the process by 312 MiB that even Close
// did not give back.
func TestFailedStartFreesMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "starttrap", Module: buildWAT(t, "starttrap", startTrapGuest),
		PoolSize: 1, MemoryLimitMiB: 16})
	require.NoError(t, err)
	before := residentKiB(t)
	for range 40 {
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
		_, err := p.ProcessTraces(context.Background(), td)
		require.Error(t, err, "the batch or the instance's start traps")
	}
	require.NoError(t, p.Close(context.Background()))
	runtime.GC()
	grown := residentKiB(t) - before
	require.Less(t, grown, int64(64<<10), "resident memory grew by %d MiB", grown>>10)
}
