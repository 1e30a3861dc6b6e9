// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"testing"

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
