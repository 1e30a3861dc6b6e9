// SPDX-License-Identifier: Apache-2.0

// Command kernels runs the kernels test filter as a guest. Build:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o kernels.wasm .
package main

import (
	"github.com/wasmcol/wasmcol/internal/testfilters/kernels"
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() { wasmcol.Register(kernels.Filter{}) }

func main() {}
