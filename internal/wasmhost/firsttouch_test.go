// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// strideGuest grows its memory by PAGES pages in every call and stores
// one byte every STRIDE bytes of it, then traps. A loop iteration is a
// handful of instructions, so a million-instruction fuel budget lets it
// run ~100,000 iterations between two deadline checks; when every
// iteration first-touches a page, the system's page fault, not the
// instructions, is what takes the time, and no check is charged for it.
const strideGuest = `(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (local $a i32) (local $end i32)
    (drop (memory.grow (i32.const PAGES)))
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (loop $l
      (i32.store8 (local.get $a) (i32.const 1))
      (local.set $a (i32.add (local.get $a) (i32.const STRIDE)))
      (br_if $l (i32.lt_u (local.get $a) (local.get $end))))
    unreachable))`

func strideModule(t *testing.T, pages, stride int) []byte {
	src := strings.ReplaceAll(strideGuest, "PAGES", strconv.Itoa(pages))
	return watModule(t, strings.Replace(src, "STRIDE", strconv.Itoa(stride), 1), false)
}

// withoutHugePages maps regions as on a node where transparent huge
// pages are off.
func withoutHugePages(t *testing.T) {
	r0 := reserveRegion
	t.Cleanup(func() { reserveRegion = r0 })
	reserveRegion = func(size uint64) (*region, error) {
		r, err := newRegion(size)
		if err == nil && len(r.mem) > 0 {
			_ = syscall.Madvise(r.mem, 15 /* MADV_NOHUGEPAGE */)
		}
		return r, err
	}
}

// A guest's first store to a page the system has not backed costs a page
// fault that no instruction count sees. On a fresh region (the plugin's
// first instances, an instance after a reload, a region idle retirement or
// a reload unmapped), a guest that grew its memory and stored a byte every
// 2 MiB huge page ran hundreds of faults inside one fuel budget: 857 ms to
// 1.17 s for 512-1,000 MiB under a 5 ms timeout (attack round 28b). A
// grow's pages are faulted in by the host now (populate), its deadline
// checked. Each round is a new plugin, so a fresh region, with transparent
// huge pages as the host advises them.
func TestFirstTouchOfFreshHugePagesStopsAtTheDeadline(t *testing.T) {
	const timeout = 5 * time.Millisecond
	worst := time.Duration(0)
	for i := range 3 {
		p, err := New(context.Background(), Options{Source: "toucher", Module: strideModule(t, 8192, 2<<20), // 512 MiB
			PoolSize: 1, MemoryLimitMiB: 1024, Timeout: timeout, StartTimeout: 30 * time.Second})
		require.NoError(t, err)
		_, took, err := timedSpan(p, "x")
		t.Logf("round %d, batch on a fresh region: %v, %v", i, took, err)
		require.Error(t, err)
		require.NoError(t, p.Close(context.Background()))
		worst = max(worst, took)
	}
	require.Less(t, worst, timeout*3/2, "first-touching the region ran between two deadline checks")
}

// The same with 4 KiB pages (transparent huge pages off): a byte a page
// over 256 MiB, 65,536 faults in one fuel budget, took 729-850 ms under
// 5 ms.
func TestFirstTouchOfFreshSmallPagesStopsAtTheDeadline(t *testing.T) {
	withoutHugePages(t)
	const timeout = 5 * time.Millisecond
	p, err := New(context.Background(), Options{Source: "toucher", Module: strideModule(t, 4096, 4096), // 256 MiB
		PoolSize: 1, MemoryLimitMiB: 1024, Timeout: timeout, StartTimeout: 30 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	_, took, err := timedSpan(p, "x")
	t.Logf("batch on a fresh region: %v, %v", took, err)
	require.Error(t, err)
	require.Less(t, took, timeout*3/2, "first-touching the region ran between two deadline checks")
}

// A reload hands the new generation a fresh region, so the faults came
// back after every reload: 443 ms after the first (attack round 28b).
func TestFirstTouchAfterAReloadStopsAtTheDeadline(t *testing.T) {
	const timeout = 5 * time.Millisecond
	// Returns 0 instead of trapping: the old instance stays live, its
	// region out, when the reload starts the new one.
	mod := watModule(t, strings.Replace(strings.ReplaceAll(strings.Replace(strideGuest, "STRIDE", strconv.Itoa(2<<20), 1),
		"PAGES", "4096"), "unreachable", "(i32.const 0)", 1), false) // 256 MiB
	p, err := New(context.Background(), Options{Source: "toucher", Module: mod,
		PoolSize: 1, MemoryLimitMiB: 1024, Timeout: timeout, StartTimeout: 30 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := time.Duration(0)
	for i := range 3 {
		// Until a batch succeeds, so that an instance is idle, its region
		// out, when the reload starts the next generation's first one.
		for j := 0; j < 200; j++ {
			if _, _, err := timedSpan(p, "x"); err == nil {
				break
			}
		}
		require.NoError(t, p.Reload(context.Background(), mod))
		_, took, err := timedSpan(p, "x")
		t.Logf("first batch after reload %d: %v, %v", i, took, err)
		worst = max(worst, took)
	}
	require.Less(t, worst, timeout*3/2, "a batch after a reload first-touched a fresh region between two deadline checks")
}
