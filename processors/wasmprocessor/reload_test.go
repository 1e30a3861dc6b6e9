// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/processors/wasmprocessor"
)

// replaceFile swaps the file at path for b in one rename, as a ConfigMap
// update does, so the watcher never reads half a module.
func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new"
	require.NoError(t, os.WriteFile(tmp, b, 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

// warmCache compiles module into the shared cache_dir, so that a reload to
// it takes milliseconds instead of seconds.
func warmCache(t *testing.T, module string) {
	t.Helper()
	h, err := newHarness(t, map[string]any{"module": module, "pool_size": 1})
	require.NoError(t, err)
	require.NoError(t, h.proc.Shutdown(t.Context()))
}

func TestHotReload(t *testing.T) {
	defer wasmprocessor.SetReloadInterval(20 * time.Millisecond)()
	v1, v2 := wasmBytes(t, guest(t, "reloadv1")), wasmBytes(t, guest(t, "reloadv2"))
	warmCache(t, guest(t, "reloadv2"))
	module := filepath.Join(t.TempDir(), "filter.wasm")
	replaceFile(t, module, v1)

	h := start(t, map[string]any{"module": module, "reload": true, "pool_size": 1, "timeout": "60s"})
	version := func() string {
		t.Helper()
		require.NoError(t, h.consume(spans("x")))
		return spanAttr(h.last(t), 0, "filter.version")
	}
	reloads := func() int64 { return h.metric(t, "otelcol_processor_wasm_reloads") }
	require.Equal(t, "1", version())

	// A batch is in flight on the only v1 instance when v2 arrives: it
	// holds its instance until a v2 instance has started, so it finishes
	// only once the reload is under way.
	var slowErr error
	slowIn := spans("slow")
	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		slowErr = h.proc.ConsumeTraces(t.Context(), slowIn)
	}()
	time.Sleep(100 * time.Millisecond)
	replaceFile(t, module, v2)
	require.Eventually(t, func() bool { return reloads() == 1 }, 30*time.Second, 5*time.Millisecond)
	<-slowDone
	require.NoError(t, slowErr, "the in-flight batch finishes")
	assert.Equal(t, "1", spanAttr(slowIn, 0, "filter.version"), "on the old module")

	assert.Equal(t, "2", version(), "new batches get the new module")
	// The old generation closes its instance once the batch gives it back,
	// in the background.
	assert.Eventually(t, func() bool { return h.metric(t, "otelcol_processor_wasm_instances") == 1 },
		5*time.Second, 5*time.Millisecond, "the old instance is closed")
	assert.NotEmpty(t, h.logs.FilterMessage("wasm module reloaded").All())

	// A broken file keeps the running module and says why.
	replaceFile(t, module, []byte("\x00asm but not really"))
	require.Eventually(t, func() bool {
		return h.logs.FilterMessage("wasm reload failed; keeping the running module").Len() > 0
	}, 10*time.Second, 5*time.Millisecond)
	failed := h.logs.FilterMessage("wasm reload failed; keeping the running module").All()[0]
	assert.Contains(t, failed.ContextMap()["error"], "not a valid Wasm module")
	assert.Equal(t, "2", version())
	assert.EqualValues(t, 1, reloads(), "a failed reload is not counted")

	// A module that fails its start is refused just the same.
	replaceFile(t, module, wasmBytes(t, wat(t, "bad_abi")))
	require.Eventually(t, func() bool {
		return h.logs.FilterMessage("wasm reload failed; keeping the running module").Len() > 1
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, "2", version())

	// Once the file is fixed the next good module goes in.
	replaceFile(t, module, v1)
	require.Eventually(t, func() bool { return reloads() == 2 }, 30*time.Second, 5*time.Millisecond)
	assert.Equal(t, "1", version())
	h.requireOnlyFailures(t, nil)
}

// Batches keep flowing from several goroutines while the module is swapped
// under them: none fails, and once a caller sees the new module it never
// sees the old one again. The two modules are guests the other concurrency
// tests use too, so that the -race run compiles fewer of them: panicker
// marks spans with instance.calls, kvcount with kv.total.
func TestConcurrentReloadUnderLoad(t *testing.T) {
	defer wasmprocessor.SetReloadInterval(20 * time.Millisecond)()
	old, next := wasmBytes(t, guest(t, "panicker")), wasmBytes(t, guest(t, "kvcount"))
	// Compiled before the load starts, which would slow the compile down.
	warmCache(t, guest(t, "kvcount"))
	module := filepath.Join(t.TempDir(), "filter.wasm")
	replaceFile(t, module, old)
	h := start(t, map[string]any{"module": module, "reload": true, "pool_size": 2, "timeout": "10s"})

	const workers = 4
	var stop atomic.Bool
	var wg sync.WaitGroup
	seen := make([][]string, workers)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				in := spans("x")
				if err := h.proc.ConsumeTraces(t.Context(), in); err != nil {
					errs <- err
					return
				}
				switch {
				case spanAttr(in, 0, "instance.calls") != "":
					seen[w] = append(seen[w], "old")
				case spanAttr(in, 0, "kv.total") != "":
					seen[w] = append(seen[w], "new")
				default:
					seen[w] = append(seen[w], "neither")
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	replaceFile(t, module, next)
	// Generous: the -race run is slow.
	require.Eventually(t, func() bool { return h.metric(t, "otelcol_processor_wasm_reloads") == 1 },
		2*time.Minute, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("batch failed during reload: %v", err)
	}
	for w, versions := range seen {
		require.NotEmpty(t, versions)
		sawNew := false
		for _, v := range versions {
			switch v {
			case "new":
				sawNew = true
			case "old":
				assert.False(t, sawNew, "worker %d went back to the old module", w)
			default:
				t.Fatalf("worker %d: a batch processed by neither module", w)
			}
		}
		assert.True(t, sawNew, "worker %d ended on the new module", w)
	}
	h.requireOnlyFailures(t, nil)
}

func wasmBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// TestReloadSkipsAnUnchangedFile: polling a module file that has not
// changed costs a stat. A .wasm.gz replaced by a gzip bomb (260 KB that
// decompress to the 256 MiB limit) was decompressed and hashed again at
// every poll, to find its version: 0.3 of a core and 570 MiB/s of
// allocation for as long as it stayed. Now it is read once, fails once,
// and the running module goes on.
func TestReloadSkipsAnUnchangedFile(t *testing.T) {
	defer wasmprocessor.SetReloadInterval(20 * time.Millisecond)()
	module := filepath.Join(t.TempDir(), "filter.wasm.gz")
	replaceFile(t, module, gzipped(t, wasmBytes(t, guest(t, "reloadv1"))))
	h := start(t, map[string]any{"module": module, "reload": true, "pool_size": 1})

	bomb := make([]byte, 64<<20) // a quarter of the attack's, for time
	copy(bomb, "\x00asm\x01\x00\x00\x00")
	replaceFile(t, module, gzipped(t, bomb))
	bomb = nil
	const refused = "wasm reload failed; keeping the running module"
	require.Eventually(t, func() bool { return h.logs.FilterMessage(refused).Len() > 0 }, 30*time.Second, 5*time.Millisecond)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	time.Sleep(500 * time.Millisecond) // 25 polls
	runtime.ReadMemStats(&after)
	alloc := (after.TotalAlloc - before.TotalAlloc) >> 20
	assert.Less(t, alloc, uint64(16), "%d MiB allocated in 25 polls of an unchanged file", alloc)
	assert.Equal(t, 1, h.logs.FilterMessage(refused).Len(), "refused once, not at every poll")

	require.NoError(t, h.consume(spans("x")))
	assert.Equal(t, "1", spanAttr(h.last(t), 0, "filter.version"), "the running module goes on")
}
