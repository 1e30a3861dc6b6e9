// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// engine is a wazero runtime shared by every plugin that uses the same
// compilation cache, with its compiled modules shared by content. The host
// modules keep no state of their own (a call's state travels in its
// context) and instances are anonymous, so nothing ties a runtime to one
// plugin. Sharing means that processors loading the same module (the
// built-ins, or a user's filter in several pipelines) decode, rewrite and
// compile it once and hold one copy of its code.
type engine struct {
	r     wazero.Runtime
	cache wazero.CompilationCache
	// refs counts the plugins using the runtime and the compilations
	// running in it: the runtime closes after the last.
	refs    int
	modules map[[sha256.Size]byte]*sharedModule
	// compileCtx carries listeners to compilation, for a private engine.
	compileCtx context.Context
	// typeBytes is the size of the type sections of the modules compiled
	// here (see forCompiling).
	typeBytes int
}

// maxEngineTypeBytes bounds the type sections an engine compiles before
// the plugins that compile next move to a new one (forCompiling). wazero's store
// keeps every function type a compiled module declared, for as long as the
// runtime lives, whether the module is still used or not: a module of
// 99,990 distinct types of 12 values each (1.5 MB of type section, within
// the rewrite's limits) left 7.7 MiB in the heap for good, and a guest
// author shipping a new one every minute grew the Collector by about 460
// MiB an hour, refused versions included (attack round 28a). A Go filter's
// type section is a few KiB.
const maxEngineTypeBytes = 1 << 20

// full reports whether compiling bin, key its sha256, would take e past
// maxEngineTypeBytes. A module e has compiled already adds no types, and
// a private engine (listeners) is never full: profilers do not reload.
// The caller holds engines' lock.
func (e *engine) full(key [sha256.Size]byte, bin []byte) bool {
	if e.compileCtx != nil || e.typeBytes == 0 || e.modules[key] != nil {
		return false
	}
	return e.typeBytes+sectionSize(bin, secType) > maxEngineTypeBytes
}

// hold adds a use of the runtime.
func (e *engine) hold() {
	engines.Lock()
	e.refs++
	engines.Unlock()
}

// forCompiling returns, held for the caller, e or, when compiling bin, key
// its sha256, would take e past maxEngineTypeBytes, an engine for e's cache with room:
// the one the cache's plugins share now if it has room, or a new one. An
// engine left stops being shared: the plugins already using it keep it
// until they let go, and its runtime, with the types its store kept,
// closes after the last. Checking only the engine left, every plugin
// leaving one full engine piled its next module into the same new one,
// and a staggered reload of K plugins kept K(K+1)/2 modules' types
// (review of attack round 28a).
func (e *engine) forCompiling(ctx context.Context, key [sha256.Size]byte, bin []byte) (*engine, error) {
	engines.Lock()
	if !e.full(key, bin) {
		e.refs++
		engines.Unlock()
		return e, nil
	}
	if engines.m[e.cache] == e {
		delete(engines.m, e.cache)
	}
	if cur := engines.m[e.cache]; cur != nil && cur.full(key, bin) {
		delete(engines.m, e.cache)
	}
	engines.Unlock()
	return acquireEngine(ctx, e.cache)
}

// sharedModule is one compiled, rewritten module and its users.
type sharedModule struct {
	key [sha256.Size]byte
	// refs counts the users, and the compilation while it runs: a
	// compilation whose callers gave up stays listed, for whoever asks
	// next to join, until it ends.
	refs     int
	ready    chan struct{} // closed once compiled or failed
	compiled wazero.CompiledModule
	err      error
	// startNs is what instantiating it is reckoned to cost (startNs).
	startNs int64
}

// listenersKey marks a context from WithListeners.
type listenersKey struct{}

// WithListeners returns a context that, passed to New, attaches f to every
// function of the plugin's guest and host modules: profilers use it
// (internal/guestprof). Such a plugin gets a runtime of its own, since
// wazero attaches listeners when it compiles.
func WithListeners(ctx context.Context, f experimental.FunctionListenerFactory) context.Context {
	return context.WithValue(experimental.WithFunctionListenerFactory(ctx, f), listenersKey{}, f)
}

func hasListeners(ctx context.Context) bool { return ctx.Value(listenersKey{}) != nil }

var engines = struct {
	sync.Mutex
	m map[wazero.CompilationCache]*engine
}{m: map[wazero.CompilationCache]*engine{}}

// acquireEngine returns the runtime for cache, creating it on first use.
// A context with listeners (WithListeners) gets a runtime of its own,
// shared with no one.
func acquireEngine(ctx context.Context, cache wazero.CompilationCache) (*engine, error) {
	engines.Lock()
	defer engines.Unlock()
	private := hasListeners(ctx)
	if e := engines.m[cache]; e != nil && !private {
		e.refs++
		return e, nil
	}
	r := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(cache))
	if err := instantiateWASI(ctx, r); err != nil {
		_ = r.Close(ctx)
		return nil, err
	}
	if _, err := Instantiate(ctx, r); err != nil {
		_ = r.Close(ctx)
		return nil, err
	}
	e := &engine{r: r, cache: cache, refs: 1, modules: map[[sha256.Size]byte]*sharedModule{}}
	if private {
		e.compileCtx = ctx
	} else {
		engines.m[cache] = e
	}
	return e, nil
}

// runtimeConfig is every engine's runtime configuration, and the compile
// probe's (compileprobe.go), whose compiled code must be the engine's.
func runtimeConfig(cache wazero.CompilationCache) wazero.RuntimeConfig {
	return wazero.NewRuntimeConfig().
		// The meter knows these features' instructions; wazero rejects
		// modules that use others.
		WithCoreFeatures(api.CoreFeaturesV2).
		// No WithCloseOnContextDone: its per-loop Go trampoline made Go
		// guests 30-40x slower; the meter checks instead. No
		// WithMemoryLimitPages: cappedMemory enforces the limit, so that a
		// refused memory.grow is seen and classified. No debug info: it
		// tripled the memory of a compiled Go guest.
		WithDebugInfoEnabled(false).
		WithCompilationCache(cache)
}

// release drops one use of the runtime, closing it after the last.
func (e *engine) release() {
	engines.Lock()
	e.refs--
	last := e.refs == 0
	if last && engines.m[e.cache] == e {
		delete(engines.m, e.cache)
	}
	engines.Unlock()
	if last {
		_ = e.r.Close(context.Background())
	}
}

// compile rewrites and compiles bin, or joins a compilation of the same
// bytes in progress, within compileTimeout. wazero cannot abandon a
// compilation: one that runs late goes on in the background, holding the
// module and the runtime, and its result serves whoever asks next.
func (e *engine) compile(ctx context.Context, key [sha256.Size]byte, bin []byte, closing <-chan struct{}) (*sharedModule, error) {
	engines.Lock()
	m := e.modules[key]
	if m == nil {
		e.typeBytes += sectionSize(bin, secType)
		m = &sharedModule{key: key, ready: make(chan struct{}), refs: 1}
		e.modules[key] = m
		e.refs++
		go e.build(m, bin)
	}
	m.refs++
	engines.Unlock()

	t := time.NewTimer(compileTimeout)
	defer t.Stop()
	var err error
	select {
	case <-m.ready:
		if m.err == nil {
			return m, nil
		}
		err = m.err
	case <-t.C:
		err = fmt.Errorf("%w (%s)", errCompileDeadline, compileTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	case <-closing:
		err = ErrClosed
	}
	e.releaseModule(m)
	return nil, err
}

// compilesStarted counts the compilations begun, and compilesAbandoned
// those skipped because no start waited for them any more, for tests.
var compilesStarted, compilesAbandoned atomic.Int64

// build compiles m, then drops the compilation's hold on m and on the
// runtime, before it tells the waiters: a waiter that goes on to close
// its plugin must find only its own holds left, or the runtime would
// outlive the last plugin by however long this goroutine waits to run.
func (e *engine) build(m *sharedModule, bin []byte) {
	compilesStarted.Add(1)
	queued := false
	select {
	case compileSlots <- struct{}{}:
	default:
		queued = true
		compileSlots <- struct{}{}
	}
	defer func() { <-compileSlots }()
	// A compilation that had to queue is skipped if nobody waits for it
	// any more; one that starts at once runs, to serve the next start.
	if queued && e.abandoned(m) {
		compilesAbandoned.Add(1)
		m.err = errCompileAbandoned
		e.releaseModule(m)
		e.release()
		close(m.ready)
		return
	}
	ctx := e.compileCtx
	if isTrusted(m.key) {
		if ctx == nil {
			ctx = context.Background()
		}
		ctx = experimental.WithCompilationWorkers(ctx, compileWorkers())
	}
	var err error
	// A module wasmcol built, or one compiled for a profiler (listeners
	// change the code), skips the probe.
	probe := !isTrusted(m.key) && e.compileCtx == nil
	m.compiled, m.startNs, err = compileSafely(ctx, e.r, rewriteDir(e.cache), bin, probe)
	returnGarbageSoon()
	if err != nil {
		m.err = err
		switch {
		case isCacheError(err):
			m.err = fmt.Errorf("the compilation cache failed: %w", err)
		case !errors.Is(err, errCompileTooLarge) && !errors.Is(err, errCompileDeadline) && !errors.Is(err, errNoProbe):
			m.err = fmt.Errorf("not a valid Wasm module: %w", err)
		}
		engines.Lock()
		if e.modules[m.key] == m {
			delete(e.modules, m.key) // let a later start try again
		}
		engines.Unlock()
	}
	e.releaseModule(m)
	e.release()
	close(m.ready)
}

// returnGarbageSoon gives the memory compiling left behind back to the
// operating system once compilations have stopped for garbageDelay.
// Compiling the built-in bundle allocates hundreds of MiB that are garbage
// once it ends, and Go's background scavenger is slow to return it: 5 s
// after a cold start of the default config's four processors it had
// returned 9 of 74 idle MiB (the process at 159 MiB resident, 78 MiB
// after one debug.FreeOSMemory); after a warm start, 82 against 72 MiB.
// One forced collection of a heap of about 20 MiB takes milliseconds, and
// it comes after the last start, not on its way.
func returnGarbageSoon() {
	garbage.Lock()
	defer garbage.Unlock()
	if garbage.t == nil {
		garbage.t = time.AfterFunc(garbageDelay, freeOSMemory)
		return
	}
	garbage.t.Reset(garbageDelay) // again, if it has run already
}

var garbage struct {
	sync.Mutex
	t *time.Timer
	// running is held while the memory is returned, so that
	// ReturnGarbageNow waits for a return the timer has begun.
	running sync.Mutex
}

func freeOSMemory() {
	garbage.running.Lock()
	defer garbage.running.Unlock()
	debug.FreeOSMemory()
}

// ReturnGarbageNow returns the compile garbage now if returnGarbageSoon
// has scheduled it, and reports whether it had; a return the timer has
// begun, it waits for. It is for benchmarks: the forced collection, and
// the page faults of growing the heap again after it (10-20 us each on a
// virtual machine), are a start's one-time cost, which a timed run that
// straddles the timer would charge to batches.
func ReturnGarbageNow() bool {
	garbage.Lock()
	pending := garbage.t != nil && garbage.t.Stop()
	garbage.Unlock()
	if pending {
		freeOSMemory()
		return true
	}
	garbage.running.Lock() // wait for one under way
	garbage.running.Unlock()
	return false
}

const garbageDelay = 2 * time.Second

// compileSlots bounds the compilations running at once in the process. A
// compilation cannot be stopped: one whose starts all gave up (its 60 s
// deadline passed, its processor shut down) runs to its end. Without a
// bound, a module reloaded every few seconds whose compile outlasts the
// deadline would pile compilations up, each holding its memory; with
// one, they queue, and a queued one nobody waits for any more is skipped.
var compileSlots = make(chan struct{}, 2)

var errCompileAbandoned = errors.New("compilation abandoned: every start waiting for it gave up")

// abandoned reports whether nothing but the compilation itself holds m,
// and if so takes m out of the engine, so that a later start compiles
// afresh rather than waiting on a compilation that will not run.
func (e *engine) abandoned(m *sharedModule) bool {
	engines.Lock()
	defer engines.Unlock()
	if m.refs > 1 {
		return false
	}
	if e.modules[m.key] == m {
		delete(e.modules, m.key)
	}
	return true
}

// trustedModules holds the SHA-256 of each module wasmcol built itself
// (the built-in bundle). Those compile on several goroutines, which on 2
// cores took the default config's cold start from 2.5 s to about 1.7 s.
// Every other module compiles on one goroutine, under compileSafely's
// recover: wazero's compilation workers are goroutines of their own, where
// a compiler panic a crafted module provoked could not be recovered and
// would end the process.
var trustedModules sync.Map

// TrustModule marks bin, which must be wasmcol's own build, as safe to
// compile on several goroutines. Only its exact bytes are trusted.
func TrustModule(bin []byte) { trustedModules.Store(sha256.Sum256(bin), struct{}{}) }

// compileWorkers is how many goroutines compile a trusted module: one per
// core, up to four. Each holds a compiler's working memory: with one per
// GOMAXPROCS, GOMAXPROCS=64 on 2 cores started in 3.2 s with 591 MiB of
// RSS, against 1.7 s and 215 MiB at GOMAXPROCS=2.
func compileWorkers() int {
	return min(runtime.GOMAXPROCS(0), runtime.NumCPU(), 4)
}

func isTrusted(key [sha256.Size]byte) bool {
	_, ok := trustedModules.Load(key)
	return ok
}

// releaseModule drops one use of m, closing it after the last, which is
// never before its compilation has ended.
func (e *engine) releaseModule(m *sharedModule) {
	engines.Lock()
	m.refs--
	last := m.refs == 0
	if last && e.modules[m.key] == m {
		delete(e.modules, m.key)
	}
	engines.Unlock()
	if last && m.compiled != nil {
		_ = m.compiled.Close(context.Background())
	}
}

// Precompile rewrites and compiles bin into cache, exactly as a Plugin
// using cache would at start, so that a later start loads it instead.
func Precompile(ctx context.Context, cache wazero.CompilationCache, bin []byte) error {
	e, err := acquireEngine(ctx, cache)
	if err != nil {
		return err
	}
	defer e.release()
	m, err := e.compile(ctx, sha256.Sum256(bin), bin, nil)
	if err != nil {
		return err
	}
	e.releaseModule(m)
	return nil
}

// compileSafely rewrites and compiles bin, turning a panic in the
// rewriter or the compiler, which a crafted module might provoke, into an
// error rather than a crash: it runs on a goroutine of its own, where
// nothing else would recover it. wazero's own compilation workers, which
// ctx may ask for, are goroutines this recover does not cover: build asks
// for them only for trusted modules (TrustModule).
// The rewrite goes through the rewrite cache in dir, if any (NewDiskCache).
// With probe, the rewritten module is first compiled in a child process
// (compileprobe.go), and compiled here only if that passed.
func compileSafely(ctx context.Context, r wazero.Runtime, dir string, bin []byte, probe bool) (m wazero.CompiledModule, startCost int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("the compiler failed on this module: %v", p)
		}
	}()
	began := time.Now()
	out, fresh, err := instrumentCached(dir, bin, meterLimits{StackBytes: StackLimit, TableElems: TableLimit})
	if dir != "" && fresh {
		// A module new to the cache: what its compilation adds may take
		// the cache past its bounds. A start that found the rewrite adds
		// nothing and does not pay for a trim (64-75 ms at 10,000
		// entries).
		defer trimDiskCache(dir, began, maxCachedBytes, maxCachedEntries)
	}
	if err != nil {
		return nil, 0, err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if probe {
		if err := probeCompile(ctx, dir, out); err != nil {
			return nil, 0, err
		}
	}
	m, err = compileModule(ctx, r, out)
	return m, startNs(out), err
}

// compileModule is r.CompileModule, where a disk cache that cannot take
// the compiled code (a read-only or full volume) costs no second
// compilation. Compiling again without the cache took a start from 2.1 s
// to 3.4-3.7 s, and the error then blamed the module. wazero keeps the
// code in memory, with one reference, before it writes it to disk, and
// returns the write's error, so asking again finds it and returns a
// handle with a second reference. The first belongs to no handle: it is
// dropped here, or closing the handle would never free the code (20 MB of
// executable memory at each reload of the built-ins on a read-only cache).
func compileModule(ctx context.Context, r wazero.Runtime, bin []byte) (wazero.CompiledModule, error) {
	m, err := r.CompileModule(ctx, bin)
	if !isCacheWriteError(err) {
		return m, err
	}
	if m, err = r.CompileModule(ctx, bin); err != nil {
		return nil, err
	}
	_ = m.Close(ctx) // drops the orphaned reference; m keeps its own
	return m, nil
}

// isCacheWriteError reports the failure of wazero's write of compiled
// code: a temporary file (named *.tmp) it could not create, write, sync
// or close, or could not rename into place. A failed read of an entry
// is not one: nothing was kept in memory then.
func isCacheWriteError(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	return errors.As(err, &pe) && strings.HasSuffix(pe.Path, ".tmp") || errors.As(err, &le)
}

// isCacheError reports an error of the compilation cache's files: the
// compiler itself reports none.
func isCacheError(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	return errors.As(err, &pe) || errors.As(err, &le)
}
