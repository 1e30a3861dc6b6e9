// SPDX-License-Identifier: Apache-2.0

package sdktest

import "github.com/wasmcol/wasmcol/wasm-sdk/abi"

// colWriter writes one column in the ABI's layout. The emulator and the
// real host share abi.ColumnWriter, so the layout is defined once.
type colWriter = abi.ColumnWriter

func newColWriter(dst []byte, n int) *colWriter {
	w := abi.NewColumnWriter(dst, n)
	return &w
}
