// SPDX-License-Identifier: Apache-2.0

// Command slow-spans is the README's five-minute filter: it marks spans
// that took longer than a threshold with slow=true. Build:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o slow-spans.wasm .
package main

import (
	"time"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type slow struct{ threshold time.Duration }

func (f *slow) Init(cfg wasmcol.Config) error {
	var c struct {
		Threshold string `json:"threshold"`
	}
	c.Threshold = "500ms"
	if err := cfg.Decode(&c); err != nil {
		return err // the Collector refuses to start, with this message
	}
	d, err := time.ParseDuration(c.Threshold)
	f.threshold = d
	return err
}

func (f *slow) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		if s.Duration() > f.threshold {
			s.SetAttr("slow", wasmcol.Bool(true))
		}
	}
	return nil
}

func init() { wasmcol.Register(&slow{}) }

func main() {}
