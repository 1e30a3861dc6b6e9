// SPDX-License-Identifier: Apache-2.0

package coinflip

import (
	"path/filepath"
	"testing"

	"github.com/wasmcol/wasmcol/internal/wasmtest"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
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

// TestGoldenBuiltin runs them as builtin:coinflip, the filter as it ships: one
// of the four in the built-in filters' module, committed and embedded in
// the binary. After changing the filter, `make builtins` rebuilds it.
func TestGoldenBuiltin(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wasmtest.GoldenModule(t, "builtin:coinflip", c.config, filepath.Join("testdata", c.name))
		})
	}
}

// notAString is a batch whose resources have a service.name of every
// kind but a string (int, double, bool, bytes, map, list), an empty one,
// none, and two strings, one of them a pod's name: only the strings may
// count, as pdata's Str reads the others as "". The bytes, the map and the
// list hold a pod's name, so a filter that read them would rename or tag
// their resources; the int, double and bool only hold it to not failing.
const notAString = "service-name-not-a-string"

// TestServiceNameNotAString runs that case in the emulator, compiled, and
// as the built-in.
func TestServiceNameNotAString(t *testing.T) {
	dir := filepath.Join("testdata", notAString)
	sdktest.Golden(t, &filter{}, "", dir)
	wasmtest.Golden(t, "..", "", dir)
	wasmtest.GoldenModule(t, "builtin:coinflip", "", dir)
}
