// SPDX-License-Identifier: Apache-2.0

package wasmhost

import "syscall"

// mapNoReserve: reserving the limit must not count against overcommit.
const mapNoReserve = syscall.MAP_NORESERVE

// adviseRegion asks for transparent huge pages. A guest's memory is touched
// page by page as it grows; on virtual machines each 4 KiB page fault can
// cost 10-20 us (measured here: 64 MiB took 210-290 ms to touch), while
// with 2 MiB pages the same 64 MiB took 4 ms once the machine had backed
// them. Where THP is off the advice is ignored.
func adviseRegion(mem []byte) { _ = syscall.Madvise(mem, 14 /* MADV_HUGEPAGE */) }
