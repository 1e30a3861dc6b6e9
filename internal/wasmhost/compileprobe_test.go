// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// withProbeLimits lowers what a probe may take for the rest of the test.
func withProbeLimits(t *testing.T, heap uint64, timeout time.Duration) {
	before, beforeTimeout := probeLimit.Load(), probeTimeout
	probeLimit.Store(heap)
	probeTimeout = timeout
	t.Cleanup(func() { probeLimit.Store(before); probeTimeout = beforeTimeout })
}

// A compilation past the probe's heap is refused, and only the probe, a
// process of its own, ever held that heap.
func TestProbeRefusesACompileOverItsHeap(t *testing.T) {
	withProbeLimits(t, 16<<20, compileTimeout)
	ran := probesRun.Load()
	_, err := New(context.Background(), Options{Source: "bundle", Module: builtinBundle(t), FilterName: "sampler", Config: builtinConfigs["sampler"], PoolSize: 1, Cache: wazero.NewCompilationCache()})
	require.ErrorIs(t, err, errCompileTooLarge)
	require.ErrorContains(t, err, "more than 16 MiB (in a process of its own")
	require.Equal(t, ran+1, probesRun.Load(), "refused once: no other cache is tried")
}

// A compilation that outlasts the probe's deadline is stopped there: the
// child is killed, where a compilation in process would run on.
func TestProbeStopsASlowCompile(t *testing.T) {
	withProbeLimits(t, probeHeapLimit, 20*time.Millisecond)
	began := time.Now()
	_, err := New(context.Background(), Options{Source: "bundle", Module: builtinBundle(t), FilterName: "sampler", Config: builtinConfigs["sampler"], PoolSize: 1, Cache: wazero.NewCompilationCache()})
	require.ErrorIs(t, err, errCompileDeadline)
	require.ErrorContains(t, err, "which was stopped")
	require.Less(t, time.Since(began), 10*time.Second)
}

// What wazero itself refuses, the probe reports as the host would.
func TestProbeReportsAnInvalidModule(t *testing.T) {
	// i32.add of an i64 and an i32: the rewrite does not check types.
	bin := oneFuncModule(nil, []byte{0, 0x42, 1, 0x41, 1, 0x6A, 0x1A, 0x0B}, 0)
	_, err := New(context.Background(), Options{Source: "invalid", Module: bin, PoolSize: 1, Cache: wazero.NewCompilationCache()})
	require.ErrorContains(t, err, "not a valid Wasm module")
}

// With compiled code kept on disk, the probe compiles into the engine's
// directory, and the start that follows uses it.
func TestProbeCompilesIntoTheDiskCache(t *testing.T) {
	dir := t.TempDir()
	cache, err := NewDiskCache(dir)
	require.NoError(t, err)
	defer cache.Close(context.Background())
	ran := probesRun.Load()
	p, err := New(context.Background(), Options{Source: "bundle", Module: builtinBundle(t), FilterName: "sampler", Config: builtinConfigs["sampler"], PoolSize: 1, Cache: cache})
	require.NoError(t, err)
	defer p.Close(context.Background())
	require.Greater(t, probesRun.Load(), ran)
	entries, err := filepath.Glob(filepath.Join(dir, "wazero-*", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, entries, "the probe's compiled code")

	// A later start on the same directory finds the probe's mark.
	again, err := NewDiskCache(dir)
	require.NoError(t, err)
	defer again.Close(context.Background())
	ran, cached := probesRun.Load(), probesCached.Load()
	p2, err := New(context.Background(), Options{Source: "bundle", Module: builtinBundle(t), FilterName: "sampler", Config: builtinConfigs["sampler"], PoolSize: 1, Cache: again})
	require.NoError(t, err)
	defer p2.Close(context.Background())
	require.Equal(t, ran, probesRun.Load(), "no second probe")
	require.Equal(t, cached+1, probesCached.Load())
}

// The probe collects its garbage whatever the Collector's environment
// says. With GOGC=off passed down, the bundle's probe under a 72 MiB limit
// was refused: its compilation allocates about 70 MiB in all, and all of
// it stayed as garbage (with collection, 56 MiB is enough). At the real
// limit a module of a few tens of MB would have been refused the same way.
func TestProbeIgnoresTheCollectorsGOGC(t *testing.T) {
	t.Setenv("GOGC", "off")
	withProbeLimits(t, 72<<20, compileTimeout)
	p, err := New(context.Background(), Options{Source: "bundle", Module: builtinBundle(t), FilterName: "sampler", Config: builtinConfigs["sampler"], PoolSize: 1, Cache: wazero.NewCompilationCache()})
	require.NoError(t, err)
	p.Close(context.Background())
}

// A module is refused when no probe can start: an attacker who exhausts
// the Collector's file descriptors, or deletes its executable, must not
// get a compilation in process instead (the tenth round).
func TestProbeFailsClosed(t *testing.T) {
	before := probeExecutable
	probeExecutable = func() (string, error) { return "/nonexistent/wasmcol", nil }
	t.Cleanup(func() { probeExecutable = before })
	skipped := probesSkipped.Load()
	_, err := New(context.Background(), Options{Source: "bundle", Module: builtinBundle(t), FilterName: "sampler", Config: builtinConfigs["sampler"], PoolSize: 1, Cache: wazero.NewCompilationCache()})
	require.ErrorIs(t, err, errNoProbe)
	require.Equal(t, skipped+1, probesSkipped.Load(), "refused once: no other cache is tried")
}

// A process started with the probe's variable set by anyone but its parent
// starts as itself: a Collector whose environment carried it by mistake
// had waited on its standard input as a probe.
func TestProbeVariableNeedsItsParent(t *testing.T) {
	exe, err := probeExecutable()
	require.NoError(t, err)
	// The test binary, asked to run no test: a probe would instead read
	// the empty input as a module and fail.
	cmd := exec.Command(exe, "-test.run", "^$")
	cmd.Env = append(os.Environ(), probeEnv+"=1:1073741824:-") // process 1 is not its parent
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "PASS", "it started as itself rather than as a probe")
}
