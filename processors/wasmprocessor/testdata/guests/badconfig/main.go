// SPDX-License-Identifier: Apache-2.0

// Command badconfig is a filter with a strict configuration: it decodes
// its config with Config.Decode, which rejects unknown keys, and checks
// the value it gets. A bad config must fail the Collector's start with the
// filter's own message.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o badconfig.wasm .
package main

import (
	"fmt"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type badconfig struct {
	Ratio float64 `json:"ratio"`
}

func (f *badconfig) Init(c wasmcol.Config) error {
	if err := c.Decode(f); err != nil {
		return err
	}
	if f.Ratio < 0 || f.Ratio > 1 {
		return fmt.Errorf("badconfig: ratio must be within [0, 1], got %g", f.Ratio)
	}
	return nil
}

func (f *badconfig) ProcessTraces(wasmcol.Traces) error { return nil }

func init() { wasmcol.Register(&badconfig{}) }

func main() {}
