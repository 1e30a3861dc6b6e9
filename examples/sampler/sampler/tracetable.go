// SPDX-License-Identifier: Apache-2.0

package sampler

import wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"

// traceTable maps the trace IDs of one batch to a value. Trace IDs are
// random by the W3C spec, so their bits are the hash: no hash function to
// run, which Go's map would do through a slow generic path in Wasm. It is
// reused across batches; a generation number empties it in O(1).
type traceTable struct {
	ids  []wasmcol.TraceID
	vals []int32
	gens []uint32
	gen  uint32
	mask uint64
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
	t.gen++
	if t.gen == 0 { // wrapped: stale entries could look current
		clear(t.gens)
		t.gen = 1
	}
}

// slot returns id's slot, adding id with value v when absent.
func (t *traceTable) slot(id wasmcol.TraceID, v int32) int {
	// The low half is random even for 64-bit IDs (high half zero); the
	// multiply folds the high half in for generators that fix the low.
	h := le64(id[8:]) ^ le64(id[:8])*0x9E3779B97F4A7C15
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		if t.gens[i] != t.gen {
			t.gens[i], t.ids[i], t.vals[i] = t.gen, id, v
			return int(i)
		}
		if t.ids[i] == id {
			return int(i)
		}
	}
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
