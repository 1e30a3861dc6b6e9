// SPDX-License-Identifier: Apache-2.0

// Command panicker is a hostile filter that fails in three ways, chosen by
// the name of a span in the batch:
//
//   - "panic": a Go panic, which the SDK recovers and reports with its
//     message (fault kind guest);
//   - "fail": an ordinary error returned from the filter (kind guest);
//   - "crash": a fatal runtime error (stack overflow) that no recover can
//     catch, so the Go runtime aborts the module (kind trap).
//
// Other batches get the attribute instance.calls, the number of batches
// this instance has seen.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o panicker.wasm .
package main

import (
	"errors"
	"runtime/debug"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type panicker struct{ calls int64 }

func (p *panicker) ProcessTraces(t wasmcol.Traces) error {
	p.calls++
	for s := range t.Spans() {
		switch s.Name() {
		case "panic":
			panic("panicker: asked to panic")
		case "fail":
			return errors.New("panicker: asked to fail")
		case "crash":
			// A small stack limit makes the overflow quick and keeps it far
			// from the memory limit, so it is a plain trap.
			debug.SetMaxStack(256 << 10)
			recurse(0)
		}
	}
	for s := range t.Spans() {
		s.SetAttr("instance.calls", wasmcol.Int(p.calls))
	}
	return nil
}

//go:noinline
func recurse(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	return recurse(n+1) + int(pad[0])
}

func init() { wasmcol.Register(&panicker{}) }

func main() {}
