// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package wasmhost

// region is a linear memory's bytes. Without mmap they are one Go slice
// allocated at the limit's capacity, which the system backs lazily.
type region struct {
	mem  []byte
	used uint64
}

func newRegion(size uint64) (*region, error) { return &region{mem: make([]byte, size)}, nil }

func (r *region) free() { r.mem = nil }

func clearTouched(mem []byte) { clear(mem) }

// faultIn backs mem's pages ahead of the guest: they hold zeroes already.
func faultIn(mem []byte) { touchPages(mem) }

// freshBytes cannot tell what the system has backed here: 0.
func freshBytes([]byte) int { return 0 }
