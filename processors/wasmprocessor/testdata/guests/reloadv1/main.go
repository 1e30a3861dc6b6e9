// SPDX-License-Identifier: Apache-2.0

// Command reloadv1 is version 1 of a filter that the hot-reload test swaps
// in and out: it sets filter.version=1 on every span. A span named
// "slow" makes it take a second, so that a batch is in flight during a swap.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o reloadv1.wasm .
package main

import (
	"time"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type version struct{}

func (version) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		if s.Name() == "slow" {
			time.Sleep(time.Second)
		}
		s.SetAttr("filter.version", wasmcol.Int(1))
	}
	return nil
}

func init() { wasmcol.Register(version{}) }

func main() {}
