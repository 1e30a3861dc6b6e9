// SPDX-License-Identifier: Apache-2.0

// Command coinflip is a wasmcol filter for the Knative coinflip demo: it
// promotes the `flipped` span event's result to a span attribute, and turns
// pod names used as service.name back into a stable service name. See
// README.md for its config.
//
// The filter's code and tests are in package coinflip, so that the
// built-in filters' module (examples/builtins) can hold it too. Build it
// with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o coinflip.wasm .
package main

import (
	"github.com/wasmcol/wasmcol/examples/coinflip/coinflip"
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() { wasmcol.Register(coinflip.New()) }

func main() {}
