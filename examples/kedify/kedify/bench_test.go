// SPDX-License-Identifier: Apache-2.0

package kedify

import (
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"

	"github.com/wasmcol/wasmcol/examples/internal/benchutil"
	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// BenchmarkKedify is the filter's throughput on 1,000 spans of Knative
// runs (a quarter of them cold) and KEDA/Kedify requests. No native
// processor can compute the interceptor's wait, which needs the span's
// child, so there is nothing to compare with.
func BenchmarkKedify(b *testing.B) {
	td := fixtures.Batch(1000, fixtures.MixAll)
	p, sink := wasmtest.WasmTraces(b, wasmtest.BuildGuest(b, ".."), nil)
	side := benchutil.Side{P: p, Sink: sink}
	if ptracetest.CompareTraces(td, side.Once(b, td)) == nil {
		b.Fatal("the filter marked nothing: the batch measures no work")
	}
	b.Run("wasm", func(b *testing.B) { benchutil.Measure(b, side, td) })
}
