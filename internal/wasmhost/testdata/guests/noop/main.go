// SPDX-License-Identifier: Apache-2.0

// Command noop is a filter that changes nothing, for measuring the cost of
// a call. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o noop.wasm .
package main

import wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"

type noop struct{}

func (noop) ProcessTraces(wasmcol.Traces) error   { return nil }
func (noop) ProcessMetrics(wasmcol.Metrics) error { return nil }
func (noop) ProcessLogs(wasmcol.Logs) error       { return nil }

func init() { wasmcol.Register(noop{}) }

func main() {}
