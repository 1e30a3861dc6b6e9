// SPDX-License-Identifier: Apache-2.0

// Command tagger does the work of the OTTL statement
//
//	set(attributes["x"], "y") where IsMatch(name, "^broker:")
//
// so that benchmarks compare equal work. Build:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o tagger.wasm .
package main

import (
	"strings"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type tagger struct{}

var y = wasmcol.Str("y")

func (tagger) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		if strings.HasPrefix(s.Name(), "broker:") {
			s.SetAttr("x", y)
		}
	}
	return nil
}

func init() { wasmcol.Register(tagger{}) }

func main() {}
