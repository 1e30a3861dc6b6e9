// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
)

// TestFdWriteOfControlLinesFitsTheTimeout: one fd_write to stderr of 64
// KiB made of 2 KiB lines of control characters. Each line within the
// log's burst was escaped whole (one fmt.Fprintf per control character)
// inside the host function, where no deadline check runs, to be cut back
// to 2 KiB after: 32 lines a call took 8-10 ms a batch under a 2 ms
// timeout (attack round 26).
func TestFdWriteOfControlLinesFitsTheTimeout(t *testing.T) {
	const fill = `(local $i i32)
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 65536))
    (loop $nl
      (i32.store8 (i32.add (local.get $i) (i32.const 2047)) (i32.const 10))
      (local.set $i (i32.add (local.get $i) (i32.const 2048)))
      (br_if $nl (i32.lt_u (local.get $i) (i32.const 65536))))`
	// A processor of its own for each batch, whose log's burst (50
	// lines) is full.
	requireFdWriteFits(t, fill, 3, 1)
}

// TestFdWriteOfNewlinesFitsTheTimeout: one fd_write of 64 KiB of
// newlines is 65,536 lines, each of which went through the rate limit (a
// clock read and a lock) inside one host call where no deadline check
// runs: 6.1-9.8 ms a batch under a 2 ms timeout (the review of attack
// round 26).
func TestFdWriteOfNewlinesFitsTheTimeout(t *testing.T) {
	requireFdWriteFits(t, `(memory.fill (i32.const 0) (i32.const 10) (i32.const 65536))`, 5, 3)
}

// requireFdWriteFits runs, on each of processors fresh processors, batches
// batches of a guest that fills its first 64 KiB with fill and then
// writes them to stderr in a loop, and requires none to take more than a
// few ms past a 2 ms timeout.
func requireFdWriteFits(t *testing.T, fill string, processors, batches int) {
	guest := `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    ` + fill + `
    (i32.store (i32.const 65536) (i32.const 0))
    (i32.store (i32.const 65540) (i32.const 65536))
    (loop $again
      (drop (call $w (i32.const 2) (i32.const 65536) (i32.const 1) (i32.const 65544)))
      (br $again))
    (i32.const 0)))`
	const timeout = 2 * time.Millisecond
	worst := time.Duration(0)
	for range processors {
		p, err := New(context.Background(), Options{Source: "fdw", Module: watModule(t, guest, false), PoolSize: 1,
			Timeout: timeout, Logger: zap.NewNop()})
		require.NoError(t, err)
		for range batches {
			start := time.Now()
			_, err = p.ProcessLogs(context.Background(), plog.NewLogs())
			took := time.Since(start)
			worst = max(worst, took)
			t.Logf("%v: %v", took, err)
		}
		require.NoError(t, p.Close(context.Background()))
	}
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch under a %v timeout took %v", timeout, worst)
}
