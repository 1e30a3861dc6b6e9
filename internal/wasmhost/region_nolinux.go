// SPDX-License-Identifier: Apache-2.0

//go:build unix && !linux

package wasmhost

const mapNoReserve = 0

func adviseRegion([]byte) {}

// clearTouched zeroes mem; without mincore every byte is cleared.
func clearTouched(mem []byte) { clear(mem) }

// faultIn backs mem's pages ahead of the guest: they hold zeroes already.
func faultIn(mem []byte) { touchPages(mem) }

// freshBytes cannot tell what the system has backed here: 0.
func freshBytes([]byte) int { return 0 }
