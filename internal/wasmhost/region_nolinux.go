// SPDX-License-Identifier: Apache-2.0

//go:build unix && !linux

package wasmhost

const mapNoReserve = 0

func adviseRegion([]byte) {}

// clearTouched zeroes mem; without mincore every byte is cleared.
func clearTouched(mem []byte) { clear(mem) }
