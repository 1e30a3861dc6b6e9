// SPDX-License-Identifier: Apache-2.0

// Command logspam is a hostile filter that tries to flood the Collector's
// log: on every batch it writes config "lines" lines (default 1000) through
// the SDK's Log, and as many again to stdout and to stderr.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o logspam.wasm .
package main

import (
	"fmt"
	"os"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type logspam struct{ lines int }

func (f *logspam) Init(c wasmcol.Config) error {
	cfg := struct {
		Lines int `json:"lines"`
	}{Lines: 1000}
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	f.lines = cfg.Lines
	return nil
}

func (f *logspam) ProcessTraces(t wasmcol.Traces) error {
	h := t.Host()
	for i := 0; i < f.lines; i++ {
		h.Logf(wasmcol.LevelInfo, "logspam: sdk line %d", i)
		fmt.Printf("logspam: stdout line %d\n", i)
		fmt.Fprintf(os.Stderr, "logspam: stderr line %d\n", i)
	}
	return nil
}

func init() { wasmcol.Register(&logspam{}) }

func main() {}
