// SPDX-License-Identifier: Apache-2.0

package sampler

import (
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/probabilisticsamplerprocessor"

	"github.com/wasmcol/wasmcol/examples/internal/benchutil"
	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

const benchPercentage = 25

// BenchmarkCmp_Sampler compares equal work: probabilistic_sampler in
// proportional mode, and the filter configured to do what it does (one
// catch-all rule at the same percentage, sampling.priority honoured, no
// always-keep checks, which the processor does not have), on 1,000 spans
// of Knative and KEDA traces.
func BenchmarkCmp_Sampler(b *testing.B) {
	td := fixtures.Batch(1000, fixtures.MixAll)
	wasmP, wasmSink := wasmtest.WasmTraces(b, wasmtest.BuildGuest(b, ".."), map[string]any{
		"rules":       []any{map[string]any{"name": "all", "percentage": benchPercentage}},
		"keep_errors": false, "keep_cold_starts": false,
	})
	nativeP, nativeSink := wasmtest.StartTraces(b, probabilisticsamplerprocessor.NewFactory(), map[string]any{
		"mode": "proportional", "sampling_percentage": benchPercentage,
	})
	wasm, native := benchutil.Side{P: wasmP, Sink: wasmSink}, benchutil.Side{P: nativeP, Sink: nativeSink}
	benchutil.AssertSame(b, wasm, native, td)
	b.Run("wasm", func(b *testing.B) { benchutil.Measure(b, wasm, td) })
	b.Run("probabilistic_sampler", func(b *testing.B) { benchutil.Measure(b, native, td) })
}

// BenchmarkSampler is the filter as a user runs it: the default config
// (always-keep checks on), a rule on cloudevents.type decided per trace,
// and a catch-all, on the same batch. It does more than the processor
// can, so it has nothing to compare with.
func BenchmarkSampler(b *testing.B) {
	td := fixtures.Batch(1000, fixtures.MixAll)
	p, sink := wasmtest.WasmTraces(b, wasmtest.BuildGuest(b, ".."), map[string]any{
		"rule_attribute": "sampling.rule",
		"rules": []any{
			map[string]any{"name": "heartbeats", "attribute": "cloudevents.type", "equals": fixtures.HeartbeatType, "percentage": 10},
			map[string]any{"name": "everything-else", "percentage": benchPercentage},
		},
	})
	side := benchutil.Side{P: p, Sink: sink}
	if out := side.Once(b, td); out.SpanCount() == 0 || ptracetest.CompareTraces(td, out) == nil {
		b.Fatal("the filter kept nothing or changed nothing: the batch measures no work")
	}
	b.Run("wasm", func(b *testing.B) { benchutil.Measure(b, side, td) })
}
