// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

func newPlugin(tb testing.TB, guest string, pool int) *wasmhost.Plugin {
	tb.Helper()
	bin := wasmtest.Read(tb, wasmtest.BuildGuest(tb, "testdata/guests/"+guest))
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: guest, Module: bin, PoolSize: pool})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// BenchmarkPluginNoop is the host's fixed cost per batch: pool, deadline,
// state reset and the call into a guest that does nothing.
func BenchmarkPluginNoop(b *testing.B) {
	p := newPlugin(b, "noop", 1)
	td := benchdata.OneSpan()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ProcessTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPluginTagger is the tagger on a 1,000-span batch, reused: its
// edit is idempotent, so every iteration is the same work.
func BenchmarkPluginTagger(b *testing.B) {
	p := newPlugin(b, "tagger", 1)
	td := benchdata.KnativeTraces(1000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ProcessTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(td.SpanCount()*b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkInstanceMemory reports what one pool instance of a Go guest
// costs: the Go heap it adds (linear memory included) and its start time.
func BenchmarkInstanceMemory(b *testing.B) {
	const pool = 8
	bin := wasmtest.Read(b, wasmtest.BuildGuest(b, "testdata/guests/tagger"))
	ctx := context.Background()
	// Compile once first, and keep that plugin open: wazero drops compiled
	// code from its in-memory cache when the last runtime using it closes.
	warm, err := wasmhost.New(ctx, wasmhost.Options{Source: "tagger", Module: bin, PoolSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer warm.Close(ctx)
	var perInstance, startMs float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		p, err := wasmhost.New(ctx, wasmhost.Options{Source: "tagger", Module: bin, PoolSize: pool})
		if err != nil {
			b.Fatal(err)
		}
		startMs = float64(time.Since(start).Microseconds()) / 1000 / pool
		runtime.GC()
		runtime.ReadMemStats(&after)
		perInstance = float64(after.HeapInuse-before.HeapInuse) / pool / (1 << 20)
		_ = p.Close(ctx)
	}
	b.ReportMetric(perInstance, "MiB/instance")
	b.ReportMetric(startMs, "ms/instance")
}

// BenchmarkSelectionOps is what one Selection operation costs a filter on
// a batch of 1,000 spans, all told: the SDK's Go compiled to Wasm, the
// call into the host and the host's work. Each sub-benchmark runs the ops
// guest making opsPerBatch operations of one kind a batch, and reports
// its time less that of a batch making none, per operation. A filter's
// operations add up: knative-hops makes about 110 a batch.
func BenchmarkSelectionOps(b *testing.B) {
	const opsPerBatch = 200 // as in testdata/guests/ops
	bin := wasmtest.Read(b, wasmtest.BuildGuest(b, "testdata/guests/ops"))
	td := benchdata.KnativeTraces(1000)
	ctx := context.Background()
	start := func(tb testing.TB, op string) *wasmhost.Plugin {
		p, err := wasmhost.New(ctx, wasmhost.Options{Source: "ops", Module: bin, PoolSize: 1, Config: []byte(`{"op":"` + op + `"}`)})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = p.Close(ctx) })
		return p
	}
	// The quickest of ten blocks of batches making no operation: the
	// baseline each kind's time is taken from.
	none := start(b, "none")
	base := time.Duration(1 << 62)
	for range 10 {
		t0 := time.Now()
		for range 200 {
			if _, err := none.ProcessTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
		}
		base = min(base, time.Since(t0)/200)
	}
	for _, op := range []string{"select", "refine", "or", "len"} {
		b.Run(op, func(b *testing.B) {
			p := start(b, op)
			for b.Loop() {
				if _, err := p.ProcessTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
			}
			perBatch := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(perBatch-base)/opsPerBatch, "ns/operation")
		})
	}
}
