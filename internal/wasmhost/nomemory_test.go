// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

// TestGuestWithoutMemory: wazero hands a module without memory to the host
// as a typed nil memory, which is not == nil. The first batch of such a
// guest crashed the process (the recycling check read its size), and
// host functions that take a pointer panicked inside wazero. The batch
// must pass, and a pointer into memory it lacks must be refused.
func TestGuestWithoutMemory(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		fails      bool
	}{
		{"returns", `(i32.const 0)`, false},
		// column(Span, Name, key at 0, length 1): no memory to read it from,
		// so ErrBounds (-1).
		{"passes a pointer", `(if (i32.ne (call $column (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 1)) (i32.const -1)) (then unreachable)) (i32.const 0)`, false},
		{"writes to stdout", `(drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0))) (i32.const 0)`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := `(module
  (import "wasmcol" "column" (func $column (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) ` + tc.body + `))`
			p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "nomem", Module: buildWAT(t, "nomem", src), PoolSize: 1})
			require.NoError(t, err)
			defer p.Close(context.Background())
			for range 3 {
				td := ptrace.NewTraces()
				td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
				out, err := p.ProcessTraces(context.Background(), td)
				require.NoError(t, err)
				require.Equal(t, 1, out.SpanCount())
			}
		})
	}
}

// TestGuestWithoutMemoryGivesItsRegionBack: every instance is reserved
// its memory_limit of address space before it starts, and wazero frees it
// only for a module with a memory. A memory-less guest that trapped on
// every batch, so that every batch started a new instance, took 8 TiB of
// address space in 2,000 batches at memory_limit 4096, and the process
// died out of memory after 32,767.
func TestGuestWithoutMemoryGivesItsRegionBack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	src := `(module
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) unreachable))`
	ctx := context.Background()
	p, err := wasmhost.New(ctx, wasmhost.Options{Source: "nomem", Module: buildWAT(t, "nomem", src), PoolSize: 1, MemoryLimitMiB: 4096})
	require.NoError(t, err)
	before := vmSizeKiB(t)
	for range 200 {
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
		_, err := p.ProcessTraces(ctx, td)
		// A trap, each time: under a ulimit -v that refused the next
		// reservation, the leak would show as memory faults instead.
		var fault *wasmhost.Fault
		require.ErrorAs(t, err, &fault)
		require.Equal(t, wasmhost.FaultTrap, fault.Kind, "%v", err)
	}
	require.NoError(t, p.Close(ctx))
	grown := vmSizeKiB(t) - before
	require.Less(t, grown, int64(8<<20), "address space grown by %d GiB in 200 instances", grown>>20)

	// Nor does a start the guest refuses keep its region.
	refusing := strings.Replace(src, `(func (export "wasmcol_init") (result i32) (i32.const 0))`, `(func (export "wasmcol_init") (result i32) (i32.const 1))`, 1)
	bin := buildWAT(t, "refusing", refusing)
	before = vmSizeKiB(t)
	for range 50 {
		_, err := wasmhost.New(ctx, wasmhost.Options{Source: "refusing", Module: bin, PoolSize: 1, MemoryLimitMiB: 4096})
		var fault *wasmhost.Fault
		require.ErrorAs(t, err, &fault)
		require.Equal(t, wasmhost.FaultGuest, fault.Kind, "%v", err)
	}
	grown = vmSizeKiB(t) - before
	require.Less(t, grown, int64(8<<20), "address space grown by %d GiB in 50 refused starts", grown>>20)
}

// vmSizeKiB is the process's address space, in KiB.
func vmSizeKiB(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmSize:"); ok {
			n, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}
