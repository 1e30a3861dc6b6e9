// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wasmcol/wasmcol/internal/ocimodule"
	"github.com/wasmcol/wasmcol/processors/wasmprocessor/internal/metadata"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// A panic on the reload path is logged and counted as a trap, the running
// module stays, and the watcher goes on polling: the panic must not take
// the Collector down.
func TestReloadPanicIsContained(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	core, logs := observer.New(zapcore.InfoLevel)
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	cfg := createDefaultConfig()
	cfg.Module = filepath.Join(t.TempDir(), "filter.wasm")
	// wasmtest's builders import this package: wat2wasm directly.
	if b, err := exec.Command("wat2wasm", filepath.Join("testdata", "wat", "unreachable.wat"), "-o", cfg.Module).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	cfg.CacheDir = t.TempDir()
	p := newProcessor(set, cfg, abi.SignalTraces)
	require.NoError(t, p.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.shutdown(context.Background())) }()
	running := p.plugin.Load()

	// A registry source without its client: the first poll panics,
	// standing for any bug on the reload path.
	ref, err := ocimodule.ParseReference("registry.invalid/filter:v2", false)
	require.NoError(t, err)
	src := &moduleSource{cfg: &Config{Module: "oci://registry.invalid/filter:v2", ReloadInterval: 5 * time.Millisecond},
		logger: set.Logger, ref: ref}
	ctx, cancel := context.WithCancel(context.Background())
	p.watching.Add(1)
	go p.watch(ctx, src, "sha256:running")
	require.Eventually(t, func() bool {
		return logs.FilterMessage("wasm reload panicked; keeping the running module").Len() >= 2
	}, 10*time.Second, 5*time.Millisecond, "the watcher polls on after a panic")
	cancel()
	p.watching.Wait()

	m, err := tel.GetMetric("otelcol_processor_wasm_failures")
	require.NoError(t, err)
	var traps int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		kind, _ := dp.Attributes.Value("kind")
		require.Equal(t, "trap", kind.AsString())
		traps += dp.Value
	}
	assert.GreaterOrEqual(t, traps, int64(2), "each panic counted as a trap")

	assert.Same(t, running, p.plugin.Load(), "the running module stays")
}

// TestBuiltinBytesAreLetGo: the built-in bundle's 4 MiB are kept while a
// start uses them, and let go builtinKeep after the last one is done.
func TestBuiltinBytesAreLetGo(t *testing.T) {
	if !hasBuiltin("sampler") {
		t.Skip("no built-ins in this build")
	}
	held := func() bool {
		builtinCache.Lock()
		defer builtinCache.Unlock()
		return builtinCache.bin != nil
	}
	a, doneA, err := builtinBytes()
	require.NoError(t, err)
	b, doneB, err := builtinBytes()
	require.NoError(t, err)
	require.Equal(t, &a[0], &b[0], "decompressed once for starts that overlap")
	doneA()
	doneA() // a second call changes nothing
	time.Sleep(builtinKeep + 200*time.Millisecond)
	require.True(t, held(), "kept while a start uses them")
	doneB()
	require.Eventually(t, func() bool { return !held() }, builtinKeep+2*time.Second, 10*time.Millisecond)
	c, doneC, err := builtinBytes()
	require.NoError(t, err)
	defer doneC()
	require.Equal(t, a, c, "decompressed again when asked again")
}
