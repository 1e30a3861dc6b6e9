// SPDX-License-Identifier: Apache-2.0

package sampler

import (
	"math/rand/v2"
	"testing"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func TestTraceTable(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	var tt traceTable
	for round := range 3 {
		n := 500 + round*700
		tt.reset(n)
		ids := make([]wasmcol.TraceID, n)
		for i := range ids {
			for j := range ids[i] {
				ids[i][j] = byte(r.Uint32())
			}
			// Colliding IDs: equal halves, or an all-zero half.
			switch i % 5 {
			case 1:
				copy(ids[i][8:], ids[i-1][8:])
			case 2:
				clear(ids[i][:8])
			case 3:
				clear(ids[i][8:])
			}
		}
		slots := map[int]wasmcol.TraceID{}
		for i, id := range ids {
			s := tt.slot(id, int32(i))
			if other, ok := slots[s]; ok && other != id {
				t.Fatalf("round %d: %x and %x share slot %d", round, id, other, s)
			}
			slots[s] = id
			if tt.vals[s] != int32(i) {
				t.Fatalf("round %d: new ID %x got value %d", round, id, tt.vals[s])
			}
		}
		// Second lookups find the same slot and keep the first value.
		for i, id := range ids {
			s := tt.slot(id, -7)
			if slots[s] != id || tt.vals[s] != int32(i) {
				t.Fatalf("round %d: %x moved or changed", round, id)
			}
		}
	}
	// After a reset nothing is found: values come back as given.
	id := wasmcol.TraceID{1}
	tt.reset(10)
	tt.vals[tt.slot(id, 1)] = 5
	tt.reset(10)
	if s := tt.slot(id, 2); tt.vals[s] != 2 {
		t.Fatal("an entry survived reset")
	}
	// When the generation wraps to the value that never-used slots hold,
	// they must not turn into entries for the all-zero ID.
	tt.gen = ^uint32(0)
	tt.reset(10)
	if s := tt.slot(wasmcol.TraceID{}, 3); tt.vals[s] != 3 {
		t.Fatal("an unused slot passed for an entry after the generation wrapped")
	}
}

// IDs chosen to collide under an unkeyed hash spread over the table: no
// ID sits far from its first slot, whatever the seed.
func TestTraceTableSpreadsChosenIDs(t *testing.T) {
	const n = 8192
	shapes := map[string]func(i int) wasmcol.TraceID{
		"last half i<<40": func(i int) (id wasmcol.TraceID) {
			putLE64(id[8:], uint64(i)<<40)
			return id
		},
		"first half i<<40": func(i int) (id wasmcol.TraceID) {
			putLE64(id[:8], uint64(i)<<40)
			return id
		},
		"halves cancelling the old multiply": func(i int) (id wasmcol.TraceID) {
			putLE64(id[:8], uint64(i))
			putLE64(id[8:], uint64(i)*0x9E3779B97F4A7C15)
			return id
		},
	}
	for name, shape := range shapes {
		for _, seed := range []uint64{1, 0x5eed, 0xdeadbeef12345677} {
			var tt traceTable
			tt.seed = seed
			tt.reset(n)
			far := uint64(0)
			for i := range n {
				id := shape(i)
				s := uint64(tt.slot(id, int32(i)))
				far = max(far, (s-tt.home(id))&tt.mask)
			}
			if far > 64 {
				t.Errorf("%s, seed %#x: an ID %d slots from its first", name, seed, far)
			}
		}
	}
}

func putLE64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}
