// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// BenchmarkNoopCall is the fixed cost of one batch: a 1-span batch through
// the processor and a guest that does nothing.
func BenchmarkNoopCall(b *testing.B) {
	p, sink := wasmtest.WasmTraces(b, wasmtest.BuildGuest(b, "../../internal/wasmhost/testdata/guests/noop"), nil)
	td := benchdata.OneSpan()
	ctx := context.Background()
	wasmhost.ReturnGarbageNow() // the start's, not the calls'
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 0 {
			sink.Reset() // keep the sink from growing with b.N
		}
	}
}

// BenchmarkCmp_Concurrency is throughput with two callers against one, on
// the tagger over 1,000-span batches, with a pool of two instances.
func BenchmarkCmp_Concurrency(b *testing.B) {
	guest := wasmtest.BuildGuest(b, "../../internal/wasmhost/testdata/guests/tagger")
	concurrency(b, func(b *testing.B) func(ptrace.Traces) error {
		p, sink := wasmtest.StartTraces(b, wasmprocessorFactory(), map[string]any{"module": guest, "pool_size": 2})
		var calls atomic.Int64
		return func(td ptrace.Traces) error {
			if calls.Add(1)%64 == 0 {
				sink.Reset() // keep the sink from growing with b.N
			}
			return p.ConsumeTraces(context.Background(), td)
		}
	})
}

// BenchmarkCmp_ConcurrencyNative is the same two callers against one on
// the tagger's edit in native Go: a reference point for how this machine
// scales work that reads every span's name from memory. It is not a bound
// on the Wasm side, whose calls also do the processor's fixed work.
func BenchmarkCmp_ConcurrencyNative(b *testing.B) {
	concurrency(b, func(*testing.B) func(ptrace.Traces) error { return tagNative })
}

// TestTagNativeMatchesTagger: Cmp_ConcurrencyNative's edit is the tagger
// guest's, on the benchmarks' batch.
func TestTagNativeMatchesTagger(t *testing.T) {
	guest := wasmtest.BuildGuest(t, "../../internal/wasmhost/testdata/guests/tagger")
	p, sink := wasmtest.StartTraces(t, wasmprocessorFactory(), map[string]any{"module": guest})
	td := benchdata.KnativeTraces(1000)
	in, want := ptrace.NewTraces(), ptrace.NewTraces()
	td.CopyTo(in)
	td.CopyTo(want)
	require.NoError(t, p.ConsumeTraces(context.Background(), in))
	require.Len(t, sink.AllTraces(), 1)
	require.NoError(t, tagNative(want))
	require.NoError(t, ptracetest.CompareTraces(want, sink.AllTraces()[0]))
	require.Error(t, ptracetest.CompareTraces(td, want), "the edit changes the batch")
}

// tagNative is the tagger guest's edit: set(attributes["x"], "y") where
// the name starts with "broker:".
func tagNative(td ptrace.Traces) error {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if strings.HasPrefix(s.Name(), "broker:") {
					s.Attributes().PutStr("x", "y")
				}
			}
		}
	}
	return nil
}

// concurrency runs callers=2 then callers=1 over 1,000-span batches, each
// caller calling the consumer that start returns for that sub-benchmark.
func concurrency(b *testing.B, start func(*testing.B) func(ptrace.Traces) error) {
	td := benchdata.KnativeTraces(1000)
	// Each caller has its own copies, as each of the Collector's callers
	// has its own batches: callers sharing copies would edit the same batch
	// at once (a data race) and bounce its cache lines between the cores,
	// which measures the benchmark, not the pool.
	var copies [2][]ptrace.Traces
	for c := range copies {
		copies[c] = make([]ptrace.Traces, 16)
		for i := range copies[c] {
			copies[c][i] = ptrace.NewTraces()
			td.CopyTo(copies[c][i])
		}
	}
	for _, callers := range []int{2, 1} {
		b.Run("callers="+string(rune('0'+callers)), func(b *testing.B) {
			consume := start(b)
			// The start's one-time garbage return, not in the timed run.
			wasmhost.ReturnGarbageNow()
			var wg sync.WaitGroup
			per := b.N/callers + 1
			b.ResetTimer()
			begin := time.Now()
			for c := 0; c < callers; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					// The tagger's edits are idempotent, so reusing copies
					// keeps every call equal work without copying on the clock.
					for i := 0; i < per; i++ {
						if err := consume(copies[c][i%len(copies[c])]); err != nil {
							b.Error(err)
							return
						}
					}
				}(c)
			}
			wg.Wait()
			b.ReportMetric(float64(per*callers*td.SpanCount())/time.Since(begin).Seconds(), "items/s")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
		})
	}
}
