// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Instances share no memory, so a count across batches lives in the host's
// key-value store; compare-and-swap keeps it exact under concurrent
// callers on different instances.
func TestConcurrentSharedKVCount(t *testing.T) {
	h := start(t, map[string]any{"module": guest(t, "kvcount"), "pool_size": 4})
	const workers, batches = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	want := 0
	for w := 0; w < workers; w++ {
		for i := 0; i < batches; i++ {
			want += (w+i)%5 + 1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < batches; i++ {
				names := make([]string, (w+i)%5+1)
				for j := range names {
					names[j] = fmt.Sprintf("w%d-b%d-s%d", w, i, j)
				}
				if err := h.consume(spans(names...)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h.requireOnlyFailures(t, nil)

	require.NoError(t, h.consume(spans("last")))
	total, err := strconv.Atoi(spanAttr(h.last(t), 0, "kv.total"))
	require.NoError(t, err)
	assert.Equal(t, want+1, total, "no update lost, none counted twice")
	assert.EqualValues(t, want+1, h.metric(t, "otelcol_processor_wasm_guest_counter", "name", "spans_seen"))
	retries := h.metric(t, "otelcol_processor_wasm_guest_counter", "name", "cas_retries")
	t.Logf("%d spans counted by %d callers on 4 instances; %d compare-and-swap retries", total, workers, retries)
	assert.Positive(t, retries, "callers did collide, so the exact total shows compare-and-swap at work")
}

// The shared services are bounded, and a guest past a bound gets an error
// it can handle, not a crash.
func TestSharedServiceLimits(t *testing.T) {
	h := start(t, map[string]any{"module": guest(t, "kvcount"), "pool_size": 1})
	require.NoError(t, h.consume(spans("a", "b"))) // registers spans_seen
	require.NoError(t, h.consume(spans("probe")))
	out := h.last(t)
	probe := func(key string) string { return spanAttr(out, 0, "probe."+key) }
	t.Logf("counters: %s; bad name: %s; value over the limit: %s; key over the limit: %.40s...",
		probe("counters"), probe("bad_name"), probe("big_value"), probe("big_key"))

	// 64 names in all: spans_seen and probe_0 .. probe_62; probe_63 is refused.
	assert.True(t, strings.HasPrefix(probe("counters"), "refused name 63: "), probe("counters"))
	assert.Contains(t, probe("counters"), "too large")
	assert.Contains(t, probe("bad_name"), "bad argument")
	assert.Contains(t, probe("big_value"), "too large")
	assert.Equal(t, "ok", probe("max_value"), "a value at the limit is stored")
	assert.Contains(t, probe("big_key"), "too large")

	names := map[string]bool{}
	for _, p := range h.points(t, "otelcol_processor_wasm_guest_counter") {
		name, _ := p.attrs.Value("name")
		names[name.AsString()] = true
	}
	assert.Len(t, names, 64, "the metric's cardinality is bounded")
	assert.True(t, names["spans_seen"])
	assert.False(t, names["probe_63"])
	assert.EqualValues(t, 2, h.metric(t, "otelcol_processor_wasm_guest_counter", "name", "spans_seen"))
	h.requireOnlyFailures(t, nil)
}

// Under -race: many callers share a small pool while some batches panic or
// crash their instance; every batch comes out (edited or, after a fault,
// exactly as it went in), every fault is counted under its kind, and the
// pool never holds more instances than its size.
func TestPoolConcurrentFaults(t *testing.T) {
	const poolSize, workers, batches = 3, 6, 30
	h := start(t, map[string]any{
		"module": guest(t, "panicker"), "pool_size": poolSize, "on_error": "pass", "timeout": notTheLimit,
	})
	kindOf := func(w, i int) string {
		switch n := w*batches + i; {
		case n%5 == 0:
			return "panic"
		case n%17 == 0:
			return "crash"
		}
		return "ok"
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	wantFaults := map[string]int64{}
	for w := 0; w < workers; w++ {
		for i := 0; i < batches; i++ {
			switch kindOf(w, i) {
			case "panic":
				wantFaults["guest"]++
			case "crash":
				wantFaults["trap"]++
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < batches; i++ {
				kind := kindOf(w, i)
				in := spans("a", kind, "c")
				want := clone(in)
				err := h.consume(in)
				edited := spanAttr(in, 0, "instance.calls") != ""
				mu.Lock()
				switch {
				case err != nil:
					problems = append(problems, fmt.Sprintf("worker %d batch %d: %v", w, i, err))
				case kind == "ok" && !edited:
					problems = append(problems, fmt.Sprintf("worker %d batch %d: not processed", w, i))
				case kind != "ok" && !ptraceEqual(want, in):
					problems = append(problems, fmt.Sprintf("worker %d batch %d (%s): changed by a failed call", w, i, kind))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Empty(t, problems)
	assert.Equal(t, workers*batches*3, h.sink.SpanCount(), "every span reached the next consumer")
	h.requireOnlyFailures(t, wantFaults)
	assert.EqualValues(t, workers*batches, h.metric(t, "otelcol_processor_wasm_batches"))
	assert.LessOrEqual(t, h.metric(t, "otelcol_processor_wasm_instances"), int64(poolSize))
}
