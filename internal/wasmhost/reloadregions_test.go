// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fillingGuest grows its memory to PAGES pages in every call and fills
// all of it with the byte FILL.
const fillingGuest = `(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.lt_u (memory.size) (i32.const PAGES))
      (then (drop (memory.grow (i32.sub (i32.const PAGES) (memory.size))))))
    (memory.fill (i32.const 0) (i32.const FILL) (i32.mul (i32.const PAGES) (i32.const 65536)))
    (i32.const 0)))`

func fillingModule(t *testing.T, pages, fill int) []byte {
	src := strings.ReplaceAll(fillingGuest, "PAGES", strconv.Itoa(pages))
	return watModule(t, strings.Replace(src, "FILL", strconv.Itoa(fill), 1), false)
}

// vmRSS is the process's resident set, from /proc/self/status.
func vmRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// residentBytes counts the resident pages of mem.
func residentBytes(mem []byte) int64 {
	if len(mem) == 0 {
		return 0
	}
	vec := make([]byte, (len(mem)+pageSize-1)/pageSize)
	if mincore(mem, vec) != nil {
		return -1
	}
	n := int64(0)
	for _, v := range vec {
		n += int64(v & 1)
	}
	return n * int64(pageSize)
}

// A reload starts the new module's first instance on a fresh region, and
// then retires the old instance. Its region went to the pool's one spare,
// uncleared and resident, and no start took it while the new instance was
// sound: with pool_size 1, twice memory_limit of guest memory stayed
// resident until Close (190 MiB more here, the old guest's bytes in it;
// 6,020 MiB of RSS at memory_limit 4096; attack round 28b). The pool now
// keeps pool_size regions, handed out and spare together, and unmaps the
// rest off the batch's path.
func TestReloadGivesTheOldRegionBack(t *testing.T) {
	const limitMiB, pages = 256, 3040 // 190 MiB, under the 3/4 high-water mark
	p, err := New(context.Background(), Options{Source: "strand", Module: fillingModule(t, pages, 0xAB),
		PoolSize: 1, MemoryLimitMiB: limitMiB, Timeout: 10 * time.Second, IdleTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	defer p.Close(context.Background())
	base := vmRSS(t)
	_, took, err := timedSpan(p, "x")
	require.NoError(t, err)
	t.Logf("first batch %v, RSS +%d MiB", took, (vmRSS(t)-base)>>20)

	require.NoError(t, p.Reload(context.Background(), fillingModule(t, pages, 0xCD)))
	for i := range 3 {
		_, took, err := timedSpan(p, "x")
		require.NoError(t, err)
		t.Logf("batch %d after reload %v", i, took)
	}
	time.Sleep(2500 * time.Millisecond) // idle retirement runs (it keeps one instance), and the unmapping
	grown := vmRSS(t) - base
	p.regions.mu.Lock()
	var spareRes int64
	for _, r := range p.regions.spares {
		spareRes += residentBytes(r.mem[:r.used])
	}
	p.regions.mu.Unlock()
	t.Logf("after reload: RSS +%d MiB; spare regions resident %d MiB, live instances %d", grown>>20, spareRes>>20, p.LiveInstances())
	require.Zero(t, spareRes, "a retired instance's memory stays resident as a spare")
	require.Less(t, grown, int64(limitMiB+32)<<20, "pool_size 1 held more than memory_limit of guest memory")
}

// initFillGuest fills PAGES pages of its memory in wasmcol_init, under
// the start's deadline, and traps in every call.
const initFillGuest = `(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32)
    (drop (memory.grow (i32.const PAGES)))
    (memory.fill (i32.const 0) (i32.const 0xAB) (i32.mul (i32.const PAGES) (i32.const 65536)))
    (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) unreachable))`

// An instance discarded when the pool kept no room for its region had it
// unmapped at once, in the batch that discarded it, after its call: no
// deadline splits an munmap. After a reload the spare held the retired
// instance's region (TestReloadGivesTheOldRegionBack), so the next
// instance discarded met that. Here regions are mapped without
// transparent huge pages, as on a node where THP is off; unmapping 3 GiB
// of 4 KiB pages took 402 ms on this machine, 760 MiB here 33-68 ms under
// a 5 ms timeout (attack round 28b).
func TestDiscardDoesNotUnmapInTheBatch(t *testing.T) {
	defer func(r func(uint64) (*region, error)) { reserveRegion = r }(reserveRegion)
	reserveRegion = func(size uint64) (*region, error) {
		r, err := newRegion(size)
		if err == nil && len(r.mem) > 0 {
			_ = syscall.Madvise(r.mem, 15 /* MADV_NOHUGEPAGE: THP off */)
		}
		return r, err
	}
	const timeout = 5 * time.Millisecond
	mod := watModule(t, strings.ReplaceAll(initFillGuest, "PAGES", "12160"), false) // 760 MiB
	p, err := New(context.Background(), Options{Source: "unmap", Module: mod,
		PoolSize: 1, MemoryLimitMiB: 1024, Timeout: timeout, StartTimeout: 30 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	require.NoError(t, p.Reload(context.Background(), mod)) // the old region becomes the spare
	_, took, err := timedSpan(p, "x")
	t.Logf("batch whose instance traps: %v, %v", took, err)
	require.Error(t, err)
	require.Less(t, took, timeout*3/2, "discarding the instance ran past the batch's timeout")
}
