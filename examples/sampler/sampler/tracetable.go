// SPDX-License-Identifier: Apache-2.0

package sampler

import (
	"math/rand/v2"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// traceTable maps the trace IDs of one batch to a value: open addressing
// with a hash of its own, where Go's map would take a slow generic path in
// Wasm. It is reused across batches; a generation number empties it in
// O(1).
//
// The hash is keyed with a seed drawn when the table is first used. Trace
// IDs are random by the W3C spec, but a client need not keep to it: with
// the ID's halves as the hash, 8,192 IDs of a zero first half and a last
// half of i<<40 all landed in one slot, and probing them took the batch
// past its 1 s deadline, which left it unsampled (attack round 14).
type traceTable struct {
	ids  []wasmcol.TraceID
	vals []int32
	gens []uint32
	gen  uint32
	mask uint64
	seed uint64
}

// reset empties the table and sizes it for up to n IDs at most half full.
func (t *traceTable) reset(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if len(t.ids) < size {
		t.ids = make([]wasmcol.TraceID, size)
		t.vals = make([]int32, size)
		t.gens = make([]uint32, size)
		t.gen = 0
	}
	t.mask = uint64(size - 1)
	if t.seed == 0 {
		t.seed = rand.Uint64() | 1
	}
	t.gen++
	if t.gen == 0 { // wrapped: stale entries could look current
		clear(t.gens)
		t.gen = 1
	}
}

// slot returns id's slot, adding id with value v when absent.
func (t *traceTable) slot(id wasmcol.TraceID, v int32) int {
	for i := t.home(id); ; i = (i + 1) & t.mask {
		if t.gens[i] != t.gen {
			t.gens[i], t.ids[i], t.vals[i] = t.gen, id, v
			return int(i)
		}
		if t.ids[i] == id {
			return int(i)
		}
	}
}

// home is id's first slot. Each half goes through a bijective mix, the
// first keyed, so that no choice of IDs lands together but by chance
// without the seed: the second half alone, say, would collide whenever
// the mixed first halves differed only in bits the mask drops.
func (t *traceTable) home(id wasmcol.TraceID) uint64 {
	return mix(mix(le64(id[:8])^t.seed)^le64(id[8:])) & t.mask
}

// mix is SplitMix64's finaliser: a bijection whose every output bit
// depends on every input bit.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
