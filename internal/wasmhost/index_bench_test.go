// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// indexBatch is 500 resources of two spans with an event each, the shape
// of a Knative batch.
func indexBatch() ptrace.Traces {
	td := ptrace.NewTraces()
	for r := 0; r < 500; r++ {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "svc")
		rs.Resource().Attributes().PutStr("k8s.pod.name", "pod")
		ss := rs.ScopeSpans().AppendEmpty()
		for s := 0; s < 2; s++ {
			sp := ss.Spans().AppendEmpty()
			sp.SetName("broker:default.default")
			sp.Attributes().PutStr("a", "b")
			sp.Attributes().PutStr("c", "d")
			sp.Events().AppendEmpty().SetName("flipped")
		}
	}
	return td
}

// BenchmarkIndexBuild builds the index of spans and events of a fresh
// copy and releases it, while the copies' garbage keeps the collector
// marking, as in a pipeline: an index of pdata pointers took 78–88 µs a
// batch here, one of positions 36–41 µs (2026-12-06). It does not count
// what reaching an item through a position costs: two more loads.
func BenchmarkIndexBuild(b *testing.B) {
	src := indexBatch()
	pool := make([]ptrace.Traces, 16)
	var t tables
	for i := 0; i < b.N; i++ {
		if i%16 == 0 {
			b.StopTimer()
			for j := range pool {
				pool[j] = ptrace.NewTraces()
				src.CopyTo(pool[j])
			}
			b.StartTimer()
		}
		t.reset(abi.SignalTraces)
		t.traces = pool[i%16]
		t.build(abi.TableEvent)
		t.release(&keeper{left: maxKept})
	}
}
