// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/processors/wasmprocessor"
	"github.com/wasmcol/wasmcol/processors/wasmprocessor/internal/metadata"
)

// pipelineGuests are four different filters, standing in for a pipeline of
// four wasm processors.
var pipelineGuests = []string{"loop", "membomb", "panicker", "kvcount"}

// startPipeline creates and starts one processor per module, all with
// cache_dir set to dir (none when dir is ""), and returns how long that
// took and a function that shuts them down.
func startPipeline(tb testing.TB, modules []string, dir string) (time.Duration, func()) {
	tb.Helper()
	factory := wasmprocessor.NewFactory()
	var procs []processor.Traces
	began := time.Now()
	for _, module := range modules {
		cfg := factory.CreateDefaultConfig()
		conf := map[string]any{"module": module, "pool_size": 1}
		if dir != "" {
			conf["cache_dir"] = dir
		}
		require.NoError(tb, confmap.NewFromStringMap(conf).Unmarshal(cfg))
		p, err := factory.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, new(consumertest.TracesSink))
		require.NoError(tb, err)
		require.NoError(tb, p.Start(context.Background(), componenttest.NewNopHost()))
		procs = append(procs, p)
	}
	took := time.Since(began)
	return took, func() {
		for _, p := range procs {
			require.NoError(tb, p.Shutdown(context.Background()))
		}
	}
}

// restartAlias is another name for the cache directory. The processor
// keeps one compilation cache per cache_dir string for the life of the
// process, so a new name is how a test gets what a restarted Collector
// gets: the directory's contents and nothing in memory.
func restartAlias(tb testing.TB, dir string) string {
	tb.Helper()
	alias := filepath.Join(tb.TempDir(), "cache")
	require.NoError(tb, os.Symlink(dir, alias))
	return alias
}

func pipelineModules(tb testing.TB) []string {
	var modules []string
	for _, name := range pipelineGuests {
		modules = append(modules, guest(tb, name))
	}
	return modules
}

// cache_dir turns the compile at every start into a load: a pipeline of
// four Go filters starts much faster the second time.
func TestCacheDirWarmStart(t *testing.T) {
	modules := pipelineModules(t)
	dir := t.TempDir()
	cold, stop := startPipeline(t, modules, dir)
	stop()
	warm, stop := startPipeline(t, modules, restartAlias(t, dir))
	stop()
	t.Logf("start of %d wasm processors (Go guests, pool_size 1): cold %v, warm %v (%.0fx)",
		len(modules), cold.Round(time.Millisecond), warm.Round(time.Millisecond), float64(cold)/float64(warm))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "compiled code is written to cache_dir")
	assert.Less(t, warm, cold/2, "a warm start skips compilation")
}

// BenchmarkStartCold starts four wasm processors with an empty cache_dir:
// every module is compiled.
func BenchmarkStartCold(b *testing.B) {
	modules := pipelineModules(b)
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
		_, stop := startPipeline(b, modules, dir)
		b.StopTimer()
		stop()
		b.StartTimer()
	}
}

// BenchmarkStartWarm starts four wasm processors as a restarted Collector
// would, with every module already compiled in cache_dir.
func BenchmarkStartWarm(b *testing.B) {
	modules := pipelineModules(b)
	dir := b.TempDir()
	_, stop := startPipeline(b, modules, dir)
	stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		alias := restartAlias(b, dir)
		b.StartTimer()
		_, stop := startPipeline(b, modules, alias)
		b.StopTimer()
		stop()
		b.StartTimer()
	}
}

// Without cache_dir, compiled code goes to the user cache directory, so a
// restart is warm by default.
func TestDefaultCompilationCache(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, stop := startPipeline(t, pipelineModules(t)[:1], "")
	stop()
	base, err := os.UserCacheDir()
	require.NoError(t, err)
	found := 0
	require.NoError(t, filepath.WalkDir(filepath.Join(base, "wasmcol"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(path, "wazero-") {
			found++
		}
		return err
	}))
	assert.Positive(t, found, "compiled code written under %s", base)
}

// A cache that cannot be used is no reason to fail: with no usable user
// cache directory the processor starts without one, and entries that do
// not check out (here every cached file overwritten) are compiled again.
func TestUnusableCacheIsIgnored(t *testing.T) {
	modules := pipelineModules(t)[:2]
	t.Run("no cache directory", func(t *testing.T) {
		t.Setenv("XDG_CACHE_HOME", "/proc/self/nonexistent")
		_, stop := startPipeline(t, modules, "")
		stop()
	})
	t.Run("a cache_dir that cannot be created", func(t *testing.T) {
		// As on a read-only volume that an older wasmcol precompiled: this
		// wazero's directory is missing and cannot be made. It failed the
		// start.
		h := start(t, map[string]any{"module": modules[0], "cache_dir": "/proc/self/wasmcol-cache"})
		require.NoError(t, h.consume(spans("x")))
		require.Equal(t, 1, h.logs.FilterMessage("cache_dir cannot be used; compiling without it").Len())
	})
	t.Run("a cache_dir that is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "cache")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		err := startErr(t, map[string]any{"module": modules[0], "cache_dir": file})
		require.ErrorContains(t, err, "cache_dir: "+file+" is not a directory")
	})
	t.Run("corrupt entries", func(t *testing.T) {
		dir := t.TempDir()
		_, stop := startPipeline(t, modules, dir)
		stop()
		corrupted := 0
		require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				corrupted++
				return os.WriteFile(path, []byte("WAZEVO\x07v1.12.0 not what was written"), 0o600)
			}
			return err
		}))
		require.Positive(t, corrupted)
		_, stop = startPipeline(t, modules, restartAlias(t, dir))
		stop()
	})
}

// `wasmcol precompile` fills a cache that a later start loads: it compiles
// exactly what the processor would.
func TestPrecompileMakesStartWarm(t *testing.T) {
	modules := pipelineModules(t)
	cold, stop := startPipeline(t, modules, t.TempDir())
	stop()
	dir := t.TempDir()
	used, err := wasmprocessor.Precompile(context.Background(), dir, modules, zap.NewNop())
	require.NoError(t, err)
	require.Equal(t, dir, used)
	warm, stop := startPipeline(t, modules, restartAlias(t, dir))
	stop()
	t.Logf("start of %d processors: cold %v, after precompile %v", len(modules), cold.Round(time.Millisecond), warm.Round(time.Millisecond))
	assert.Less(t, warm, cold/2, "a precompiled module is loaded, not compiled")
}
