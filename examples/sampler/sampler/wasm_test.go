// SPDX-License-Identifier: Apache-2.0

package sampler

import (
	"path/filepath"
	"testing"

	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// TestGoldenWasm runs the golden cases again with the filter compiled to
// Wasm, in the real wasm processor: the same expected.json must come out.
func TestGoldenWasm(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			config := c.config
			if config == "" {
				config = "{}"
			}
			wasmtest.Golden(t, "..", config, filepath.Join("testdata", c.name))
		})
	}
}
