// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEventIndexFitsTheTimeLeft: the index of events (and of links) is grown
// by append one event at a time (tables.build, TableEvent/TableLink),
// neither counted and allocated once at its size, as the spans', metrics'
// and logs' indexes are, nor reckoned: each growth copies the index so far
// into fresh memory in one step, and the deadline is checked only between
// events. One span of 8 million empty events (16 MB on the wire), the
// guest asking len(Event) first thing, ran 45-105 ms past the timeout
// (attack round 27a). Now counted, reckoned and allocated once.
func TestEventIndexFitsTheTimeLeft(t *testing.T) {
	const n = 8_000_000
	td := manyEvents(t, n)
	const guest = `(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $len (i32.const 4))) ;; Event
    (i32.const 1)))`
	worstOver, worstAt := time.Duration(0), time.Duration(0)
	for _, timeout := range []time.Duration{150, 250, 350, 450} {
		timeout *= time.Millisecond
		p, err := New(context.Background(), Options{Source: "eventindex", Module: watModule(t, guest, false),
			PoolSize: 1, Timeout: timeout})
		require.NoError(t, err)
		w := worstFailingAfter(t, 2, "", func() { debug.FreeOSMemory() }, func() error {
			_, err := p.ProcessTraces(context.Background(), td)
			return err
		})
		t.Logf("timeout %v: worst %v", timeout, w)
		if w-timeout > worstOver {
			worstOver, worstAt = w-timeout, timeout
		}
		p.Close(context.Background())
	}
	require.Less(t, worstOver, 5*time.Millisecond, "a batch took %v past a %v timeout", worstOver, worstAt)
}
