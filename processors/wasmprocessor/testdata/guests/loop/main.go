// SPDX-License-Identifier: Apache-2.0

// Command loop is a hostile filter that never returns from a batch holding
// a span named "loop" (a tight loop with no calls or allocation, so only a
// deadline compiled into the loop can stop it) or "sleep" (parked in the
// host's clock, where no compiled check runs). Other batches get the
// attribute instance.calls, the number of batches this instance has seen,
// so a test can tell a fresh instance from a reused one.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o loop.wasm .
package main

import (
	"time"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type loop struct{ calls int64 }

func (l *loop) ProcessTraces(t wasmcol.Traces) error {
	l.calls++
	for s := range t.Spans() {
		switch s.Name() {
		case "loop":
			spin()
		case "sleep":
			for {
				time.Sleep(time.Hour)
			}
		}
	}
	for s := range t.Spans() {
		s.SetAttr("instance.calls", wasmcol.Int(l.calls))
	}
	return nil
}

// spin is a separate function so that the compiler keeps the loop as is.
//
//go:noinline
func spin() {
	for {
	}
}

func init() { wasmcol.Register(&loop{}) }

func main() {}
