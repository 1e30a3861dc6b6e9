// SPDX-License-Identifier: Apache-2.0

package main

import (
	"strings"
	"testing"

	"github.com/wasmcol/wasmcol/internal/wasmtest"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

const config = `{"threshold":"1s"}`

// The same golden case natively, against the SDK's emulator, and compiled
// to Wasm under the real processor.
func TestGolden(t *testing.T) { sdktest.Golden(t, &slow{}, config, "testdata/threshold") }

func TestGoldenWasm(t *testing.T) { wasmtest.Golden(t, ".", config, "testdata/threshold") }

func TestMarksOnlySlowSpans(t *testing.T) {
	in := wasmtest.Read(t, "testdata/threshold/input.json")
	out, err := sdktest.Run(&slow{}, abi.SignalTraces, config, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(out), `"slow"`); got != 2 { // the span name, and its new attribute
		t.Fatalf("want the 1.5s span marked and the 0.2s span not, got %s", out)
	}
}

func TestBadConfigFailsStart(t *testing.T) {
	_, err := sdktest.Run(&slow{}, abi.SignalTraces, `{"treshold":"1s"}`, wasmtest.Read(t, "testdata/threshold/input.json"))
	if err == nil || !strings.Contains(err.Error(), "treshold") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}
