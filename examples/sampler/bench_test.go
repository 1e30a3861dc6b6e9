// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/probabilisticsamplerprocessor"

	"github.com/wasmcol/wasmcol/examples/internal/benchutil"
	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

const benchPercentage = 25

// BenchmarkCmp_Sampler: the filter with one catch-all rule, with its
// always-keep checks on, against probabilistic_sampler in proportional
// mode at the same percentage, on 1,000 spans of Knative and KEDA traces.
// The batch has no errors or marks, so both keep the same spans.
func BenchmarkCmp_Sampler(b *testing.B) {
	td := fixtures.Batch(1000, fixtures.MixAll)
	wasmP, wasmSink := wasmtest.WasmTraces(b, wasmtest.BuildGuest(b, "."), map[string]any{
		"rules": []any{map[string]any{"name": "all", "percentage": benchPercentage}},
	})
	nativeP, nativeSink := wasmtest.StartTraces(b, probabilisticsamplerprocessor.NewFactory(), map[string]any{
		"mode": "proportional", "sampling_percentage": benchPercentage,
	})
	wasm, native := benchutil.Side{P: wasmP, Sink: wasmSink}, benchutil.Side{P: nativeP, Sink: nativeSink}
	benchutil.AssertSame(b, wasm, native, td)
	b.Run("wasm", func(b *testing.B) { benchutil.Measure(b, wasm, td) })
	b.Run("probabilistic_sampler", func(b *testing.B) { benchutil.Measure(b, native, td) })
}
