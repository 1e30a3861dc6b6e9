// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGrowChainsStopAtTheDeadline: wazero runs memory.grow and table.grow
// in Go, a trip out of compiled code and back, and the rewrite charged
// each one unit, like an add. A failed memory.grow returns -1, which the
// next takes as its delta, so that a chain of them is a unit a grow: 2,000
// in a loop ran 28-63 ms between two checks under a 10 ms timeout, and
// table.grow 0 on a full table 15-17 ms under 5 ms (attack round 27b).
func TestGrowChainsStopAtTheDeadline(t *testing.T) {
	for name, c := range map[string]struct {
		timeout time.Duration
		defs    string
	}{
		"memory.grow": {10 * time.Millisecond, `(func $attack
		  (loop $l (i32.const -1) ` + strings.Repeat("(memory.grow) ", 2000) + ` (drop) (br $l)))`},
		// table.grow 0 returns 0, the next one's delta.
		"table.grow": {5 * time.Millisecond, `(table 0 0 funcref)
		  (func $attack (loop $l (drop ` + strings.Repeat("(table.grow 0 (ref.null func) ", 500) + "(i32.const 0)" + strings.Repeat(")", 500) + `) (br $l)))`},
	} {
		t.Run(name, func(t *testing.T) {
			bin := watModule(t, filter(c.defs), name == "memory.grow") // wat2wasm does not type the chain
			worst := time.Duration(0)
			for range 3 {
				took, err := runGuest(t, bin, c.timeout)
				t.Logf("%v: %v", took, err)
				var f *Fault
				require.True(t, errors.As(err, &f) && f.Kind == FaultTimeout, "%v", err)
				worst = max(worst, took)
			}
			require.Less(t, worst, 2*c.timeout, "a chain of %s ran %v under a %v timeout", name, worst, c.timeout)
		})
	}
}

// TestRefFuncInCodeIsRefused: wazero allocates a function reference for
// every ref.func it runs, kept until the instance closes. A million a
// batch grew the Collector's heap by 31 MiB a batch, counted by neither
// memory limit, and ran 70-800 ms under a 5-10 ms timeout (attack round
// 27b). It is refused in code; in element segments and globals, which run
// once at start, it stays.
func TestRefFuncInCodeIsRefused(t *testing.T) {
	inCode := filter(`(elem declare func $attack) (func $attack (drop (ref.func $attack)))`)
	_, err := New(context.Background(), Options{Source: "reffunc", Module: watModule(t, inCode, false), PoolSize: 1})
	require.ErrorContains(t, err, "ref.func")
	require.ErrorContains(t, err, "not accepted in code")

	atStart := filter(`(table 1 funcref) (elem (i32.const 0) func $attack)
	  (global funcref (ref.func $attack))
	  (func $attack (drop (table.get 0 (i32.const 0))))`)
	p, err := New(context.Background(), Options{Source: "reffunc", Module: watModule(t, atStart, false), PoolSize: 1})
	require.NoError(t, err, "ref.func in an element segment and a global")
	require.NoError(t, p.Close(context.Background()))
}

// TestLargePassiveSegmentIsRefused: memory.init copies from a passive data
// segment in one step, where memory.copy and memory.fill are cut into
// checked chunks: 60 MiB ran 6-220 ms under a 2-5 ms timeout (attack round
// 27b). A passive segment may hold up to a chunk.
func TestLargePassiveSegmentIsRefused(t *testing.T) {
	src := filter(`(data "x")
	  (func $attack (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1)))`)
	withData := func(n int) []byte { return withPassiveData(t, watModule(t, src, false), n) }
	_, err := New(context.Background(), Options{Source: "passive", Module: withData(bulkChunk + 1), PoolSize: 1})
	require.ErrorContains(t, err, "passive segment of 1048577 bytes")
	took, err := runGuest(t, withData(bulkChunk), time.Second)
	require.NoError(t, err, "a passive segment of one chunk (%v)", took)
}

// withPassiveData replaces the data section of bin, its last section as
// wat2wasm writes it, by one passive segment of n bytes.
func withPassiveData(t *testing.T, bin []byte, n int) []byte {
	t.Helper()
	r := reader{b: bin, off: 8}
	for !r.done() {
		start := r.off
		id := r.byte()
		r.bytes(int(r.u32()))
		require.NoError(t, r.err)
		if id == secData {
			require.True(t, r.done(), "data is not the last section")
			body := appendU32(appendU32(appendU32(nil, 1), 1), uint32(n)) // one segment, passive, n bytes
			body = append(body, make([]byte, n)...)
			return append(appendU32(append(append([]byte{}, bin[:start]...), secData), uint32(len(body))), body...)
		}
	}
	t.Fatal("no data section")
	return nil
}
