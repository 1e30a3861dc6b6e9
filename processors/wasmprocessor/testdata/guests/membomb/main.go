// SPDX-License-Identifier: Apache-2.0

// Command membomb is a hostile filter that allocates without bound when a
// batch holds a span named "bomb", until the host's memory limit stops it.
// Other batches get the attribute instance.calls, the number of batches
// this instance has seen, so a test can tell a fresh instance from a
// reused one.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o membomb.wasm .
package main

import (
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type membomb struct{ calls int64 }

// hoard keeps every chunk reachable so the garbage collector cannot help.
var hoard [][]byte

func (m *membomb) ProcessTraces(t wasmcol.Traces) error {
	m.calls++
	for s := range t.Spans() {
		if s.Name() == "bomb" {
			for {
				hoard = append(hoard, make([]byte, 1<<20))
			}
		}
		if s.Name() == "grow" {
			// One slice that keeps growing: each growth asks for a block
			// larger than all the memory in use, so the last request can
			// fail with the memory far below the limit.
			var b []byte
			for {
				b = append(b, make([]byte, 1<<20)...)
				hoard = append(hoard[:0], b)
			}
		}
	}
	for s := range t.Spans() {
		s.SetAttr("instance.calls", wasmcol.Int(m.calls))
	}
	return nil
}

func init() { wasmcol.Register(&membomb{}) }

func main() {}
