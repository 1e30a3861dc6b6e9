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
//   - cpu-us/op: the whole call, measured on a twin instance without
//     listeners;
//   - guest-us/op: the guest's own code, that is the process call minus
//     the host functions it called, less what the listeners cost (the
//     twin's difference);
//   - hostfn-us/op: host functions (columns, reads, kernels, edits staged,
//     WASI);
//   - around-us/op: the rest of the host's call (pool, call state,
//     applying the edits).
//
// These are CPU time of the benchmark's thread (guestprof.ThreadCPU), so
// that other work on a shared machine hardly moves them; ns/op is wall
// time and includes the twin. Compiled guest code has no Go frames, so a
// CPU profile cannot show its share; this does. See BENCHMARKS.md for the
// method.
func MeasureSplit(b *testing.B, modulePath string, guestConfig map[string]any, td ptrace.Traces) {
	config, err := json.Marshal(guestConfig)
	if err != nil {
		b.Fatal(err)
	}
	if guestConfig == nil {
		config = nil
	}
	bin := wasmtest.Read(b, modulePath)
	ctx, split := guestprof.WithSplit(context.Background())
	p, err := wasmhost.New(ctx, wasmhost.Options{
		Source: modulePath, Module: bin, Config: config, PoolSize: 1,
		// Listeners are compiled in: never reuse code compiled without them.
		Cache: wazero.NewCompilationCache(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	plain, err := wasmhost.New(context.Background(), wasmhost.Options{Source: modulePath, Module: bin, Config: config, PoolSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = plain.Close(context.Background()) })

	pool := make([]ptrace.Traces, 0, 2*poolSize)
	next := func() ptrace.Traces {
		if len(pool) == 0 {
			b.StopTimer()
			for range cap(pool) {
				c := ptrace.NewTraces()
				td.CopyTo(c)
				pool = append(pool, c)
			}
			b.StartTimer()
		}
		in := pool[len(pool)-1]
		pool = pool[:len(pool)-1]
		return in
	}
	// one runs one batch on q and returns the thread's CPU time for it.
	one := func(q *wasmhost.Plugin) time.Duration {
		in := next()
		start := guestprof.ThreadCPU()
		if _, err := q.ProcessTraces(context.Background(), in); err != nil {
			b.Fatal(err)
		}
		return guestprof.ThreadCPU() - start
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The starts' garbage return, not the batches' (see Measure).
	wasmhost.ReturnGarbageNow()
	one(p) // warm up: an instance's first batch grows its memory
	one(plain)
	split.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu, cpuPlain time.Duration
	for i := 0; i < b.N; i++ {
		cpu += one(p)
		cpuPlain += one(plain)
	}
	b.StopTimer()
	n := float64(b.N)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / n }
	b.ReportMetric(us(cpuPlain), "cpu-us/op")
	b.ReportMetric(us(split.Guest()-(cpu-cpuPlain)), "guest-us/op")
	b.ReportMetric(us(split.Host()), "hostfn-us/op")
	b.ReportMetric(us(cpu-split.Process()), "around-us/op")
	b.ReportMetric(float64(split.HostCalls())/n, "hostcalls/op")
}
