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

// clearTouched zeroes the pages of mem a guest touched, and only those:
// mincore says which are resident. Clearing untouched ones would make the
// host, not the guest, pay to back memory the guest only declared (a
// guest can grow to its limit and never write).
func clearTouched(mem []byte) {
	const page = 4096
	if len(mem) == 0 {
		return
	}
	vec := make([]byte, (len(mem)+page-1)/page)
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)),
		uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		// Cannot tell: hand the pages back instead, which zeroes them.
		_ = syscall.Madvise(mem, syscall.MADV_DONTNEED)
		return
	}
	for i := 0; i < len(vec); {
		if vec[i]&1 == 0 {
			i++
			continue
		}
		j := i
		for j < len(vec) && vec[j]&1 != 0 {
			j++
		}
		clear(mem[i*page : min(j*page, len(mem))])
		i = j
	}
}
