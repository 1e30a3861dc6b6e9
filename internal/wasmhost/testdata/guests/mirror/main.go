// SPDX-License-Identifier: Apache-2.0

// Command mirror runs the mirror test filter as a guest. Build:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mirror.wasm .
package main

import (
	"github.com/wasmcol/wasmcol/internal/testfilters/mirror"
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() { wasmcol.Register(mirror.Filter{}) }

func main() {}
