// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// dirtyRegion maps a region of pages pages and writes every byte of it.
func dirtyRegion(t *testing.T, pages int) *region {
	t.Helper()
	r, err := newRegion(uint64(pages * pageSize))
	require.NoError(t, err)
	t.Cleanup(r.free)
	for i := range r.mem {
		r.mem[i] = 0xAB
	}
	r.used = uint64(len(r.mem))
	return r
}

// requireZero fails at the first page of mem holding a byte other than 0.
func requireZero(t *testing.T, mem []byte) {
	t.Helper()
	for i, b := range mem {
		if b != 0 {
			require.Failf(t, "the last guest's bytes survive", "page %d, byte %#x", i/pageSize, b)
		}
	}
}

// A page swapped out is not resident, yet holds the last guest's bytes:
// reuse must zero it as well as the resident ones. This kernel has no
// swap to send pages to, so mincore's answer is given: some pages gone to
// swap, the rest resident. With few runs not resident each is handed
// back; with many, the page map is read first, and it must not take a
// page holding bytes for one never touched.
func TestClearRunsZeroesPagesNotResident(t *testing.T) {
	for name, swapped := range map[string][]int{
		"few runs":  {3, 4, 5, 6, 7, 8, 9, 17, 31},
		"many runs": everyOther(1, 79),
	} {
		t.Run(name, func(t *testing.T) {
			r := dirtyRegion(t, 80)
			vec := make([]byte, 80)
			for i := range vec {
				vec[i] = 1
			}
			for _, i := range swapped {
				vec[i] = 0
			}
			clearRuns(r.mem, vec)
			requireZero(t, r.mem)
		})
	}
}

func everyOther(from, to int) (out []int) {
	for i := from; i <= to; i += 2 {
		out = append(out, i)
	}
	return out
}

// The page map tells the pages never touched, which need nothing, from
// the others.
func TestMarkUntouched(t *testing.T) {
	if f, err := os.Open("/proc/self/pagemap"); err != nil {
		t.Skipf("no page map here (clearing then hands back every page not resident): %v", err)
	} else {
		f.Close()
	}
	r, err := newRegion(uint64(64 * pageSize))
	require.NoError(t, err)
	defer r.free()
	for _, i := range everyOther(0, 63) {
		r.mem[i*pageSize] = 1
	}
	vec := make([]byte, 64)
	require.NoError(t, mincore(r.mem, vec))
	markUntouched(r.mem, vec)
	for i, v := range vec {
		want := byte(pageResident)
		if i%2 == 1 {
			want = pageUntouched
		}
		require.Equal(t, want, v&3, "page %d", i)
	}
}

// The same with real swap, where the machine has some: pages paged out
// with MADV_PAGEOUT must read as zero after clearing.
func TestClearTouchedZeroesSwappedPages(t *testing.T) {
	r := dirtyRegion(t, 64)
	const madvPageout = 21
	if err := syscall.Madvise(r.mem[8*pageSize:40*pageSize], madvPageout); err != nil {
		t.Skipf("MADV_PAGEOUT: %v", err)
	}
	vec := make([]byte, 64)
	require.NoError(t, mincore(r.mem, vec))
	out := 0
	for _, v := range vec {
		out += int(1 - v&1)
	}
	if out == 0 {
		t.Skip("no page left memory: this machine has no swap")
	}
	t.Logf("%d of 64 pages swapped out", out)
	clearTouched(r.mem)
	requireZero(t, r.mem)
}

// BenchmarkRegionReuse is the cost of handing a spare region to the next
// instance: clearing what the last guest touched of the 16 MiB it was
// handed. dense: all of it. sparse: 2 MiB of every 4, in huge pages where
// the system has them. fragmented: every other 4 KiB page, with huge
// pages refused, so that 2,048 runs are not resident (a worst case).
func BenchmarkRegionReuse(b *testing.B) {
	for _, c := range []struct {
		name        string
		stride, run int
		noHuge      bool
	}{
		{"dense", pageSize, pageSize, false},
		{"sparse", 4 << 20, 2 << 20, false},
		{"fragmented", 2 * pageSize, pageSize, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			const limit, used = 64 << 20, 16 << 20
			pool := regionPool{max: 1}
			defer pool.close()
			r, err := pool.get(limit, 0)
			require.NoError(b, err)
			if c.noHuge {
				require.NoError(b, syscall.Madvise(r.mem, 15 /* MADV_NOHUGEPAGE */))
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for off := 0; off < used; off += c.stride {
					for j := off; j < off+c.run; j += pageSize {
						r.mem[j] = 1
					}
				}
				r.used = used
				pool.put(r, false)
				b.StartTimer()
				if r, err = pool.get(limit, 0); err != nil {
					b.Fatal(err)
				}
			}
			pool.put(r, true)
		})
	}
}
