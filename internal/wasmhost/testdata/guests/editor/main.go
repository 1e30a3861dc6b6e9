// SPDX-License-Identifier: Apache-2.0

// Command editor runs the editor test filter as a guest. Build:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o editor.wasm .
package main

import (
	"github.com/wasmcol/wasmcol/internal/testfilters/editor"
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() { wasmcol.Register(editor.Filter{}) }

func main() {}
