// SPDX-License-Identifier: Apache-2.0

//go:build unix

package wasmhost

import "syscall"

// region is address space reserved for one linear memory at its limit.
// The system backs pages only as the guest touches them, so reserving the
// limit costs nothing until used; the memory lies outside the Go heap, so
// it neither moves nor counts towards the garbage collector's pacing.
type region struct {
	mem  []byte
	used uint64 // bytes handed out, which may have been written
}

func newRegion(size uint64) (*region, error) {
	if size == 0 {
		return &region{}, nil
	}
	mem, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil {
		return nil, err
	}
	adviseRegion(mem)
	return &region{mem: mem}, nil
}

func (r *region) free() {
	if len(r.mem) > 0 {
		_ = syscall.Munmap(r.mem)
	}
	r.mem = nil
}
