// SPDX-License-Identifier: Apache-2.0

package sampler

import (
	"path/filepath"
	"testing"

	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// TestGoldenWasm runs the golden cases again with the filter compiled to
// Wasm (its own module, built from the command in ..), in the real wasm
// processor: the same expected.json must come out.
func TestGoldenWasm(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wasmtest.Golden(t, "..", c.config, filepath.Join("testdata", c.name))
		})
	}
}

// TestGoldenBuiltin runs them as builtin:sampler, the filter as it ships: one
// of the four in the built-in filters' module, committed and embedded in
// the binary. After changing the filter, `make builtins` rebuilds it.
func TestGoldenBuiltin(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wasmtest.GoldenModule(t, "builtin:sampler", c.config, filepath.Join("testdata", c.name))
		})
	}
}
