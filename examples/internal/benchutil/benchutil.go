// SPDX-License-Identifier: Apache-2.0

// Package benchutil runs the example filters' comparison benchmarks: it
// proves both sides produce the same output, then measures each on fresh
// copies of the same batch.
package benchutil

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

// Side is one processor under comparison and the sink it feeds.
type Side struct {
	P    processor.Traces
	Sink *consumertest.TracesSink
}

// Once runs one copy of td through s and returns what reached the sink:
// an empty batch when the processor dropped everything.
func (s Side) Once(tb testing.TB, td ptrace.Traces) ptrace.Traces {
	tb.Helper()
	s.Sink.Reset()
	in := ptrace.NewTraces()
	td.CopyTo(in)
	if err := s.P.ConsumeTraces(context.Background(), in); err != nil {
		tb.Fatal(err)
	}
	all := s.Sink.AllTraces()
	s.Sink.Reset()
	switch len(all) {
	case 0:
		return ptrace.NewTraces()
	case 1:
		return all[0]
	}
	tb.Fatalf("one batch in, %d out", len(all))
	return ptrace.Traces{}
}

// AssertSame fails tb unless a and b turn td into the same output, so that
// a comparison measures equal work. It also fails when the output equals
// the input, which would mean neither side did anything.
func AssertSame(tb testing.TB, a, b Side, td ptrace.Traces) {
	tb.Helper()
	outA, outB := a.Once(tb, td), b.Once(tb, td)
	if err := ptracetest.CompareTraces(outA, outB); err != nil {
		msg := err.Error()
		if len(msg) > 4000 {
			msg = msg[:4000] + "..."
		}
		tb.Fatalf("the two sides' outputs differ: %s", msg)
	}
	if ptracetest.CompareTraces(td, outA) == nil {
		tb.Fatal("the output equals the input: the benchmark would measure no work")
	}
}

// poolSize copies are made at a time, with the timer stopped, so that
// copying the input never counts and the timer stops rarely.
const poolSize = 16

// Measure runs s on a fresh copy of td per iteration and reports spans per
// second as items/s.
//
// Before the clock starts, it settles what the sides' starts left: the
// return of compile garbage a Wasm start schedules for two seconds later
// runs now rather than inside the Wasm side's timed run (which it slowed
// by a fifth: a forced collection, then a page fault of 10-20 us for
// every page of heap grown back), and one untimed pass over a pool of
// batches grows the heap back for every side alike.
func Measure(b *testing.B, s Side, td ptrace.Traces) {
	ctx := context.Background()
	pool := make([]ptrace.Traces, 0, poolSize)
	refill := func() {
		s.Sink.Reset()
		pool = pool[:0]
		for range poolSize {
			c := ptrace.NewTraces()
			td.CopyTo(c)
			pool = append(pool, c)
		}
	}
	wasmhost.ReturnGarbageNow()
	refill()
	for _, in := range pool {
		if err := s.P.ConsumeTraces(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	refill()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(pool) == 0 {
			b.StopTimer()
			refill()
			b.StartTimer()
		}
		in := pool[len(pool)-1]
		pool = pool[:len(pool)-1]
		if err := s.P.ConsumeTraces(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if secs := b.Elapsed().Seconds(); secs > 0 {
		b.ReportMetric(float64(td.SpanCount())*float64(b.N)/secs, "items/s")
	}
}
