// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"syscall"
	"unsafe"
)

// mapNoReserve: reserving the limit must not count against overcommit.
const mapNoReserve = syscall.MAP_NORESERVE

// adviseRegion asks for transparent huge pages. A guest's memory is touched
// page by page as it grows; on virtual machines each 4 KiB page fault can
// cost 10-20 us (measured here: 64 MiB took 210-290 ms to touch), while
// with 2 MiB pages the same 64 MiB took 4 ms once the machine had backed
// them. Where THP is off the advice is ignored.
func adviseRegion(mem []byte) { _ = syscall.Madvise(mem, 14 /* MADV_HUGEPAGE */) }

// clearTouched zeroes mem, the part of a region the last guest was
// handed, for the next one. Pages are cleared by what mincore says of
// them: resident ones by writing zeroes, so that they stay backed and the
// next guest does not pay again to touch them; the others with
// MADV_DONTNEED. A page not resident is one the guest never touched, where
// that costs one call per run and changes nothing, or one the system
// swapped out, which still holds the last guest's bytes: DONTNEED on a
// private anonymous mapping drops it from swap too, and it reads as zero.
// Writing zeroes to it instead would swap it back in first.
func clearTouched(mem []byte) {
	if len(mem) == 0 {
		return
	}
	vec := make([]byte, (len(mem)+pageSize-1)/pageSize)
	if err := mincore(mem, vec); err != nil {
		// Cannot tell: hand every page back, which zeroes them.
		_ = syscall.Madvise(mem, syscall.MADV_DONTNEED)
		return
	}
	clearRuns(mem, vec)
}

const pageSize = 4096

// mincore sets bit 0 of vec[i] when page i of mem is resident.
func mincore(mem, vec []byte) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)),
		uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return e
	}
	return nil
}

// clearRuns zeroes mem given vec, mincore's answer for it, a run of pages
// alike at a time.
func clearRuns(mem, vec []byte) {
	for i := 0; i < len(vec); {
		resident := vec[i] & 1
		j := i + 1
		for j < len(vec) && vec[j]&1 == resident {
			j++
		}
		run := mem[i*pageSize : min(j*pageSize, len(mem))]
		if resident != 0 {
			clear(run)
		} else if err := syscall.Madvise(run, syscall.MADV_DONTNEED); err != nil {
			clear(run) // not expected on an anonymous mapping; zeroes all the same
		}
		i = j
	}
}
