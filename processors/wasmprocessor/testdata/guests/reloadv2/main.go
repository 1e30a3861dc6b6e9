// SPDX-License-Identifier: Apache-2.0

// Command reloadv2 is version 2 of a filter that the hot-reload test swaps
// in and out: it sets filter.version=2 on every span. Its instances record
// in the shared key-value store that they started (see reloadv1).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o reloadv2.wasm .
package main

import (
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type version struct{}

func (version) Init(c wasmcol.Config) error {
	return c.Host().KV().Set("reloadv2.started", []byte("yes"))
}

func (version) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		s.SetAttr("filter.version", wasmcol.Int(2))
	}
	return nil
}

func init() { wasmcol.Register(version{}) }

func main() {}
