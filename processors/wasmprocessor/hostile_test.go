// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// notTheLimit is the timeout of tests about other faults: long enough that
// a slow, busy CI machine never turns their fault into a timeout.
const notTheLimit = "20s"

// An infinite loop is cut off at the timeout, the batch goes on unchanged
// (on_error: pass) and the next batch runs on a fresh instance.
func TestTimeoutAbortsLoop(t *testing.T) {
	for _, tc := range []struct {
		name, span string
	}{
		// A tight loop: only the checks compiled into loop back-edges see
		// the deadline.
		{"tight loop", "loop"},
		// Parked in time.Sleep: the guest waits in a host function, where
		// no compiled check runs.
		{"sleep", "sleep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 200 * time.Millisecond
			h := start(t, map[string]any{
				"module": guest(t, "loop"), "pool_size": 1, "timeout": timeout.String(),
			})
			require.NoError(t, h.consume(spans("warm-up")))
			require.Equal(t, "1", spanAttr(h.last(t), 0, "instance.calls"))

			in := spans("a", tc.span, "b")
			want := clone(in)
			began := time.Now()
			done := make(chan error, 1)
			go func() { done <- h.consume(in) }()
			select {
			case err := <-done:
				require.NoError(t, err, "on_error: pass forwards the batch")
			case <-time.After(timeout + 10*time.Second):
				t.Fatalf("the guest was not stopped %v after its %v timeout", 10*time.Second, timeout)
			}
			took := time.Since(began)
			t.Logf("%s aborted after %v (timeout %v)", tc.name, took, timeout)
			assert.GreaterOrEqual(t, took, timeout)
			assert.Less(t, took, timeout+time.Second, "the deadline must abort the guest promptly")
			require.NoError(t, ptracetest.CompareTraces(want, h.last(t)))

			// The Collector goes on: the next batch succeeds, on a new
			// instance (its first call), and the pool is whole again.
			require.NoError(t, h.consume(spans("after")))
			assert.Equal(t, "1", spanAttr(h.last(t), 0, "instance.calls"), "a fresh instance")
			require.NoError(t, h.consume(spans("again")))
			assert.Equal(t, "2", spanAttr(h.last(t), 0, "instance.calls"))
			h.requireOnlyFailures(t, map[string]int64{"timeout": 1})
			assert.EqualValues(t, 1, h.metric(t, "otelcol_processor_wasm_instances"))
		})
	}
}

// A guest that allocates without bound is stopped at memory_limit with a
// memory fault, whatever its allocation pattern, and replaced.
func TestMemoryBombStoppedAtLimit(t *testing.T) {
	for _, tc := range []struct {
		name, span string
	}{
		// Many 1 MiB blocks: the last request fails with memory at the cap.
		{"chunks", "bomb"},
		// One growing slice: each growth asks for more than is in use,
		// so the failing request comes with memory well below the cap.
		{"growing slice", "grow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, map[string]any{
				"module": guest(t, "membomb"), "pool_size": 1, "memory_limit": 48,
				// Generous, so that the memory limit is what stops the bomb.
				"timeout": notTheLimit,
			})
			require.NoError(t, h.consume(spans("warm-up")))

			in := spans(tc.span)
			want := clone(in)
			require.NoError(t, h.consume(in))
			require.NoError(t, ptracetest.CompareTraces(want, h.last(t)))
			h.requireOnlyFailures(t, map[string]int64{"memory": 1})
			assert.NotEmpty(t, h.logs.FilterMessage("wasm filter failed").
				FilterFieldKey("kind").Filter(func(e observedEntry) bool {
				return e.ContextMap()["kind"] == "memory"
			}).All(), "the fault is logged with its kind")

			require.NoError(t, h.consume(spans("after")))
			assert.Equal(t, "1", spanAttr(h.last(t), 0, "instance.calls"), "a fresh instance")
			assert.EqualValues(t, 1, h.metric(t, "otelcol_processor_wasm_instances"))
		})
	}
}

// Traps and guest errors are handled by on_error: pass forwards the batch
// unchanged, drop drops and counts it, error returns the error upstream.
func TestFaultPolicies(t *testing.T) {
	faults := []struct {
		name   string
		module func(testing.TB) string
		span   string
		kind   string
		msg    string // in the error that on_error: error returns
	}{
		{"panic", func(tb testing.TB) string { return guest(tb, "panicker") }, "panic", "guest", "panicker: asked to panic"},
		{"error status", func(tb testing.TB) string { return guest(tb, "panicker") }, "fail", "guest", "panicker: asked to fail"},
		{"fatal runtime error", func(tb testing.TB) string { return guest(tb, "panicker") }, "crash", "trap", "wasm trap"},
		{"unreachable", func(tb testing.TB) string { return wat(tb, "unreachable") }, "x", "trap", "unreachable"},
		{"out of bounds", func(tb testing.TB) string { return wat(tb, "oob") }, "x", "trap", "out of bounds memory access"},
		// Not Go: grows one page at a time until memory.grow fails, then
		// traps, with the memory at the limit by construction.
		{"memory exhausted", func(tb testing.TB) string { return wat(tb, "memgrow") }, "x", "memory", "memory limit 128 MiB reached"},
	}
	for _, f := range faults {
		module := f.module(t)
		t.Run(f.name, func(t *testing.T) {
			t.Run("pass", func(t *testing.T) {
				h := start(t, map[string]any{"module": module, "pool_size": 1, "on_error": "pass", "timeout": notTheLimit})
				in := spans("a", f.span, "c")
				want := clone(in)
				require.NoError(t, h.consume(in))
				require.Equal(t, 1, len(h.sink.AllTraces()))
				require.NoError(t, ptracetest.CompareTraces(want, h.last(t)), "passed exactly as it came in")
				h.requireOnlyFailures(t, map[string]int64{f.kind: 1})
				assert.EqualValues(t, 3, h.metric(t, "otelcol_processor_wasm_items", "direction", "out"))
				assert.EqualValues(t, 0, h.metric(t, "otelcol_processor_wasm_items", "direction", "dropped"))
			})
			t.Run("drop", func(t *testing.T) {
				h := start(t, map[string]any{"module": module, "pool_size": 1, "on_error": "drop", "timeout": notTheLimit})
				require.NoError(t, h.consume(spans("a", f.span, "c")), "a dropped batch is not an error upstream")
				assert.Zero(t, h.sink.SpanCount(), "nothing reaches the next consumer")
				h.requireOnlyFailures(t, map[string]int64{f.kind: 1})
				assert.EqualValues(t, 3, h.metric(t, "otelcol_processor_wasm_items", "direction", "dropped"))
				assert.EqualValues(t, 1, h.metric(t, "otelcol_processor_wasm_batches"))
			})
			t.Run("error", func(t *testing.T) {
				h := start(t, map[string]any{"module": module, "pool_size": 1, "on_error": "error", "timeout": notTheLimit})
				err := h.consume(spans("a", f.span, "c"))
				require.Error(t, err, "the error goes upstream, to receivers and retry")
				assert.Contains(t, err.Error(), f.msg)
				assert.Contains(t, err.Error(), "wasm "+f.kind)
				assert.Zero(t, h.sink.SpanCount())
				h.requireOnlyFailures(t, map[string]int64{f.kind: 1})
			})
		})
	}
}

// A guest that edits every span, pushes the edits to the host and then
// fails must leave the batch exactly as it arrived.
func TestTrapAfterStagedEditsPassesBatchUnchanged(t *testing.T) {
	module := guest(t, "stagetrap")
	for _, tc := range []struct{ then, kind, timeout string }{
		{"panic", "guest", notTheLimit},
		{"loop", "timeout", "200ms"},
		{"exit", "trap", notTheLimit},
	} {
		t.Run(tc.then, func(t *testing.T) {
			h := start(t, map[string]any{
				"module": module, "pool_size": 1, "timeout": tc.timeout, "on_error": "pass",
				"config": map[string]any{"then": tc.then},
			})
			in := spans("a", "b", "c", "d")
			want := clone(in)
			require.NoError(t, h.consume(in))
			require.NoError(t, ptracetest.CompareTraces(want, h.last(t)))
			h.requireOnlyFailures(t, map[string]int64{tc.kind: 1})
		})
	}
}
