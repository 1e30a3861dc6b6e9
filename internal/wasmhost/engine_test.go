// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// touchingGuest reads and writes its linear memory on every batch, before
// any check: run in memory already unmapped, it would kill the process.
func touchingGuest(t *testing.T) []byte {
	return watModule(t, filter(`(func $attack
		(i32.store (i32.const 1024) (i32.add (i32.load (i32.const 1024)) (i32.const 1))))`), false)
}

// ownEngine opens a plugin on a compilation cache of its own, so that its
// runtime is shared with no other test and Close really closes it.
func ownEngine(t *testing.T, bin []byte) (*Plugin, wazero.CompilationCache) {
	t.Helper()
	cache := wazero.NewCompilationCache()
	p, err := New(context.Background(), Options{Source: t.Name(), Module: bin, PoolSize: 1, Cache: cache})
	require.NoError(t, err)
	return p, cache
}

// engineOf is the runtime open for cache, nil once released.
func engineOf(cache wazero.CompilationCache) *engine {
	engines.Lock()
	defer engines.Unlock()
	return engines.m[cache]
}

// slowCompileModule is a filter with n functions of arithmetic, 500 bytes
// each, so that its rewrite and compilation take a while (3,000: 0.2 s
// here, seconds under -race). Written as bytes: as text it would be
// megabytes for wat2wasm to parse.
func slowCompileModule(n int) []byte {
	uleb := func(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
	section := func(out []byte, id byte, count int, entries []byte) []byte {
		body := append(uleb(nil, uint64(count)), entries...)
		return append(uleb(append(out, id), uint64(len(body))), body...)
	}
	name := func(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }
	const i32 = 0x7F
	// Types: 0 () -> i32, 1 (i32) -> i32.
	types := []byte{0x60, 0, 1, i32, 0x60, 1, i32, 1, i32}
	funcs := []byte{0, 0, 0, 1} // the four ABI exports
	var code []byte
	body := func(b []byte) { code = append(uleb(code, uint64(len(b))), b...) }
	body([]byte{0, 0x41, abi.Version, 0x0B})      // wasmcol_abi_version
	body([]byte{0, 0x41, abi.SignalTraces, 0x0B}) // wasmcol_signals
	body([]byte{0, 0x41, 0, 0x0B})                // wasmcol_init
	body([]byte{0, 0x41, 0, 0x0B})                // wasmcol_process
	var work []byte
	for i := 0; i < 50; i++ { // x = x*3 + 1
		work = append(work, 0x20, 0, 0x41, 3, 0x6C, 0x41, 1, 0x6A, 0x21, 0)
	}
	work = append([]byte{0}, append(work, 0x20, 0, 0x0B)...)
	for i := 0; i < n; i++ {
		funcs = append(funcs, 1)
		body(work)
	}
	var exports []byte
	for i, e := range []string{abi.ExportABIVersion, abi.ExportSignals, abi.ExportInit, abi.ExportProcess} {
		exports = append(name(exports, e), 0, byte(i))
	}
	exports = append(name(exports, "memory"), 2, 0)
	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	out = section(out, 1, 2, types)
	out = section(out, 3, len(funcs), funcs)
	out = section(out, 5, 1, []byte{0, 1})
	out = section(out, 7, 5, exports)
	return section(out, 10, len(funcs), code)
}

// A compilation that outlives its caller's deadline goes on in the
// background and serves the next start, instead of being thrown away and
// started again.
func TestLateCompileServesTheNextStart(t *testing.T) {
	bin := slowCompileModule(3000)
	cache := wazero.NewCompilationCache()
	before := compilesStarted.Load()

	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(gone, Options{Source: "slow", Module: bin, Cache: cache})
	require.ErrorIs(t, err, context.Canceled)
	p, err := New(context.Background(), Options{Source: "slow", Module: bin, Cache: cache})
	require.NoError(t, err)
	assert.EqualValues(t, 1, compilesStarted.Load()-before, "compilations of one module")

	require.NoError(t, p.Close(context.Background()))
	require.Eventually(t, func() bool { return engineOf(cache) == nil }, 10*time.Second, 10*time.Millisecond,
		"the module and its runtime released once nobody holds them")
}

// A reload compiling when Close comes returns at once, but the runtime
// stays open until that compilation, which wazero cannot abandon, ends.
func TestCloseLeavesALateCompileItsRuntime(t *testing.T) {
	p, cache := ownEngine(t, touchingGuest(t))
	slow := slowCompileModule(3000)
	reloaded := make(chan error, 1)
	go func() { reloaded <- p.Reload(context.Background(), slow) }()
	var m *sharedModule
	require.Eventually(t, func() bool {
		engines.Lock()
		defer engines.Unlock()
		m = p.eng.modules[sha256.Sum256(slow)]
		return m != nil
	}, 10*time.Second, time.Millisecond)

	require.NoError(t, p.Close(context.Background()))
	require.ErrorIs(t, <-reloaded, ErrClosed)
	select {
	case <-m.ready:
		t.Fatal("the compilation ended before Close: make the module bigger")
	default:
	}
	assert.NotNil(t, engineOf(cache), "Close closed the runtime under a compilation")
	<-m.ready
	require.Eventually(t, func() bool { return engineOf(cache) == nil }, 10*time.Second, 10*time.Millisecond,
		"runtime released once the compilation ended")
}

// TestTrustedModule: only the exact bytes trusted compile on several
// goroutines, and a trusted module compiles and runs as any other.
func TestTrustedModule(t *testing.T) {
	// The guest with a custom section appended: bytes no other test
	// compiles, trusted only for this test.
	bin := append(bytes.Clone(touchingGuest(t)), 0, 5, 4, 't', 'e', 's', 't')
	other := append(bytes.Clone(bin), 0) // any other bytes
	TrustModule(bin)
	t.Cleanup(func() { trustedModules.Delete(sha256.Sum256(bin)) })
	assert.True(t, isTrusted(sha256.Sum256(bin)))
	assert.False(t, isTrusted(sha256.Sum256(other)))
	assert.GreaterOrEqual(t, compileWorkers(), 1)
	assert.LessOrEqual(t, compileWorkers(), 4)

	p, _ := ownEngine(t, bin) // a cache of its own: it compiles
	_, err := p.ProcessTraces(context.Background(), ptrace.NewTraces())
	require.NoError(t, err)
}

// TestAbandonedCompileIsSkipped: with every compilation slot taken, a
// start that gives up leaves its compilation queued; when a slot frees,
// that compilation is skipped rather than run for no one, and a later
// start of the same module compiles it.
func TestAbandonedCompileIsSkipped(t *testing.T) {
	bin := append(bytes.Clone(touchingGuest(t)), 0, 8, 7, 'a', 'b', 'a', 'n', 'd', 'o', 'n')
	for range cap(compileSlots) {
		compileSlots <- struct{}{}
	}
	cache := wazero.NewCompilationCache()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	abandonedBefore := compilesAbandoned.Load()
	_, err := New(ctx, Options{Source: t.Name(), Module: bin, PoolSize: 1, Cache: cache})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	for range cap(compileSlots) {
		<-compileSlots
	}
	require.Eventually(t, func() bool { return compilesAbandoned.Load() == abandonedBefore+1 }, 5*time.Second, 10*time.Millisecond,
		"the queued compilation was skipped")
	p, err := New(context.Background(), Options{Source: t.Name(), Module: bin, PoolSize: 1, Cache: cache})
	require.NoError(t, err)
	_, err = p.ProcessTraces(context.Background(), ptrace.NewTraces())
	require.NoError(t, err)
	require.NoError(t, p.Close(context.Background()))
	require.Eventually(t, func() bool { return engineOf(cache) == nil }, 5*time.Second, 10*time.Millisecond, "the runtime is released")
}

// TestReturnGarbageNow: a benchmark can run the garbage return a compile
// scheduled before it starts its clock; the timer is then spent, and runs
// only once more after the next compile.
func TestReturnGarbageNow(t *testing.T) {
	p, _ := ownEngine(t, touchingGuest(t))
	defer p.Close(context.Background())
	require.True(t, ReturnGarbageNow(), "the compile scheduled a return")
	require.False(t, ReturnGarbageNow(), "returned already")
	p2, _ := ownEngine(t, touchingGuest(t))
	defer p2.Close(context.Background())
	require.True(t, ReturnGarbageNow(), "the next compile scheduled it again")
}

// TestCompileGarbageIsReturned: compiling the built-in bundle leaves tens
// of MiB of garbage that Go's scavenger was returning over minutes; the
// memory is given back to the system soon after the last compilation.
func TestCompileGarbageIsReturned(t *testing.T) {
	bin := builtinBundle(t)
	p, err := New(context.Background(), Options{Source: "builtins", Module: bin, FilterName: "sampler", PoolSize: 1,
		Config: builtinConfigs["sampler"], Cache: wazero.NewCompilationCache()})
	require.NoError(t, err)
	defer p.Close(context.Background())
	time.Sleep(garbageDelay + 500*time.Millisecond)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// What the heap holds from the system, garbage included: a plugin of
	// the bundle lives in about 10 MiB; the compile's garbage was 56 MiB more.
	held := (ms.HeapInuse + ms.HeapIdle - ms.HeapReleased) >> 20
	require.Less(t, held, uint64(32), "the heap holds %d MiB from the system", held)
}

// A disk cache that cannot take compiled code (a read-only or full
// volume: here its directory is gone, which fails every write as those
// do, even for root) costs no second compilation: wazero keeps the code
// in memory before it writes it, and compileModule asks again. Before,
// the start compiled the module again without the cache (2.1 s became
// 3.4-3.7 s) and the error said the module was not valid.
func TestUnwritableCacheCompilesOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	require.NoError(t, err)
	defer cache.Close(ctx)
	r := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(cache))
	defer r.Close(ctx)
	subs := compiledDirs(dir)
	require.Len(t, subs, 1)
	require.NoError(t, os.Remove(subs[0]))

	bin, err := instrument(watModule(t, filter(`(func $attack)`), false), testLimits)
	require.NoError(t, err)
	_, err = r.CompileModule(ctx, bin)
	require.True(t, isCacheWriteError(err), "wazero reports the failed write: %v", err)

	other, err := instrument(watModule(t, filter(`(func $attack (nop))`), false), testLimits)
	require.NoError(t, err)
	began := time.Now()
	m, err := compileModule(ctx, r, other)
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	t.Logf("compiled in %v", time.Since(began))
	// Closed, the code is gone from wazero's memory: compiling it again
	// meets the unwritable cache again. Had a reference stayed behind,
	// wazero would have found the code in memory and kept it for good.
	_, err = r.CompileModule(ctx, other)
	require.True(t, isCacheWriteError(err), "compiled again, not found in memory: %v", err)
}
