// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"encoding/binary"
	"os"
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
// MADV_DONTNEED. A page not resident is one the guest never touched, which
// reads as zero already, or one the system swapped out, which still holds
// the last guest's bytes: DONTNEED on a private anonymous mapping drops it
// from swap too, and it then reads as zero. Writing zeroes to it instead
// would swap it back in first.
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

var pageSize = os.Getpagesize()

// freshBytes is what faulting in mem, within one huge page, is reckoned
// to back: the whole huge page when mincore finds any of mem's pages not
// backed, since where transparent huge pages are on the system backs the
// whole of it at once (a step that reckoned only the 64 KiB it lacked
// took 2-4 ms for the 2 MiB); 0 when all are backed or it cannot tell.
func freshBytes(mem []byte) int {
	var vec [populateStep / 4096]byte
	n := (len(mem) + pageSize - 1) / pageSize
	if len(mem) == 0 || n > len(vec) || mincore(mem, vec[:n]) != nil {
		return 0
	}
	for _, v := range vec[:n] {
		if v&1 == 0 {
			return populateStep
		}
	}
	return 0
}

// faultIn backs mem's pages ahead of the guest, with MADV_POPULATE_WRITE
// (Linux 5.14), which costs little for the pages already backed; on an
// older kernel by writing a zero to each page, which the pages above a
// memory's size hold already.
func faultIn(mem []byte) {
	if len(mem) == 0 {
		return
	}
	if err := syscall.Madvise(mem, 23 /* MADV_POPULATE_WRITE */); err != nil {
		touchPages(mem)
	}
}

// mincore sets bit 0 of vec[i] when page i of mem is resident.
func mincore(mem, vec []byte) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)),
		uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return e
	}
	return nil
}

// What clearRuns does with a page, by vec's value.
const (
	pageNotResident = 0 // MADV_DONTNEED
	pageResident    = 1 // write zeroes
	pageUntouched   = 2 // nothing: neither resident nor in swap
)

// pagesPerCall: a DONTNEED call costs about what reading this many
// pages' entries of the page map does (1.5 us against 19 ns here). With
// more runs not resident than pages/pagesPerCall, reading the map once, to
// tell the pages in swap from those never touched, costs less than a call
// per run.
const pagesPerCall = 64

// clearRuns zeroes mem given vec, mincore's answer for it, a run of pages
// alike at a time.
func clearRuns(mem, vec []byte) {
	runs := 0
	for i := range vec {
		vec[i] &= 1 // mincore's other bits are reserved
		if vec[i] == pageNotResident && (i == 0 || vec[i-1] != pageNotResident) {
			runs++
		}
	}
	if runs > len(vec)/pagesPerCall {
		markUntouched(mem, vec)
	}
	for i := 0; i < len(vec); {
		kind := vec[i]
		j := i + 1
		for j < len(vec) && vec[j] == kind {
			j++
		}
		run := mem[i*pageSize : min(j*pageSize, len(mem))]
		switch kind {
		case pageResident:
			clear(run)
		case pageNotResident:
			if err := syscall.Madvise(run, syscall.MADV_DONTNEED); err != nil {
				clear(run) // not expected on an anonymous mapping; zeroes all the same
			}
		}
		i = j
	}
}

// markUntouched marks pageUntouched the pages of vec not resident that
// the page map (/proc/self/pagemap, which a process may read for itself)
// shows neither present nor swapped. When it cannot be read, vec stays as
// it is and every page not resident is handed back.
func markUntouched(mem, vec []byte) {
	const present, swapped = 1 << 63, 1 << 62
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 8*len(vec))
	if _, err := f.ReadAt(buf, int64(uintptr(unsafe.Pointer(&mem[0]))/uintptr(pageSize))*8); err != nil {
		return
	}
	for i := range vec {
		if e := binary.NativeEndian.Uint64(buf[8*i:]); vec[i] == pageNotResident && e&(present|swapped) == 0 {
			vec[i] = pageUntouched
		}
	}
}
