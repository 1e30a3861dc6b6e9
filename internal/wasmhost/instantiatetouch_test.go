// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sparseDataGuest declares PAGES pages of memory and one active data
// segment of one byte every STRIDE bytes of it.
func sparseDataGuest(pages, stride int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `(module
  (memory (export "memory") %d)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) unreachable)
`, pages)
	for off := 0; off < pages*65536; off += stride {
		fmt.Fprintf(&b, "  (data (i32.const %d) \"\\01\")\n", off)
	}
	b.WriteString(")")
	return b.String()
}

// A module's active data segments are copied into its memory inside
// InstantiateModule, and startNs reckons them by the data section's size,
// 4 ns a byte: a segment of one byte, about ten bytes of section, touches a
// whole huge page (or a 4 KiB page) first. A start on a fresh region (a
// batch arriving while every live instance is busy, with pool_size > 1;
// again after idle retirement unmapped that region; the first start after
// a reload) faulted in up to memory_limit in one step no check splits:
// 1.69-1.94 s under a 5 ms timeout for 1 GiB in huge pages, 690-694 ms for
// 256 MiB in 4 KiB pages, when the initial memory was faulted in only
// after InstantiateModule (attack round 28c). It is faulted in before now.
func TestDataSegmentsOnAFreshRegionStopAtTheDeadline(t *testing.T) {
	for _, c := range []struct {
		name          string
		pages, stride int
		noHuge        bool
	}{
		{"huge pages, a byte every 2 MiB of 1 GiB", 16384, 2 << 20, false},
		{"small pages, a byte every 4 KiB of 256 MiB", 4096, 4096, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.noHuge {
				withoutHugePages(t)
			}
			mod := watModule(t, sparseDataGuest(c.pages, c.stride), false)
			t.Logf("module of %d bytes, startNs reckons %v", len(mod), time.Duration(startNs(mod)))
			requireFreshStartInTime(t, mod, "a start on a fresh region wrote data segments between two deadline checks")
		})
	}
}

// startSectionGuest declares PAGES pages of memory, and its start section
// stores one byte every STRIDE bytes of them: wazero runs it inside
// InstantiateModule, whatever WithStartFunctions says. Before the initial
// memory was faulted in ahead of it: 63 ms to 2.02 s under a 5 ms timeout
// for 1 GiB in huge pages, 611 ms for 256 MiB in 4 KiB pages.
const startSectionGuest = `(module
  (memory (export "memory") PAGES)
  (func $touch (local $a i32) (local $end i32)
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (loop $l
      (i32.store8 (local.get $a) (i32.const 1))
      (local.set $a (i32.add (local.get $a) (i32.const STRIDE)))
      (br_if $l (i32.lt_u (local.get $a) (local.get $end)))))
  (start $touch)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) unreachable))`

func TestStartSectionOnAFreshRegionStopsAtTheDeadline(t *testing.T) {
	for _, c := range []struct {
		name          string
		pages, stride string
		noHuge        bool
	}{
		{"huge pages, a byte every 2 MiB of 1 GiB", "16384", "2097152", false},
		{"small pages, a byte every 4 KiB of 256 MiB", "4096", "4096", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.noHuge {
				withoutHugePages(t)
			}
			src := strings.Replace(strings.Replace(startSectionGuest, "PAGES", c.pages, 1), "STRIDE", c.stride, 1)
			requireFreshStartInTime(t, watModule(t, src, false), "a start section first-touched a fresh region between two deadline checks")
		})
	}
}

// requireFreshStartInTime runs a batch that starts an instance of mod on a
// fresh region, the instance New started being busy with another batch,
// and requires it to end within half its 5 ms timeout past it.
func requireFreshStartInTime(t *testing.T, mod []byte, msg string) {
	t.Helper()
	const timeout = 5 * time.Millisecond
	p, err := New(context.Background(), Options{Source: t.Name(), Module: mod,
		PoolSize: 2, MemoryLimitMiB: 2048, Timeout: timeout, StartTimeout: 30 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	g, busy, _, err := p.acquire(context.Background())
	require.NoError(t, err)
	defer g.release(busy, true)
	_, took, err := timedSpan(p, "x")
	t.Logf("batch that started an instance: %v, %v", took, err)
	require.Less(t, took, timeout*3/2, msg)
}
