// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestLargeConfigFitsTheTimeLeft: config copied the whole config into the
// result buffer in one step, reckoning no time, and refused one past half
// of host_memory_limit only after the copy, which every call then made
// afresh: a guest asking for 128 MiB of config in a loop took 8-348 ms a
// batch under a 5 ms timeout (attack round 26). A config past what a
// result may hold is now refused at the start, and one within it is
// reckoned before it is copied.
func TestLargeConfigFitsTheTimeLeft(t *testing.T) {
	const timeout = 5 * time.Millisecond
	guest := `(module
  (import "wasmcol" "config" (func $config (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l (drop (call $config)) (br $l))
    (i32.const 0)))`
	blob := func(n int) []byte { return []byte(`{"blob":"` + strings.Repeat("a", n) + `"}`) }
	_, err := New(context.Background(), Options{Source: "config", Module: watModule(t, guest, false), PoolSize: 1,
		Timeout: timeout, Config: blob(128 << 20)})
	require.ErrorContains(t, err, "config: ")

	// Within half of the default 64 MiB.
	p, err := New(context.Background(), Options{Source: "config", Module: watModule(t, guest, false), PoolSize: 1,
		Timeout: timeout, Config: blob(30 << 20)})
	require.NoError(t, err)
	defer p.Close(context.Background())
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	worst := time.Duration(0)
	for range 5 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		began := time.Now()
		_, err := p.ProcessTraces(context.Background(), td)
		took := time.Since(began)
		worst = max(worst, took)
		runtime.ReadMemStats(&m1)
		t.Logf("%v, %.1f MiB allocated: %v", took, float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20), err)
		require.Error(t, err)
	}
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}
