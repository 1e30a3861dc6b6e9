// SPDX-License-Identifier: Apache-2.0

package benchutil

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

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
//   - around-us/op: the rest of the host's call (pool, call state,
//     applying the edits).
//
// These three are CPU time of the benchmark's thread (guestprof.ThreadCPU),
// so that other work on a shared machine hardly moves them.
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
	// The split is in CPU time of this thread, so that other work on a
	// shared machine hardly moves it; ns/op stays wall time.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	run() // warm up: the instance's first batch grows its memory
	split.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		start := guestprof.ThreadCPU()
		run()
		cpu += guestprof.ThreadCPU() - start
	}
	b.StopTimer()
	n := float64(b.N)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / n }
	b.ReportMetric(us(split.Guest()), "guest-us/op")
	b.ReportMetric(us(split.Host()), "hostfn-us/op")
	b.ReportMetric(us(cpu-split.Process()), "around-us/op")
	b.ReportMetric(float64(split.HostCalls())/n, "hostcalls/op")
	if secs := b.Elapsed().Seconds(); secs > 0 {
		b.ReportMetric(float64(td.SpanCount())*n/secs, "items/s")
	}
}
