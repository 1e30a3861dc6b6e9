// SPDX-License-Identifier: Apache-2.0

package benchutil_test

import (
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"

	"github.com/wasmcol/wasmcol/examples/internal/benchutil"
	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// BenchmarkCmp_BrokerTag compares equal work: the OTTL statement measured
// in the anchors, and the host tests' tagger guest doing the same. It lives
// in the examples module, not beside the processor, so that the transform
// processor stays out of what a build of the processor must resolve.
func BenchmarkCmp_BrokerTag(b *testing.B) {
	td := benchdata.KnativeTraces(1000)
	wasmP, wasmSink := wasmtest.WasmTraces(b, wasmtest.BuildGuest(b, "../../../internal/wasmhost/testdata/guests/tagger"), nil)
	ottlP, ottlSink := wasmtest.StartTraces(b, transformprocessor.NewFactory(),
		wasmtest.OTTLSpanConfig(`set(attributes["x"], "y") where IsMatch(name, "^broker:")`))
	wasm, ottl := benchutil.Side{P: wasmP, Sink: wasmSink}, benchutil.Side{P: ottlP, Sink: ottlSink}
	benchutil.AssertSame(b, wasm, ottl, td)
	b.Run("wasm", func(b *testing.B) { benchutil.Measure(b, wasm, td) })
	b.Run("ottl", func(b *testing.B) { benchutil.Measure(b, ottl, td) })
}
