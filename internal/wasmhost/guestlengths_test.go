// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// lengthGuest grows its memory to 2 GiB (never touching it) and makes
// CALL, a host call naming a length of much of it, in a loop.
const lengthGuest = `(module
  (import "wasi_snapshot_preview1" "path_rename" (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "group" (func $group (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "kv_get" (func $get (param i32 i32) (result i32)))
  (import "wasmcol" "kv_set" (func $set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (local $i i32)
    ;; 16 entries: a map of at most 8 compares keys without hashing them
    (loop $l
      (i32.store (i32.const 0) (i32.add (local.get $i) (i32.const 1)))
      (drop (call $set (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 16))))
    (drop (memory.grow (i32.const 32767)))
    (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l
      (i32.store8 (i32.const 0) (i32.const 1))
      CALL
      (br $l))
    (i32.const 0)))`

// Host functions that take a length from the guest bound it before they
// act on it. Each of these calls, given a length of the guest's whole
// memory, did work in proportion to it where no deadline could stop it
// (attack round 22, under a 50 ms timeout, at memory_limit 1024): wazero
// copied a path_* call's paths onto the Go heap before looking at the
// descriptor (1.5-14.6 s a batch, +1 GiB of heap a call); group cleared a
// stride of sel_len bytes of out, and sel past the table (1.9-2.2 s), or
// 256 bitmaps of 1 MiB each (503 ms under 20 ms); kv_get hashed the key
// under the lock every instance shares (up to 2.1 s).
func TestGuestLengthsBounded(t *testing.T) {
	const timeout = 20 * time.Millisecond // less than one such call took
	gib := strconv.Itoa(1 << 30)
	for name, call := range map[string]string{
		"path_rename": `(drop (call $rename (i32.const 3) (i32.const 0) (i32.const ` + gib + `) (i32.const 3) (i32.const 0) (i32.const ` + gib + `)))`,
		// one group of 2 GiB-wide bitmaps
		"group stride": `(drop (call $group (i32.const 3) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0x7fff0000) (i32.const 0) (i32.const 0x7fff0000)))`,
		// 256 groups of 1 MiB each: every span named apart
		"group count": `(memory.fill (i32.const 0) (i32.const 255) (i32.const 32))
      (drop (call $group (i32.const 3) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0x100000) (i32.const 0x100000) (i32.const 0x10000000)))`,
		"kv_get": `(drop (call $get (i32.const 0) (i32.const 0x7fff0000)))`,
	} {
		t.Run(name, func(t *testing.T) {
			p, err := New(context.Background(), Options{Source: name, Module: watModule(t, strings.Replace(lengthGuest, "CALL", call, 1), false),
				PoolSize: 1, Timeout: timeout, MemoryLimitMiB: 2048})
			require.NoError(t, err)
			defer p.Close(context.Background())
			for range 2 {
				td := ptrace.NewTraces()
				spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
				for i := range 256 {
					spans.AppendEmpty().SetName("s" + strconv.Itoa(i))
				}
				began := time.Now()
				_, err := p.ProcessTraces(context.Background(), td)
				took := time.Since(began)
				var fault *Fault
				require.True(t, errors.As(err, &fault), "%v", err)
				require.Equal(t, FaultTimeout, fault.Kind, "%v", err)
				t.Logf("%v: %v", took, err)
				require.Less(t, took, 5*timeout)
			}
		})
	}
}

// A memory of 65,536 pages, 4 GiB, has a size of 0 as api.Memory's
// uint32 reads it: random_get refused every call into it, and an
// instance grown to it was never recycled for its memory.
func TestFourGiBMemoryHasItsSize(t *testing.T) {
	// A memory of 4 GiB with nothing in it: faulting its pages in as it
	// grows (populate) would take seconds and 4 GiB of RAM.
	defer func() { populating = true }()
	populating = false
	const guest = `(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasmcol" "fail" (func $fail (param i32 i32) (result i32)))
  (import "wasmcol" "kv_get" (func $get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 0) "kept")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    ;; a second call on one instance: it was not recycled
    (if (i32.gt_u (global.get $calls) (i32.const 1))
      (then (drop (call $fail (i32.const 0) (i32.const 4))) (return (i32.const 1))))
    (drop (memory.grow (i32.const 65535)))
    (if (call $random (i32.const 16) (i32.const 16)) (then unreachable))
    ;; ranges that end at 4 GiB are out of bounds, not a panic in the host
    (if (i32.ne (call $random (i32.const 0xffff0000) (i32.const 0x10000)) (i32.const 21)) (then unreachable))
    (if (i32.ne (call $get (i32.const 0xffffff00) (i32.const 0x100)) (i32.const -1)) (then unreachable)) ;; ErrBounds
    (i32.const 0)))`
	p, err := New(context.Background(), Options{Source: "4gib", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: time.Second, MemoryLimitMiB: 4096})
	require.NoError(t, err)
	defer p.Close(context.Background())
	for i := range 2 {
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("s")
		_, err := p.ProcessTraces(context.Background(), td)
		require.NoError(t, err, "batch %d", i)
	}
}

// Every WASI function that reads a path has its length bounded: the
// bound finds them by their parameters' names, which a wazero upgrade
// could change.
func TestEveryPathFunctionBounded(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wasi, err := wasi_snapshot_preview1.NewBuilder(r).Compile(ctx)
	require.NoError(t, err)
	paths := 0
	for name, def := range wasi.ExportedFunctions() {
		if strings.HasPrefix(name, "path_") {
			paths++
			require.NotEmpty(t, pathLengths(def.ParamNames()), "%s %v", name, def.ParamNames())
		}
	}
	require.Equal(t, 10, paths)
}

// A Go runtime error in a host function the guest calls is a FaultHost
// whose Go stack is kept for the log, out of the error: wazero's fd_read
// panics on an iovec ending at 4 GiB (its bounds check passes, its slice
// wraps), and wazero, recovering it as a trap, appended the Collector's
// Go stack to the error that goes back to clients. A guest that fails
// with the same words is still a trap.
func TestHostRuntimeErrorIsAHostFault(t *testing.T) {
	// A memory of 4 GiB with nothing in it: faulting its pages in as it
	// grows (populate) would take seconds and 4 GiB of RAM.
	defer func() { populating = true }()
	populating = false
	const guest = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "fail" (func $fail (param i32 i32) (result i32)))
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\f0\ff\ff\ff\10\00\00\00")
  (data (i32.const 64) "spoof\0a\0aGo runtime stack trace:\0agoroutine 1 [running]:")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.eq (call $len (i32.const 3)) (i32.const 1))
      (then
        ;; a batch of one span: stdin, one iovec of 16 bytes at 4 GiB - 16
        (drop (memory.grow (i32.const 65535)))
        (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))
        (return (i32.const 0))))
    (drop (call $fail (i32.const 64) (i32.const 50)))
    unreachable))`
	p, err := New(context.Background(), Options{Source: "gostack", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: time.Second, MemoryLimitMiB: 4096, MaxCallsPerInstance: 0})
	require.NoError(t, err)
	defer p.Close(context.Background())
	batch := func(spans int) ptrace.Traces {
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for range spans {
			ss.AppendEmpty().SetName("s")
		}
		return td
	}

	td := batch(1)
	_, err = p.ProcessTraces(context.Background(), td)
	var f *Fault
	require.ErrorAs(t, err, &f)
	require.Equal(t, FaultHost, f.Kind, "%v", err)
	require.Contains(t, string(f.Stack), "goroutine ", "the Go stack, for the log")
	require.NotContains(t, err.Error(), "goroutine ")
	require.NotContains(t, err.Error(), "Go runtime stack trace")
	require.Contains(t, err.Error(), "recovered by wazero", "the runtime error and the guest's frames stay")
	require.Equal(t, "s", td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())

	// A batch of two spans: the guest fails with the same words and traps.
	_, err = p.ProcessTraces(context.Background(), batch(2))
	require.ErrorAs(t, err, &f)
	require.Equal(t, FaultTrap, f.Kind, "%v", err)
	require.Contains(t, err.Error(), "spoof")
	require.Empty(t, f.Stack)
}

// A Go runtime error in a host function while an instance starts is a
// FaultHost too, at New and for an instance started for a batch: the start
// path did not classify it, and its error, kind trap, carried the Go stack
// (attack round 23: 4,816 and 4,959 bytes, host paths and heap addresses).
func TestHostRuntimeErrorInAStart(t *testing.T) {
	requireHostFault := func(t *testing.T, err error) {
		t.Helper()
		var f *Fault
		require.ErrorAs(t, err, &f)
		require.Equal(t, FaultHost, f.Kind, "%v", err)
		require.Contains(t, string(f.Stack), "goroutine ")
		require.NotContains(t, err.Error(), "Go runtime stack trace")
		require.NotContains(t, err.Error(), "goroutine ")
	}
	t.Run("at New", func(t *testing.T) {
		const guest = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\f0\ff\ff\ff\10\00\00\00")
  (func (export "_initialize")
    (drop (memory.grow (i32.const 65535)))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))`
		_, err := New(context.Background(), Options{Source: "newstack", Module: watModule(t, guest, false),
			PoolSize: 1, Timeout: time.Second, MemoryLimitMiB: 4096})
		requireHostFault(t, err)
		require.Contains(t, err.Error(), "_initialize trapped")
	})
	t.Run("for a batch", func(t *testing.T) {
		const guest = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "kv_get" (func $get (param i32 i32) (result i32)))
  (import "wasmcol" "kv_set" (func $set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\f0\ff\ff\ff\10\00\00\00")
  (data (i32.const 64) "started")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32)
    ;; the first instance (started by New) starts sound; every later one
    ;; reaches wazero's fd_read panic on an iovec ending at 4 GiB
    (if (i32.lt_s (call $get (i32.const 64) (i32.const 7)) (i32.const 0))
      (then
        (drop (call $set (i32.const 64) (i32.const 7) (i32.const 64) (i32.const 1)))
        (return (i32.const 0))))
    (drop (memory.grow (i32.const 65535)))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))
    (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))`
		p, err := New(context.Background(), Options{Source: "startstack", Module: watModule(t, guest, false),
			PoolSize: 1, Timeout: time.Second, MemoryLimitMiB: 4096, MaxCallsPerInstance: 1})
		require.NoError(t, err)
		defer p.Close(context.Background())
		batch := func() ptrace.Traces {
			td := ptrace.NewTraces()
			td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("s")
			return td
		}
		_, err = p.ProcessTraces(context.Background(), batch()) // the first instance, then retired
		require.NoError(t, err)
		_, err = p.ProcessTraces(context.Background(), batch()) // an instance starts for it
		requireHostFault(t, err)
	})
}
