// SPDX-License-Identifier: Apache-2.0

// Command leaky is a filter that leaks: every batch adds config "leak_kib"
// KiB (default 256) to a slice it never frees, as a filter with an
// unbounded cache would. Every span gets guest.leaked_kib (what this
// instance holds) and guest.memory_kib (the instance's Go heap, from the
// Go runtime), so a test can watch the leak being contained by recycling.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o leaky.wasm .
package main

import (
	"runtime"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type leaky struct {
	LeakKiB int `json:"leak_kib"`
}

var leak [][]byte

func (f *leaky) Init(c wasmcol.Config) error {
	f.LeakKiB = 256
	return c.Decode(f)
}

func (f *leaky) ProcessTraces(t wasmcol.Traces) error {
	chunk := make([]byte, f.LeakKiB<<10)
	for i := 0; i < len(chunk); i += 4096 {
		chunk[i] = 1
	}
	leak = append(leak, chunk)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	leaked := int64(len(leak) * f.LeakKiB)
	for s := range t.Spans() {
		s.SetAttr("guest.leaked_kib", wasmcol.Int(leaked))
		s.SetAttr("guest.memory_kib", wasmcol.Int(int64(ms.Sys>>10)))
	}
	return nil
}

func init() { wasmcol.Register(&leaky{}) }

func main() {}
