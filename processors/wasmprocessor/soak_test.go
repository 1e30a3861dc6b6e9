// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soakBatches is how many batches the soak test sends: a few thousand by
// default, so that it stays well inside CI's budget; set
// WASMCOL_SOAK_BATCHES for a longer run.
func soakBatches(t *testing.T) int {
	n := 4000
	if s := os.Getenv("WASMCOL_SOAK_BATCHES"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(t, err, "WASMCOL_SOAK_BATCHES")
	}
	return n
}

func heapInuseMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

// A guest that leaks on every batch runs for thousands of batches with
// max_calls_per_instance recycling on: what each instance holds stays
// bounded, the pool keeps its size, nothing fails, and neither the guests'
// memory nor the Collector's heap grows with the number of batches.
func TestSoakLeakyGuestRecycled(t *testing.T) {
	const (
		poolSize, workers = 2, 2
		leakKiB, maxCalls = 256, 25
		memoryLimitMiB    = 64
	)
	total := soakBatches(t)
	h := start(t, map[string]any{
		"module": guest(t, "leaky"), "pool_size": poolSize, "memory_limit": memoryLimitMiB,
		"max_calls_per_instance": maxCalls, "config": map[string]any{"leak_kib": leakKiB},
	})

	type sample struct {
		batches      int
		heapMiB      float64
		instances    int64
		guestMaxMiB  float64
		leakedMaxKiB int64
	}
	var samples []sample
	var mu sync.Mutex
	var leakedMax, guestMax int64
	run := func(n int) {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n/workers; i++ {
					in := spans("x")
					if err := h.consume(in); err != nil {
						t.Error(err)
						return
					}
					leaked, _ := strconv.ParseInt(spanAttr(in, 0, "guest.leaked_kib"), 10, 64)
					mem, _ := strconv.ParseInt(spanAttr(in, 0, "guest.memory_kib"), 10, 64)
					mu.Lock()
					leakedMax, guestMax = max(leakedMax, leaked), max(guestMax, mem)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	const rounds = 10
	for r := 1; r <= rounds; r++ {
		run(total / rounds)
		// The test's sink keeps every batch it gets; that is not the
		// processor's memory.
		h.sink.Reset()
		samples = append(samples, sample{
			batches: r * total / rounds, heapMiB: heapInuseMiB(),
			instances:   h.metric(t, "otelcol_processor_wasm_instances"),
			guestMaxMiB: float64(guestMax) / 1024, leakedMaxKiB: leakedMax,
		})
		leakedMax, guestMax = 0, 0
	}
	for _, s := range samples {
		t.Logf("after %5d batches: Collector heap %.1f MiB, %d instances, largest guest %.1f MiB (leaked %d KiB)",
			s.batches, s.heapMiB, s.instances, s.guestMaxMiB, s.leakedMaxKiB)
	}

	h.requireOnlyFailures(t, nil)
	assert.EqualValues(t, total/rounds/workers*workers*rounds, h.metric(t, "otelcol_processor_wasm_batches"))
	for _, s := range samples {
		// Recycling caps what an instance can accumulate...
		assert.LessOrEqual(t, s.leakedMaxKiB, int64(maxCalls*leakKiB))
		// ...and so its memory, far below the limit.
		assert.Less(t, s.guestMaxMiB, float64(memoryLimitMiB)/2)
		assert.LessOrEqual(t, s.instances, int64(poolSize))
	}
	// Flat: the heap at the end is within a margin of the heap after the
	// first tenth, whatever the number of batches in between. Instances'
	// memory lives in the Go heap and comes and goes as the pool recycles,
	// so the margin is what a full pool of the largest guests holds, plus
	// slack for the garbage collector; growth with the batch count would
	// show beyond it in a long run.
	first, last := samples[0].heapMiB, samples[len(samples)-1].heapMiB
	margin := poolSize*samples[0].guestMaxMiB + 8
	assert.Less(t, last, first+margin, "Collector heap grew from %.1f MiB to %.1f MiB", first, last)
}

// Without a call budget, the memory high-water mark alone recycles a
// leaking instance before it reaches the limit, so no batch ever fails.
func TestSoakHighWaterMarkRecycles(t *testing.T) {
	const memoryLimitMiB, leakKiB = 32, 1024
	h := start(t, map[string]any{
		"module": guest(t, "leaky"), "pool_size": 1, "memory_limit": memoryLimitMiB,
		"config": map[string]any{"leak_kib": leakKiB},
	})
	var leakedMax int64
	fresh := 0
	for i := 0; i < 200; i++ {
		in := spans("x")
		require.NoError(t, h.consume(in))
		leaked, err := strconv.ParseInt(spanAttr(in, 0, "guest.leaked_kib"), 10, 64)
		require.NoError(t, err)
		leakedMax = max(leakedMax, leaked)
		if leaked == leakKiB {
			fresh++
		}
	}
	t.Logf("200 batches leaking 1 MiB each under a %d MiB limit: %d instances, at most %d MiB leaked per instance",
		memoryLimitMiB, fresh, leakedMax/1024)
	h.requireOnlyFailures(t, nil)
	assert.Greater(t, fresh, 200/(memoryLimitMiB), "instances were recycled")
	assert.Less(t, leakedMax, int64(memoryLimitMiB*1024*3/4), "each was recycled before three quarters of the limit")
}
