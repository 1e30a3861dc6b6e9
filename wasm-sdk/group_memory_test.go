// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// distinctHost is a host whose every span has a name of its own, as a
// batch of span names that carry an id does: group files each selected
// span in a group alone, as many as out holds.
type distinctHost struct {
	hostcall.Host
	n     int32
	calls int
}

func (h *distinctHost) Len(int32) int32 { return h.n }

func (h *distinctHost) Group(table, field int32, key string, sel, out, dst []byte) ([]byte, int32) {
	h.calls++
	stride := len(sel)
	capacity := min(len(out)/stride, abi.MaxKernelArgs)
	var items []int
	for i := 0; i < int(h.n) && len(items) < capacity; i++ {
		if sel[i/8]&(1<<(i%8)) != 0 {
			items = append(items, i)
		}
	}
	clear(out[:len(items)*stride])
	w := abi.NewColumnWriter(dst[:0], len(items))
	for k, i := range items {
		out[k*stride+i/8] |= 1 << (i % 8)
		sel[i/8] &^= 1 << (i % 8)
		w.Str(fmt.Sprint("GET /users/", i))
	}
	return w.Bytes(), int32(len(items))
}

// TestByNameMemoryIsNotQuadratic: grouping a batch of n distinct names
// takes guest memory in proportion to the batch, not to the names times
// the batch. Selections the batch kept per group would cost n*n/8 bytes:
// 50 MB for 20,000 spans, the whole default memory_limit of 128 MiB for
// 40,000. A group's selection is emptied once its iteration ends.
func TestByNameMemoryIsNotQuadratic(t *testing.T) {
	const n = 20000
	h := &distinctHost{n: n}
	b := &batch{}
	b.reset(h, abi.SignalTraces)
	all := b.selection(abi.TableSpan)
	for i := range n {
		all.Add(i)
	}
	seen := 0
	var last Selection
	for _, g := range all.ByName() {
		if g.Len() != 1 || !g.Has(seen) {
			t.Fatalf("group %d holds %d items", seen, g.Len())
		}
		if seen == 100 { // Add on a copy widens what every copy counts
			c := g
			c.Add(n - 1)
			if g.Len() != 2 || !slices.Equal(slices.Collect(g.All()), []int{100, n - 1}) {
				t.Fatalf("after adding item %d to a copy, the group holds %v", n-1, slices.Collect(g.All()))
			}
		}
		seen++
		last = g
	}
	for i, w := range last.words {
		if w != 0 {
			t.Fatalf("a group's selection still holds items in word %d after its iteration", i)
		}
	}
	if seen != n {
		t.Fatalf("visited %d names, want %d", seen, n)
	}
	words := 0
	for _, w := range b.sels[:b.selUsed] {
		words += cap(w)
	}
	selection := (n + 63) / 64
	if words > 64*selection {
		t.Errorf("ByName over %d distinct names took %d selections of the table (%d KiB) in %d group calls", n, words/selection, words*8>>10, h.calls)
	}
}
