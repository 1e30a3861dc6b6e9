// SPDX-License-Identifier: Apache-2.0

package benchutil

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// MeasureLoaded is Measure with every core busy: GOMAXPROCS callers, each
// with its own copies of td, call s at once, as a Collector's pipelines
// do on a loaded machine. Measure runs one caller and leaves the other
// cores idle, and the Go collector's background marking runs there at no
// cost to the caller. That favours whichever side allocates more. On a
// loaded machine the marking takes its share of the same cores
// (BENCHMARKS.md, 2026-12-06).
//
// The batches run in rounds of up to 16 per caller. A round is timed from
// its first call to its last; refilling the copies between rounds is not.
// ns/op is the rounds' time over b.N, the batches' aggregate rate, not a
// batch's latency.
func MeasureLoaded(b *testing.B, s Side, td ptrace.Traces) {
	ctx := context.Background()
	callers := runtime.GOMAXPROCS(0)
	pools := make([][]ptrace.Traces, callers)
	// refill copies on every core too, one goroutine a pool: copied on
	// one, the others would sit idle, and the collector would mark the
	// copies' garbage there for free. The copies' garbage is the harness's,
	// and what the collector does about it spills into the rounds alike
	// for both sides.
	refill := func() {
		s.Sink.Reset()
		var wg sync.WaitGroup
		for c := range pools {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pools[c] = pools[c][:0]
				for range poolSize {
					cp := ptrace.NewTraces()
					td.CopyTo(cp)
					pools[c] = append(pools[c], cp)
				}
			}()
		}
		wg.Wait()
	}
	// round runs the first n copies of every caller's pool.
	round := func(n int) error {
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, in := range pools[c][:n] {
					if errs[c] = s.P.ConsumeTraces(ctx, in); errs[c] != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	// Settled as Measure settles: the start's garbage, then a pass.
	wasmhost.ReturnGarbageNow()
	refill()
	if err := round(poolSize); err != nil {
		b.Fatal(err)
	}
	refill()
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		n := min(poolSize, (b.N-done+callers-1)/callers)
		if err := round(n); err != nil {
			b.Fatal(err)
		}
		done += n * callers
		if done < b.N {
			b.StopTimer()
			refill()
			b.StartTimer()
		}
	}
	b.StopTimer()
	if secs := b.Elapsed().Seconds(); secs > 0 {
		b.ReportMetric(float64(td.SpanCount())*float64(done)/secs, "items/s")
	}
	b.ReportMetric(float64(callers), "callers")
}

// CompareLoaded is a Cmp_...Loaded benchmark: the filter built from
// guestDir and its native twin process, checked to turn td into the same
// bytes, then each measured by MeasureLoaded as sub-benchmarks "wasm" and
// "native".
func CompareLoaded(b *testing.B, guestDir string, process func(ptrace.Traces), td ptrace.Traces) {
	wasmP, wasmSink := wasmtest.WasmTraces(b, wasmtest.BuildGuest(b, guestDir), nil)
	wasm := Side{P: wasmP, Sink: wasmSink}
	nat := Native(b, process)
	AssertSameBytes(b, wasm, nat, td)
	b.Run("wasm", func(b *testing.B) { MeasureLoaded(b, wasm, td) })
	b.Run("native", func(b *testing.B) { MeasureLoaded(b, nat, td) })
}
