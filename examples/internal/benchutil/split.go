// SPDX-License-Identifier: Apache-2.0

package benchutil

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/guestprof"
	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// MeasureSplit runs the guest at modulePath on fresh copies of td through
// the host alone (no processor around it) and reports where each batch's
// time goes:
//
//   - guest-us/op: the guest's own code, that is the process call minus
//     the host functions it called;
//   - hostfn-us/op: host functions (columns, reads, edits staged, WASI);
//   - around-us/op: the rest of the host's call, mostly applying the edits.
//
// Compiled guest code has no Go frames, so a CPU profile cannot show its
// share; this does. See BENCHMARKS.md for the method.
func MeasureSplit(b *testing.B, modulePath string, guestConfig map[string]any, td ptrace.Traces) {
	config, err := json.Marshal(guestConfig)
	if err != nil {
		b.Fatal(err)
	}
	if guestConfig == nil {
		config = nil
	}
	ctx, split := guestprof.WithSplit(context.Background())
	p, err := wasmhost.New(ctx, wasmhost.Options{
		Source: modulePath, Module: wasmtest.Read(b, modulePath), Config: config, PoolSize: 1,
		// Listeners are compiled in: never reuse code compiled without them.
		Cache: wazero.NewCompilationCache(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	pool := make([]ptrace.Traces, 0, poolSize)
	run := func() {
		if len(pool) == 0 {
			b.StopTimer()
			for range poolSize {
				c := ptrace.NewTraces()
				td.CopyTo(c)
				pool = append(pool, c)
			}
			b.StartTimer()
		}
		in := pool[len(pool)-1]
		pool = pool[:len(pool)-1]
		if _, err := p.ProcessTraces(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	run() // warm up: the instance's first batch grows its memory
	split.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.StopTimer()
	n := float64(b.N)
	us := func(ns int64) float64 { return float64(ns) / 1e3 / n }
	b.ReportMetric(us(int64(split.Guest())), "guest-us/op")
	b.ReportMetric(us(int64(split.Host())), "hostfn-us/op")
	b.ReportMetric(us(int64(b.Elapsed()-split.Process())), "around-us/op")
	b.ReportMetric(float64(split.HostCalls())/n, "hostcalls/op")
	if secs := b.Elapsed().Seconds(); secs > 0 {
		b.ReportMetric(float64(td.SpanCount())*n/secs, "items/s")
	}
}
