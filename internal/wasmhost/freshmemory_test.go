// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestReadIntoFreshMemoryStopsAtTheDeadline: read copied the whole result
// into the guest in one step, checking the deadline only as it was
// called. A guest that grows its memory and reads a large result into the
// fresh pages has the host fault them in: a 16 MiB result read into fresh
// memory again and again took 30-63 ms a batch under a 10 ms timeout
// (attack round 26; otlp_get now refuses that result under 10 ms), and a
// 48 MiB one, as here, 301-342 ms under 300 ms.
func TestReadIntoFreshMemoryStopsAtTheDeadline(t *testing.T) {
	// Long enough for otlp_get's reckoning of the result (48 MiB at
	// freshNsPerByte, 201 ms) to let it through.
	const timeout = 300 * time.Millisecond
	const guest = `(module
  (import "wasmcol" "otlp_get" (func $get (result i32)))
  (import "wasmcol" "read" (func $read (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (local $n i32) (local $base i32)
    (local.set $n (call $get))
    (loop $l
      ;; fresh pages for the whole result, then read it into them
      (local.set $base (i32.mul (memory.grow (i32.add (i32.shr_u (local.get $n) (i32.const 16)) (i32.const 1))) (i32.const 65536)))
      (drop (call $read (local.get $base) (local.get $n)))
      (br $l))
    (i32.const 0)))`
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("x", 48<<20))
	// Warm the heap first with otlp_get alone, so that what is measured
	// below is the read, not the heap's first growth.
	warm, err := New(context.Background(), Options{Source: "warm", Module: watModule(t, warmGuest, false),
		PoolSize: 1, Timeout: 10 * time.Second, HostMemoryMiB: 256})
	require.NoError(t, err)
	for range 3 {
		began := time.Now()
		_, err := warm.ProcessLogs(context.Background(), ld)
		require.NoError(t, err)
		t.Logf("warm-up, 20 otlp_get: %v", time.Since(began))
	}
	require.NoError(t, warm.Close(context.Background()))
	p, err := New(context.Background(), Options{Source: "read", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout, MemoryLimitMiB: 4096, HostMemoryMiB: 256})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := worstFailing(t, 6, "", func() error {
		_, err := p.ProcessLogs(context.Background(), ld)
		return err
	})
	// 10 ms of slack rather than 5: past the deadline a stop unwinds a
	// guest of a few hundred MiB, which took up to 3.5 ms here. The code
	// before overran by up to 42 ms.
	require.Less(t, worst, timeout+10*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}

// warmGuest calls otlp_get 20 times.
const warmGuest = `(module
  (import "wasmcol" "otlp_get" (func $get (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (local $i i32)
    (loop $l
      (drop (call $get))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20))))
    (i32.const 0)))`

// TestOTLPGetOfLargeValuesStopsAtTheDeadline: otlp_get was reckoned by
// what the batch's items hold, not by its bytes, and every call marshals
// into a result of its own, whose pages the system may have to fault in.
// One log record whose body is a 16 MB string, asked for again and again,
// took 44-133 ms a batch under a 10 ms timeout (attack round 26); a 128
// MiB one, as here, 17-25 ms with the heap warm and up to 667 ms cold.
func TestOTLPGetOfLargeValuesStopsAtTheDeadline(t *testing.T) {
	const timeout = 10 * time.Millisecond
	const guest = `(module
  (import "wasmcol" "otlp_get" (func $get (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l (drop (call $get)) (br $l))
    (i32.const 0)))`
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("x", 128<<20))
	p, err := New(context.Background(), Options{Source: "get", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout, HostMemoryMiB: 512})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := worstFailing(t, 6, "would not finish in the time left", func() error {
		_, err := p.ProcessLogs(context.Background(), ld)
		return err
	})
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}

// TestStagingLargeEditsStopsAtTheDeadline: edit copies what the guest
// stages into a buffer the host grows, in one step. A guest that stages
// one list of 32 MiB, the limit with a host_memory_limit of 128 MiB, had
// the host allocate and fill 32 MiB at once: 138-229 ms for the first
// batches of a process under a 10 ms timeout.
func TestStagingLargeEditsStopsAtTheDeadline(t *testing.T) {
	const timeout = 10 * time.Millisecond
	const guest = `(module
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 513)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l (drop (call $edit (i32.const 0) (i32.const 33554432))) (br $l))
    (i32.const 0)))`
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("x")
	p, err := New(context.Background(), Options{Source: "edit", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout, HostMemoryMiB: 128})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := worstFailing(t, 6, "would not finish in the time left", func() error {
		_, err := p.ProcessLogs(context.Background(), ld)
		return err
	})
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}
