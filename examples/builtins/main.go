// SPDX-License-Identifier: Apache-2.0

// Command builtins is the module of wasmcol's built-in filters: one Wasm
// module holding the four, each run by the name the processor gives it
// (builtin:<name>), so that they share one Go runtime, one compilation and
// one copy of compiled code instead of four. `make builtins` builds it
// into processors/wasmprocessor/builtin. Each filter's own module, for
// reading and for writing one like it, is in examples/<name>.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o builtins.wasm .
package main

import (
	"github.com/wasmcol/wasmcol/examples/coinflip/coinflip"
	"github.com/wasmcol/wasmcol/examples/kedify/kedify"
	"github.com/wasmcol/wasmcol/examples/knative-hops/knativehops"
	"github.com/wasmcol/wasmcol/examples/sampler/sampler"
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() {
	wasmcol.RegisterAs("knative-hops", knativehops.New())
	wasmcol.RegisterAs("coinflip", coinflip.New())
	wasmcol.RegisterAs("kedify", kedify.New())
	wasmcol.RegisterAs("sampler", sampler.New())
}

func main() {}
