// SPDX-License-Identifier: Apache-2.0

// Command sampler is a wasmcol filter for consistent, rule-based
// probability sampling: each rule (first match wins) samples its traces at
// its own percentage, deciding by trace ID exactly as the Collector's
// probabilistic_sampler does in proportional mode, so every span of a trace
// gets the same decision across batches and replicas. Errors, 5xx and
// cold starts are always kept. See README.md for its config.
//
// The filter's code and tests are in package sampler, so that the
// built-in filters' module (examples/builtins) can hold it too. Build it
// with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o sampler.wasm .
package main

import (
	"github.com/wasmcol/wasmcol/examples/sampler/sampler"
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() { wasmcol.Register(sampler.New()) }

func main() {}
