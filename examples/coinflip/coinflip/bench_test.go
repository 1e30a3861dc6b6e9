// SPDX-License-Identifier: Apache-2.0

package coinflip

import (
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"

	"github.com/wasmcol/wasmcol/examples/internal/benchutil"
	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// ottlConfig does what the filter does with its default config: the pod
// pattern on every resource, the flipped event's result onto its span.
func ottlConfig() map[string]any {
	pattern := `"` + jsonEscape(defaultPodPattern) + `"`
	return map[string]any{"trace_statements": []any{
		map[string]any{"context": "resource", "statements": []any{
			`set(attributes["k8s.pod.name"], attributes["service.name"]) where attributes["k8s.pod.name"] == nil and IsMatch(attributes["service.name"], ` + pattern + `)`,
			`replace_pattern(attributes["service.name"], ` + pattern + `, "${service}")`,
		}},
		map[string]any{"context": "spanevent", "statements": []any{
			`set(span.attributes["coinflip.result"], attributes["result"]) where name == "flipped"`,
		}},
	}}
}

// jsonEscape escapes backslashes and quotes for an OTTL string literal.
func jsonEscape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '"' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// BenchmarkCmp_Coinflip: the filter, the transform processor doing the
// same edits in OTTL, and the same filter written as a native Go processor
// (native_test.go), on 1,000 spans of both Knative eras. The native side
// must produce byte-identical output first.
func BenchmarkCmp_Coinflip(b *testing.B) {
	td := fixtures.Batch(1000, fixtures.MixKnative)
	wasmP, wasmSink := wasmtest.WasmTraces(b, wasmtest.BuildGuest(b, ".."), nil)
	ottlP, ottlSink := wasmtest.StartTraces(b, transformprocessor.NewFactory(), ottlConfig())
	wasm, ottl := benchutil.Side{P: wasmP, Sink: wasmSink}, benchutil.Side{P: ottlP, Sink: ottlSink}
	nat := benchutil.Native(b, newNative(b, "").process)
	benchutil.AssertSame(b, wasm, ottl, td)
	benchutil.AssertSameBytes(b, wasm, nat, td)
	b.Run("wasm", func(b *testing.B) { benchutil.Measure(b, wasm, td) })
	b.Run("ottl", func(b *testing.B) { benchutil.Measure(b, ottl, td) })
	b.Run("native", func(b *testing.B) { benchutil.Measure(b, nat, td) })
}

// BenchmarkCmp_CoinflipLoaded is the Wasm and native sides of
// Cmp_Coinflip with every core running batches (benchutil.MeasureLoaded):
// throughput on a loaded machine, where the collector's marking is not
// free.
func BenchmarkCmp_CoinflipLoaded(b *testing.B) {
	benchutil.CompareLoaded(b, "..", newNative(b, "").process, fixtures.Batch(1000, fixtures.MixKnative))
}

// BenchmarkGuestSplit splits the Wasm side's time per batch between the
// guest's own code, the host functions it calls, and the host's work
// around the call (see benchutil.MeasureSplit).
func BenchmarkGuestSplit(b *testing.B) {
	benchutil.MeasureSplit(b, wasmtest.BuildGuest(b, ".."), nil, fixtures.Batch(1000, fixtures.MixKnative))
}
