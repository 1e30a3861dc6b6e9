// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Options configure a Plugin. Zero values take the documented defaults.
type Options struct {
	// Source names the module in errors and logs, such as its path.
	Source string
	// Module is the Wasm binary.
	Module []byte
	// Config is the guest's configuration as JSON; nil means "{}".
	Config []byte
	// FilterName names the filter to run, for a module that holds
	// several (the built-ins); "" names none. See ABI.md.
	FilterName string
	// PoolSize is the most instances; default GOMAXPROCS. One starts with
	// the plugin, more as concurrent calls need them.
	PoolSize int
	// MemoryLimitMiB caps each instance's linear memory; default 128.
	MemoryLimitMiB uint32
	// Timeout bounds one call; default 1s.
	Timeout time.Duration
	// StartTimeout bounds starting an instance at start or reload (start
	// section, _initialize, wasmcol_init); default the larger of Timeout
	// and 10s, since a Go guest initialises its runtime there.
	StartTimeout time.Duration
	// MaxCallsPerInstance recycles an instance after that many batches; 0 never.
	MaxCallsPerInstance int
	// HostMemoryMiB caps the host-side memory the plugin's guests cause
	// at once (results, staged edits, replacement batches); default 64.
	HostMemoryMiB uint32
	// IdleTimeout retires an instance unused this long, down to one;
	// default 2 minutes.
	IdleTimeout time.Duration
	// Env is the guest's whole environment. Empty by default: the guest
	// sees none of the Collector's variables.
	Env map[string]string
	// Mounts are host directories the guest may read. None by default.
	Mounts []Mount
	// Cache shares compiled code between plugins and restarts; nil means
	// a process-wide in-memory cache.
	Cache wazero.CompilationCache
	// Logger receives guest logs and host diagnostics.
	Logger *zap.Logger
	// OnOverrun, if set, hears from the watchdog: called with the number
	// of guest phases now past their deadline by more than the margin,
	// whenever it changes. A guest cannot keep running past its deadline,
	// so a non-zero count means the host is stuck somewhere it should not
	// be; the processor reports it as a recoverable error.
	OnOverrun func(stuck int)
}

// Mount exposes HostPath to the guest, read only, at GuestPath.
type Mount struct {
	HostPath  string
	GuestPath string
}

// Limits that are not options, documented in ABI.md.
const (
	// StackLimit is the estimated stack one call may use (see meter.go).
	StackLimit = 8 << 20
	// TableLimit is the most table elements a module may have.
	TableLimit = 1 << 20
	// compileTimeout bounds compiling a module.
	compileTimeout = 60 * time.Second
	// minStartTimeout is the default start deadline's floor.
	minStartTimeout = 10 * time.Second
	// watchdogTick is how often the watchdog looks at running phases.
	watchdogTick = 100 * time.Millisecond
)

// FaultKind classifies why a call failed.
type FaultKind string

// Fault kinds, used as the metric attribute value too.
const (
	FaultTrap    FaultKind = "trap"    // panic, unreachable, out-of-bounds access, exit, stack limit
	FaultTimeout FaultKind = "timeout" // the call outran Options.Timeout
	FaultMemory  FaultKind = "memory"  // the guest ran out of its memory limit
	FaultGuest   FaultKind = "guest"   // the guest reported an error or sent a bad edit list
	FaultHost    FaultKind = "host"    // the host's own code failed on the batch: a wasmcol bug
)

// Fault is a failed call. The batch it was given is unchanged, except
// after a FaultHost raised while applying the guest's edits, which may
// leave part of them applied.
type Fault struct {
	Kind FaultKind
	Err  error
	// Stack is where the host failed, for a FaultHost only: for the log
	// and a bug report, not for the error a client may see.
	Stack []byte
}

func (f *Fault) Error() string { return fmt.Sprintf("wasm %s: %v", f.Kind, f.Err) }
func (f *Fault) Unwrap() error { return f.Err }

// ErrClosed is returned by calls made, or interrupted, while the plugin
// shuts down. It is not the guest's fault.
var ErrClosed = errors.New("wasm plugin is shut down")

var defaultCache = wazero.NewCompilationCache()

// Plugin is a compiled guest and a pool of its instances. Its Process
// methods are safe for concurrent use; each call takes an instance from the
// pool, so up to PoolSize batches run at once.
type Plugin struct {
	opts   Options
	eng    *engine
	memEng *engine // the in-memory engine, when the disk cache failed us; guarded by mu
	shared *shared
	limits limits
	gen    atomic.Pointer[generation]
	// calls holds a token per call in flight, at most PoolSize, in every
	// generation together: a generation's own tokens let calls stuck in a
	// retired one keep running beside a full pool of the next, and a
	// module that spun to its deadline while its file was rewritten faster
	// than that ran 17 instances at once with a pool of 2 (attack round
	// 24).
	calls   chan struct{}
	signals int32
	live    atomic.Int64
	reloads atomic.Int64
	// mounts are its guests' directories, nil without any.
	mounts *mounts

	mu       sync.Mutex // guards closed, holds, guards and the swap of generations
	closed   bool
	isClosed atomic.Bool
	closing  chan struct{}
	// holds counts what may still use the runtime and the instances'
	// memory: each generation until its last instance is closed (a call
	// holds an instance, and so does an instantiation), each reload in
	// progress, and Close until it has retired the current generation. The
	// last to let go after Close began frees them.
	holds    int
	freeOnce sync.Once
	freed    chan struct{} // closed once they are freed
	guards   map[*guard]struct{}
	stuck    int
	stuckNow atomic.Int64
	overruns atomic.Int64
	stopped  chan struct{} // the watchdog has exited
	regions  *regionPool
}

// generation is one compiled module and its instances. Reload starts a new
// generation; the old one finishes its in-flight calls and is then closed.
type generation struct {
	p        *Plugin
	eng      *engine // where module was compiled
	module   *sharedModule
	compiled wazero.CompiledModule
	signals  int32
	// initialBytes is the module's initial memory, which instantiate
	// faults in before wazero writes to it.
	initialBytes uint64

	mu   sync.Mutex
	idle []*instance // most recently used last
	// live counts the instances not yet closed, whether idle, in a call
	// or starting.
	live    int
	retired bool
	drained bool // retired with no instance left: the plugin's hold is dropped
}

type instance struct {
	mod      api.Module
	process  api.Function
	st       *callState
	ctx      context.Context
	stack    [1]uint64
	signals  int32
	calls    int
	mem      *cappedMemory
	lastUsed int64 // now() when last released
	// files is what it opened in its mounts, nil without any.
	files *openFiles
}

// New compiles the module, checks its exports and ABI version, and starts
// one instance, running the guest's init.
//
//	p, err := wasmhost.New(ctx, wasmhost.Options{Source: path, Module: bin})
//	defer p.Close(ctx)
//	td, err = p.ProcessTraces(ctx, td)
//
// # Notes
//   - Any problem with the module is reported here, naming Source: not
//     Wasm, missing exports, a wrong ABI version, a guest init that fails
//     or does not finish.
//   - The guest gets no environment, files or network unless Options say so.
//   - More instances start as concurrent calls need them, up to PoolSize;
//     idle ones retire after IdleTimeout, down to one.
func New(ctx context.Context, opts Options) (*Plugin, error) {
	opts = withDefaults(opts)
	budget := int64(opts.HostMemoryMiB) << 20
	lim := limitsFor(budget)
	if len(opts.Config) > lim.maxResult {
		return nil, fmt.Errorf("config: %d bytes as JSON, more than a guest may read: %d, half of host_memory_limit", len(opts.Config), lim.maxResult)
	}
	eng, err := acquireEngine(ctx, opts.Cache)
	if err != nil {
		return nil, fmt.Errorf("wasm runtime: %w", err)
	}
	lim.keep = keptFor(budget, opts.PoolSize)
	p := &Plugin{
		opts:   opts,
		eng:    eng,
		limits: lim,
		shared: &shared{
			config:   opts.Config,
			filter:   []byte(opts.FilterName),
			log:      newGuestLog(opts.Logger, 10, 50),
			kv:       newKV(),
			counters: &counters{},
			mem:      &hostMemory{limit: budget},
		},
		closing: make(chan struct{}),
		calls:   make(chan struct{}, opts.PoolSize),
		freed:   make(chan struct{}),
		guards:  map[*guard]struct{}{},
		stopped: make(chan struct{}),
		regions: &regionPool{max: opts.PoolSize},
	}
	if len(opts.Mounts) > 0 {
		if p.mounts, err = openMounts(opts.Mounts); err != nil {
			eng.release()
			return nil, err
		}
	}
	g, err := p.newGeneration(ctx, opts.Module)
	if err != nil {
		if p.mounts != nil {
			p.mounts.close()
		}
		p.eng.release()      // the plugin's hold, on eng or what compile replaced it with
		if p.memEng != nil { // a failed disk-cache compile took it
			p.memEng.release()
		}
		p.regions.close()
		return nil, err
	}
	p.opts.Module = nil // the module is compiled; Reload brings new bytes
	p.signals = g.signals
	p.gen.Store(g)
	go p.watch()
	return p, nil
}

func withDefaults(o Options) Options {
	if o.PoolSize <= 0 {
		o.PoolSize = runtime.GOMAXPROCS(0)
	}
	if o.MemoryLimitMiB == 0 {
		o.MemoryLimitMiB = 128
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = max(o.Timeout, minStartTimeout)
	}
	if o.HostMemoryMiB == 0 {
		o.HostMemoryMiB = 64
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	if len(o.Config) == 0 {
		o.Config = []byte("{}")
	}
	if o.Cache == nil {
		o.Cache = defaultCache
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}

// Signals is the set of abi.Signal* values the guest processes.
func (p *Plugin) Signals() int32 { return p.signals }

// LiveInstances is the number of instantiated guest instances.
func (p *Plugin) LiveInstances() int64 { return p.live.Load() }

// Reloads counts successful Reload calls.
func (p *Plugin) Reloads() int64 { return p.reloads.Load() }

// Counters is a snapshot of the guest's own counters.
func (p *Plugin) Counters() []CounterValue { return p.shared.counters.snapshot() }

// LogLinesDropped counts guest log lines the rate limit discarded.
func (p *Plugin) LogLinesDropped() int64 { return p.shared.log.total.Load() }

// Overrunning is the number of guest phases now past their deadline by
// more than the watchdog's margin.
func (p *Plugin) Overrunning() int64 { return p.stuckNow.Load() }

// Overruns counts the phases the watchdog has reported.
func (p *Plugin) Overruns() int64 { return p.overruns.Load() }

// HostMemoryInUse is the host-side memory the guests hold now.
func (p *Plugin) HostMemoryInUse() int64 { return p.shared.mem.used.Load() }

var requiredExports = []struct {
	name            string
	params, results []api.ValueType
}{
	{abi.ExportABIVersion, nil, []api.ValueType{api.ValueTypeI32}},
	{abi.ExportSignals, nil, []api.ValueType{api.ValueTypeI32}},
	{abi.ExportInit, nil, []api.ValueType{api.ValueTypeI32}},
	{abi.ExportProcess, []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mib writes a number of 64 KiB pages in MiB, exactly: 17 pages are
// 1.0625 MiB, which must not read as the 1 MiB limit they exceed.
func mib(pages uint64) string {
	return strconv.FormatFloat(float64(pages)/16, 'f', -1, 64)
}

func (p *Plugin) newGeneration(ctx context.Context, bin []byte) (*generation, error) {
	src := p.opts.Source
	pages, err := initialMemoryPages(bin)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid Wasm module: %w", src, err)
	} else if pages > uint64(p.opts.MemoryLimitMiB)*16 {
		return nil, fmt.Errorf("%s: the module's initial memory is %s MiB, over the memory limit of %d MiB", src, mib(pages), p.opts.MemoryLimitMiB)
	}
	eng, module, err := p.compile(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	compiled := module.compiled
	// eng comes held, for the generation until it drains: the plugin may
	// replace its engine meanwhile.
	fail := func(err error) (*generation, error) {
		eng.releaseModule(module)
		eng.release()
		return nil, err
	}
	exports := compiled.ExportedFunctions()
	for _, want := range requiredExports {
		fn, ok := exports[want.name]
		if !ok {
			return fail(fmt.Errorf("%s: missing export %q: not a wasmcol filter (ABI v%d)", src, want.name, abi.Version))
		}
		if !sameTypes(fn.ParamTypes(), want.params) || !sameTypes(fn.ResultTypes(), want.results) {
			return fail(fmt.Errorf("%s: export %q has the wrong signature", src, want.name))
		}
	}
	if fn, ok := exports[abi.ExportInitialize]; ok && (len(fn.ParamTypes()) != 0 || len(fn.ResultTypes()) != 0) {
		return fail(fmt.Errorf("%s: export %q has the wrong signature", src, abi.ExportInitialize))
	}
	g := &generation{
		p:            p,
		eng:          eng,
		module:       module,
		compiled:     compiled,
		initialBytes: pages << 16,
	}
	// One instance starts now, so that a guest that cannot start fails
	// the Collector's start instead of the first batch.
	inst, err := g.instantiate(ctx, p.opts.StartTimeout)
	if err != nil {
		return fail(err)
	}
	g.signals = inst.signals
	g.live = 1
	inst.lastUsed = now()
	g.idle = append(g.idle, inst)
	p.mu.Lock()
	p.holds++ // dropped once the generation is drained
	p.mu.Unlock()
	return g, nil
}

// compile compiles bin with the plugin's compilation cache. A disk cache
// can fail: unwritable (a read-only root filesystem holding a cache built
// into the image: hits still load), or holding an entry that does not
// check out. Then the module is compiled again without it, and the start
// goes on: a cache is an optimisation, never a reason to fail.
func (p *Plugin) compile(ctx context.Context, bin []byte) (*engine, *sharedModule, error) {
	key := sha256.Sum256(bin) // once: hashing the built-in bundle takes milliseconds
	eng, err := p.engine(ctx, &p.eng, p.opts.Cache, key, bin)
	if err != nil {
		return nil, nil, err
	}
	m, err := eng.compile(ctx, key, bin, p.closing)
	if err == nil || p.opts.Cache == defaultCache || errors.Is(err, ErrClosed) || errors.Is(err, errCompileDeadline) ||
		errors.Is(err, errCompileTooLarge) || errors.Is(err, errNoProbe) || ctx.Err() != nil {
		if err != nil {
			eng.release()
			return nil, nil, err
		}
		return eng, m, nil
	}
	eng.release()
	eng, aerr := p.engine(ctx, &p.memEng, defaultCache, key, bin)
	if aerr != nil {
		return nil, nil, aerr
	}
	if m, err2 := eng.compile(ctx, key, bin, p.closing); err2 == nil {
		p.opts.Logger.Info("compiled without the compilation cache, which failed", zap.Error(err))
		return eng, m, nil
	}
	eng.release()
	return nil, nil, err // the module's own problem: report the first answer
}

// engine returns, held for the caller, the runtime *field (p.eng, or
// p.memEng, the in-memory one taken when the disk cache failed) to compile
// bin, key its sha256, in: acquired for cache on first use, and replaced when compiling bin
// would take it past maxEngineTypeBytes (forCompiling). The plugin drops
// its hold on the one it replaces; the generations compiled there hold it
// until they drain. The caller's hold is taken here, under the plugin's
// lock: a reload that got the engine without one saw it closed under its
// start when a second reload replaced it and retired the generation that
// held it.
func (p *Plugin) engine(ctx context.Context, field **engine, cache wazero.CompilationCache, key [sha256.Size]byte, bin []byte) (*engine, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *field == nil {
		e, err := acquireEngine(ctx, cache)
		if err != nil {
			return nil, err
		}
		*field = e
	}
	old := *field
	e, err := old.forCompiling(ctx, key, bin)
	if err != nil {
		return nil, err
	}
	if e != old {
		*field = e
		old.release() // the plugin's hold; the caller's is on e, taken by acquireEngine
		e.hold()
	}
	return e, nil
}

func (p *Plugin) register(g *guard) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.guards[g] = struct{}{}
	return true
}

func (p *Plugin) unregister(g *guard) {
	p.mu.Lock()
	delete(p.guards, g)
	p.mu.Unlock()
}

// instantiate starts one instance under a deadline of timeout: the
// module's start section, _initialize, the ABI checks and wasmcol_init.
func (g *generation) instantiate(ctx context.Context, timeout time.Duration) (inst *instance, err error) {
	p, src := g.p, g.p.opts.Source
	began := now()
	st := &callState{shared: p.shared, limits: p.limits, guard: newGuard(StackLimit)}
	st.stdout = &lineWriter{log: p.shared.log, level: abi.LogInfo}
	st.stderr = &lineWriter{log: p.shared.log, level: abi.LogWarn}
	if !p.register(st.guard) {
		return nil, ErrClosed
	}
	base := context.WithValue(context.Background(), stateKey{}, st)
	mem := &cappedMemory{limit: uint64(p.opts.MemoryLimitMiB) << 20, pool: p.regions, guard: st.guard}
	// A panic in wazero or the host while starting fails this start, not
	// the Collector, and gives back what the start took: left registered,
	// its guard had the watchdog report a stuck start for good, and
	// Close waited on it.
	var mod api.Module
	var files *openFiles
	defer func() {
		if r := recover(); r != nil {
			st.guard.disarm()
			if mod != nil {
				_ = mod.Close(ctx)
			}
			mem.Free()
			if files != nil {
				files.closeAll()
			}
			st.release()
			p.unregister(st.guard)
			inst, err = nil, &Fault{Kind: FaultHost, Stack: debug.Stack(),
				Err: fmt.Errorf("%s: starting an instance failed in the host (a wasmcol bug): %v", src, r)}
		}
	}()
	// The memory is reserved before wazero asks for it: wazero slices
	// what it is first given, and a reservation the system refused
	// (ulimit -v, strict overcommit) made it panic, which at start ended
	// the Collector.
	if err := mem.reserve(began + int64(timeout)); err != nil {
		p.unregister(st.guard)
		if errors.Is(err, errClearLate) {
			return nil, &Fault{Kind: FaultTimeout, Err: fmt.Errorf("%s: start did not finish within %s: %w", src, timeout, err)}
		}
		return nil, &Fault{Kind: FaultMemory, Err: fmt.Errorf("%s: memory_limit: %d MiB of address space could not be reserved for an instance: %w", src, p.opts.MemoryLimitMiB, err)}
	}
	mcfg := wazero.NewModuleConfig().
		WithName("").         // anonymous: many instances of one module may coexist
		WithStartFunctions(). // _initialize runs below, under the deadline
		WithStdout(st.stdout).
		WithStderr(st.stderr).
		WithSysWalltime().WithSysNanotime().WithNanosleep(st.guard.sleep).
		WithRandSource(rand.Reader)
	for k, v := range p.opts.Env {
		mcfg = mcfg.WithEnv(k, v)
	}
	if p.mounts != nil {
		var fsc wazero.FSConfig
		fsc, files = p.mounts.forInstance(st)
		mcfg = mcfg.WithFSConfig(fsc)
	}
	// The start's deadline counts from before the memory is reserved:
	// reserving it clears what the last instance to hold the region
	// touched (about 200 ms at memory_limit 4096 MiB, every page touched),
	// and a start given its whole timeout after it could make a batch
	// take both.
	reserved := time.Duration(now() - began)
	st.guard.arm(phaseStart, max(timeout-reserved, 0))
	fail := func(mod api.Module, step string, err error) (*instance, error) {
		st.guard.disarm()
		if mod != nil {
			_ = mod.Close(ctx)
		}
		// wazero returns no module when instantiating fails (a data
		// segment out of bounds, a trap in the start section) and closes
		// nothing, and it never frees what a module without memory was
		// given: the region is freed here, or every failed start would
		// leak up to memory_limit of it. So are the files the start
		// opened in its mounts, below.
		mem.Free()
		if files != nil {
			files.closeAll() // what wazero did not close: see openFiles
		}
		st.release()
		p.unregister(st.guard)
		switch st.guard.stopped {
		case stopInterrupt:
			return nil, ErrClosed
		case stopDeadline, stopReckoned:
			err := describeStop(stopDeadline, "start", timeout)
			if st.guard.stopped == stopReckoned {
				err = fmt.Errorf("start would not finish within %s: the work it asks of the host cannot be stopped midway", timeout)
			}
			if reserved >= time.Millisecond {
				err = fmt.Errorf("%w (reserving its memory took %s of it)", err, reserved.Round(time.Microsecond))
			}
			return nil, &Fault{Kind: FaultTimeout, Err: fmt.Errorf("%s: %w", src, err)}
		case stopStack:
			return nil, &Fault{Kind: FaultTrap, Err: fmt.Errorf("%s: %s: %w", src, step, describeStop(stopStack, "start", timeout))}
		}
		if f := hostRuntimeError(err); f != nil {
			f.Err = fmt.Errorf("%s: %s: %w", src, step, f.Err)
			return nil, f
		}
		err = newGuestError(err)
		if mem.refused {
			return nil, &Fault{Kind: FaultMemory, Err: fmt.Errorf("%s: %s: memory limit %d MiB reached: %w", src, step, p.opts.MemoryLimitMiB, err)}
		}
		return nil, &Fault{Kind: FaultTrap, Err: fmt.Errorf("%s: %s: %w", src, step, err)}
	}
	// Instantiating runs in wazero, where no check can stop it, and its
	// cost beyond a few microseconds grows with what the module declares
	// (startNs): a module whose guest trapped, so that every batch started
	// an instance, took 26-158 ms a batch under a 5 ms timeout with
	// 262,128 element entries (attack round 27b), and 23-38 ms with a
	// table of a million entries (27d).
	if now()+g.module.startNs > st.guard.deadline.Load() {
		st.guard.stopped = stopReckoned
		return fail(nil, "start", nil)
	}
	// The initial memory is faulted in as a grow's is (populate), before
	// wazero copies the data segments into it and runs the start section:
	// one data segment of a byte every huge page of 1 GiB, or a start
	// section storing as much, faulted in 1 GiB inside InstantiateModule,
	// 0.6-2 s under a 5 ms timeout (attack round 28c).
	if !mem.populate(0, g.initialBytes) {
		return fail(nil, "start", nil)
	}
	mod, err = g.eng.r.InstantiateModule(withMemory(base, mem), g.compiled, mcfg)
	if err != nil {
		return fail(nil, "start failed", err)
	}
	call := func(name string) ([]uint64, error) {
		fn := mod.ExportedFunction(name)
		if fn == nil {
			return nil, nil
		}
		return fn.Call(base)
	}
	if _, err := call(abi.ExportInitialize); err != nil {
		return fail(mod, abi.ExportInitialize+" trapped", err)
	}
	ver, err := call(abi.ExportABIVersion)
	if err != nil {
		return fail(mod, abi.ExportABIVersion+" trapped", err)
	}
	// A wrong ABI version or a refused init is the guest answering, not
	// trapping: kind guest, so that an operator reads a refusal, not a crash.
	refuse := func(step string, err error) (*instance, error) {
		inst, ferr := fail(mod, step, err)
		if f, ok := ferr.(*Fault); ok && f.Kind == FaultTrap {
			f.Kind = FaultGuest
		}
		return inst, ferr
	}
	if v := api.DecodeI32(ver[0]); v != abi.Version {
		return refuse("start", fmt.Errorf("guest speaks wasmcol ABI v%d, this host speaks v%d", v, abi.Version))
	}
	sig, err := call(abi.ExportSignals)
	if err != nil {
		return fail(mod, abi.ExportSignals+" trapped", err)
	}
	rc, err := call(abi.ExportInit)
	if err != nil {
		return fail(mod, abi.ExportInit+" trapped", err)
	}
	if rc[0] != abi.ResultOK {
		return refuse("init failed", errors.New(orUnknown(st.failMsg)))
	}
	if st.guard.disarm() {
		// Finished, but late: the deadline is the rule.
		st.guard.stopped = stopDeadline
		return fail(mod, "start", nil)
	}
	st.failMsg = ""
	p.live.Add(1)
	return &instance{mod: mod, process: mod.ExportedFunction(abi.ExportProcess), st: st, ctx: base,
		mem: mem, signals: api.DecodeI32(sig[0]), files: files}, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "no message"
	}
	return s
}

// close ends an instance for good.
func (g *generation) close(inst *instance) {
	_ = inst.mod.Close(context.Background())
	// wazero freed the region if the module has a memory; one without
	// memory was reserved a region all the same, which only this frees
	// (each replaced instance leaked one: 8 TiB of address space in 2,000
	// batches at memory_limit 4096, and the process died).
	inst.mem.Free()
	if inst.files != nil {
		inst.files.closeAll() // what wazero did not close: see openFiles
	}
	inst.st.release()
	g.p.unregister(inst.st.guard)
	g.p.live.Add(-1)
}

// acquire takes a call's token, then an idle instance of the current
// generation, or starts one when every live instance is busy, and says
// how long that start took.
func (p *Plugin) acquire(ctx context.Context) (*generation, *instance, time.Duration, error) {
	if p.isClosed.Load() {
		return nil, nil, 0, ErrClosed
	}
	select {
	case p.calls <- struct{}{}: // the usual case: room in the pool
	default:
		select {
		case p.calls <- struct{}{}:
		case <-p.closing:
			return nil, nil, 0, ErrClosed
		case <-ctx.Done():
			return nil, nil, 0, ctx.Err()
		}
	}
	for {
		// Reload stores the new generation before it retires the old,
		// and Close sets isClosed first: a retired one is met only in
		// the moment between, or when closed.
		g := p.gen.Load()
		if p.isClosed.Load() {
			<-p.calls
			return nil, nil, 0, ErrClosed
		}
		g.mu.Lock()
		if g.retired {
			g.mu.Unlock()
			runtime.Gosched()
			continue
		}
		if n := len(g.idle); n > 0 {
			inst := g.idle[n-1]
			g.idle = g.idle[:n-1]
			g.mu.Unlock()
			return g, inst, 0, nil
		}
		g.live++
		g.mu.Unlock()
		// Inside a batch, a new instance starts within the batch's timeout,
		// and the call gets what the start left of it.
		began := now()
		inst, err := g.instantiate(ctx, p.opts.Timeout)
		if err != nil {
			g.forget(1)
			<-p.calls
			var fault *Fault
			if errors.As(err, &fault) {
				return nil, nil, 0, fault
			}
			return nil, nil, 0, err
		}
		return g, inst, time.Duration(now() - began), nil
	}
}

// release returns an instance to the pool, or closes it when keep is false
// or its generation is retired, and gives the call's token back, whatever
// happens: a token lost is a place lost in the pool for good.
func (g *generation) release(inst *instance, keep bool) {
	defer g.p.returnToken()
	g.mu.Lock()
	if keep && !g.retired {
		inst.lastUsed = now()
		g.idle = append(g.idle, inst)
		g.mu.Unlock()
	} else {
		g.mu.Unlock()
		g.close(inst)
		g.forget(1)
	}
}

func (p *Plugin) returnToken() { <-p.calls }

// forget counts out n instances, closed by now, and lets the generation's
// module and its hold on the plugin go once it is retired and has none.
// Counting them out only once closed is what keeps the runtime and the
// memory from being freed under one.
func (g *generation) forget(n int) {
	g.mu.Lock()
	g.live -= n
	done := g.retired && g.live == 0 && !g.drained
	g.drained = g.drained || done
	g.mu.Unlock()
	if done {
		g.eng.releaseModule(g.module)
		g.eng.release()
		g.p.drop()
	}
}

// retireIdle closes instances idle longer than the idle timeout, keeping
// at least one live instance so that the next batch does not wait.
func (g *generation) retireIdle(before int64) {
	var old []*instance
	g.mu.Lock()
	for len(g.idle) > 0 && g.live-len(old) > 1 && g.idle[0].lastUsed < before {
		old = append(old, g.idle[0])
		g.idle = g.idle[1:]
	}
	g.mu.Unlock()
	if len(old) == 0 {
		return
	}
	for _, inst := range old {
		inst.mem.release = true // idle: give its memory back
		g.close(inst)
	}
	g.forget(len(old))
}

// call runs the guest on the batch that load puts into the instance's
// state. On success the staged edits have been applied and done may collect
// a replacement batch; on failure the batch is untouched.
func (p *Plugin) call(ctx context.Context, signal int32, load, done func(*callState)) error {
	g, inst, started, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	err = p.run(g, inst, started, signal, load, done)
	// A batch that times out on an instance started for it says what the
	// start took: a filter whose start and call do not fit the timeout
	// together fails every batch that must start an instance, and the
	// operator needs to see why.
	if started > 0 && err != nil {
		// Declared here: errors.As moves it to the heap, which every call
		// would pay.
		var f *Fault
		if errors.As(err, &f) && f.Kind == FaultTimeout {
			f.Err = fmt.Errorf("%w (starting an instance for the batch took %s of it)", f.Err, started.Round(time.Microsecond))
		}
	}
	return err
}

// run is call on the instance acquired, which took started to start for
// this batch.
func (p *Plugin) run(g *generation, inst *instance, started time.Duration, signal int32, load, done func(*callState)) error {
	st := inst.st
	st.begin(signal)
	load(st)
	keep := false
	defer func() {
		// The token and the instance go back even if ending the call
		// panics (contain recovers it above): a token lost is a place lost
		// in the pool for good. An instance whose end failed is not kept.
		ended := false
		defer func() { g.release(inst, keep && ended) }()
		st.end()
		ended = true
	}()

	// timeout bounds the batch, an instance started for it included: a
	// guest that had itself recycled (memory past three quarters of its
	// limit) and spent most of the timeout in every start and every call
	// made each batch take twice it, and succeed.
	left := p.opts.Timeout - started
	if left <= 0 {
		keep = true // started sound, only late: the next batch uses it
		return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s", p.opts.Timeout)}
	}
	inst.stack[0] = api.EncodeI32(signal)
	inst.mem.refused = false
	st.guard.arm(phaseCall, left)
	st.deadline = st.guard.deadline.Load()
	st.t.inGuest = true
	callErr := inst.process.CallWithStack(inst.ctx, inst.stack[:])
	st.t.inGuest = false
	if callErr != nil {
		st.guard.disarm()
		return p.classify(inst, callErr) // a failed instance is never reused
	}
	if api.DecodeI32(inst.stack[0]) != abi.ResultOK {
		st.guard.disarm()
		return &Fault{Kind: FaultGuest, Err: errors.New(orUnknown(st.failMsg))}
	}
	if len(st.edits) > 0 && st.hasOTLP {
		st.guard.disarm()
		return &Fault{Kind: FaultGuest, Err: errors.New("guest both replaced the batch and edited it")}
	}
	if st.hasOTLP && now()+decodeNs(st.otlpCharge, len(st.otlp)) > st.deadline {
		// Decoding runs after the call and cannot be stopped: as with
		// edits, a replacement the time left cannot hold times out.
		expired := st.guard.disarm()
		if st.guard.closing.Load() {
			return ErrClosed
		}
		if expired {
			return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s", p.opts.Timeout)}
		}
		inst.calls++
		keep = !p.shouldRecycle(inst) // the guest finished sound
		return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s: decoding the replacement batch would not finish in the time left", p.opts.Timeout)}
	}
	// Validating the edits counts against the batch's time; applying
	// them, which validation has bounded, must then not be interrupted,
	// or the batch would be left half edited.
	if err := st.ed.validate(st.edits); err != nil {
		expired := st.guard.disarm()
		if st.guard.closing.Load() {
			return ErrClosed // validation stopped for the shutdown, as a guest is
		}
		// The instance is kept where the guest itself finished sound, but
		// still counts the call, so that a guest whose every list is
		// refused is recycled as any other.
		inst.calls++
		if (errors.Is(err, errApplyDeadline) || errors.Is(err, errBuildTooLong)) && !expired {
			// Only its edits did not fit the time left.
			keep = !p.shouldRecycle(inst)
			return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s: %w", p.opts.Timeout, err)}
		}
		if expired || errors.Is(err, errValidateDeadline) {
			return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s", p.opts.Timeout)}
		}
		keep = !p.shouldRecycle(inst)
		return &Fault{Kind: FaultGuest, Err: err}
	}
	if st.guard.disarm() {
		return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s", p.opts.Timeout)}
	}
	if len(st.edits) > 0 {
		st.ed.commit(st.edits)
	}
	done(st)
	inst.calls++
	keep = !p.shouldRecycle(inst)
	return nil
}

// shouldRecycle retires an instance after its call budget, or once its
// memory passes three quarters of the limit: a guest that leaks is then
// replaced before it hits the wall mid-batch.
func (p *Plugin) shouldRecycle(inst *instance) bool {
	if max := p.opts.MaxCallsPerInstance; max > 0 && inst.calls >= max {
		return true
	}
	if mem := guestMemory(inst.mod); mem != nil {
		return memorySize(mem) > uint64(p.opts.MemoryLimitMiB)<<20*3/4
	}
	return false
}

func (p *Plugin) classify(inst *instance, err error) error {
	switch inst.st.guard.stopped {
	case stopDeadline:
		return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s", p.opts.Timeout)}
	case stopReckoned:
		return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s: the work a host function was asked for would not finish in the time left", p.opts.Timeout)}
	case stopInterrupt:
		return ErrClosed
	case stopStack:
		return &Fault{Kind: FaultTrap, Err: fmt.Errorf("stack limit of %d KiB exceeded (deep recursion)", StackLimit>>10)}
	}
	if f := hostRuntimeError(err); f != nil {
		return f
	}
	// A guest that hits the memory cap has a memory.grow refused; Go
	// guests then die with "out of memory", others trap or fail their own
	// way. Whatever the way, a refused grow in the call is the cause.
	if inst.mem.refused {
		return &Fault{Kind: FaultMemory, Err: fmt.Errorf("memory limit %d MiB reached: %w", p.opts.MemoryLimitMiB, newGuestError(err))}
	}
	if msg := inst.st.failMsg; msg != "" {
		err = fmt.Errorf("%s: %w", msg, err)
	}
	return &Fault{Kind: FaultTrap, Err: newGuestError(err)}
}

// goStackHeader is what wazero puts before the Go stack it appends to a
// Go runtime error it recovered (wasmdebug.GoRuntimeErrorTracePrefix).
const goStackHeader = "\n\nGo runtime stack trace:\n"

// hostRuntimeError is a FaultHost for a Go runtime error (an index out of
// range, a nil pointer) in a host function the guest called, ours or
// wazero's WASI, in a batch or in a start. wazero recovers it as a trap
// and appends the Collector's Go stack; its WASI functions panic so on a
// range that ends at 4 GiB. It is a host bug the guest reached, and its
// stack belongs in the log's bug report, not in an error that goes back
// to clients. A guest cannot pass its own error for one: the chain must
// hold a runtime.Error, which only a Go panic makes, and the stack is cut
// at the last header, after anything the guest named.
func hostRuntimeError(err error) *Fault {
	var re runtime.Error
	if !errors.As(err, &re) {
		return nil
	}
	text := err.Error()
	var stack []byte
	if i := strings.LastIndex(text, goStackHeader); i >= 0 {
		text, stack = text[:i], []byte(text[i+len(goStackHeader):])
	}
	return &Fault{Kind: FaultHost, Stack: stack,
		Err: fmt.Errorf("a host function failed on the guest's call (a wasmcol bug): %w", newGuestError(errors.New(text)))}
}

// guestError is an error whose text the guest shaped: a trap's stack trace
// names its functions and spells their signatures, a link error quotes the
// import it could not resolve. Its text goes into logs, into the error a
// receiver answers with, and through every retry, so it is sanitized line
// by line and cut to maxGuestErrorText once, when the error is made:
// wazero prints up to 30 frames, and a frame of a function of 1,000
// parameters and 1,000 results is 20 KB, so a trap's error once reached
// 608 KB and took 20 ms to escape, on every rendering.
type guestError struct {
	err  error
	text string
}

// maxGuestErrorText is the most a guest's error says, escaped: the trap's
// message and its first frames.
const maxGuestErrorText = 8 << 10

func newGuestError(err error) guestError {
	full := err.Error()
	// Escaping never shortens text, so the first maxGuestErrorText bytes
	// hold all that can be shown: the work is bounded by the cap.
	lines := strings.Split(truncateUTF8(full, maxGuestErrorText), "\n")
	for i, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, "\t")) // a stack trace's frames
		lines[i] = l[:indent] + sanitize([]byte(l[indent:]))
	}
	text := strings.Join(lines, "\n")
	if len(text) > maxGuestErrorText || len(full) > maxGuestErrorText {
		text = cutEscaped(text, maxGuestErrorText) +
			fmt.Sprintf("\n\t... (cut to %d bytes; the guest's error was %d before escaping)", maxGuestErrorText, len(full))
	}
	return guestError{err: err, text: text}
}

func (e guestError) Error() string { return e.text }

func (e guestError) Unwrap() error { return e.err }

// takeOTLP returns the replacement batch the guest staged, if any.
func takeOTLP(st *callState) staged {
	if !st.hasOTLP {
		return staged{}
	}
	// The buffer moves out of the call state, which gives its share of
	// the budget back: decode holds the charge instead, which covers it.
	repl := staged{set: true, payload: st.otlp, charge: st.otlpCharge, deadline: st.deadline}
	st.otlp, st.hasOTLP = nil, false
	st.settle()
	return repl
}

// staged is a replacement batch taken out of its call, with what decoding
// it may cost. An empty payload is an empty batch: a filter that drops
// everything stages one.
type staged struct {
	set      bool
	payload  []byte
	charge   int64
	deadline int64 // the call's
}

// decodeNs is what decoding a replacement is taken to cost at most: by
// the memory the walk charged it, or by its bytes, which groups make cost
// time while charging nothing. Measured on a busy 2-core machine, up to
// 2.1 ns a charged byte (empty spans) with the memory warm, 3.8 in fresh
// memory (empty exemplars), and 4-7 ns a byte of groups.
func decodeNs(charge int64, size int) int64 {
	const perCharged, perByte = 4, 10
	return max(perCharged*charge, perByte*int64(size))
}

// decode decodes a replacement batch holding what it may cost of the host
// memory budget meanwhile: the decode runs after the instance is released,
// so without this every instance of the pool could decode at once, each
// up to the whole budget.
func (p *Plugin) decode(repl staged, unmarshal func([]byte) error) error {
	if !p.shared.mem.take(repl.charge) {
		return &Fault{Kind: FaultGuest, Err: fmt.Errorf("SetOTLP payload: decoding it may take %d MiB, more than host_memory_limit has free now",
			(repl.charge+1<<20-1)>>20)}
	}
	defer p.shared.mem.give(repl.charge)
	err := unmarshal(repl.payload)
	if now() > repl.deadline {
		// Reckoned to fit, yet late: the deadline is the rule.
		return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s: decoding the replacement batch finished late", p.opts.Timeout)}
	}
	if err != nil {
		return &Fault{Kind: FaultGuest, Err: fmt.Errorf("SetOTLP payload: %w", err)}
	}
	return nil
}

// contain turns a panic in the host's own code during a batch into a
// FaultHost, so that a host bug a guest's edits or payload reach costs one
// batch instead of the Collector. By the time it runs, call's deferred
// release has discarded the instance (keep is still false at every point
// that can panic) and given its pool slot back.
func contain(err *error) {
	r := recover()
	if r == nil {
		return
	}
	*err = &Fault{Kind: FaultHost, Stack: debug.Stack(),
		Err: fmt.Errorf("host failure (a wasmcol bug; the batch may hold part of the filter's edits): %v", r)}
}

// ProcessTraces runs the guest on td. It returns td edited in place, or the
// replacement the guest built with SetOTLP; on a *Fault td is unchanged
// (but see FaultHost).
func (p *Plugin) ProcessTraces(ctx context.Context, td ptrace.Traces) (res ptrace.Traces, err error) {
	res = td // what a contained host failure returns
	defer contain(&err)
	var repl staged
	err = p.call(ctx, abi.SignalTraces,
		func(st *callState) { st.t.traces = td },
		func(st *callState) { repl = takeOTLP(st) })
	if err != nil || !repl.set {
		return td, err
	}
	var out ptrace.Traces
	// Decoded as an export request, as the OTLP receivers decode one, so
	// that the deprecated instrumentation_library_* fields move to their
	// current places: ProtoUnmarshaler kept them where neither the index
	// nor otlp_get's weighing can see them, while pdata still sizes and
	// marshals them (3 million events hidden there took a Wasm processor
	// after this one 61 ms an otlp_get under a 5 ms timeout).
	if err := p.decode(repl, func(b []byte) error {
		req := ptraceotlp.NewExportRequest()
		err := req.UnmarshalProto(b)
		out = req.Traces()
		return err
	}); err != nil {
		return td, err
	}
	return out, nil
}

// ProcessMetrics is ProcessTraces for metrics.
func (p *Plugin) ProcessMetrics(ctx context.Context, md pmetric.Metrics) (res pmetric.Metrics, err error) {
	res = md // what a contained host failure returns
	defer contain(&err)
	var repl staged
	err = p.call(ctx, abi.SignalMetrics,
		func(st *callState) { st.t.metrics = md },
		func(st *callState) { repl = takeOTLP(st) })
	if err != nil || !repl.set {
		return md, err
	}
	var out pmetric.Metrics
	if err := p.decode(repl, func(b []byte) error {
		req := pmetricotlp.NewExportRequest()
		err := req.UnmarshalProto(b)
		out = req.Metrics()
		return err
	}); err != nil {
		return md, err
	}
	return out, nil
}

// ProcessLogs is ProcessTraces for logs.
func (p *Plugin) ProcessLogs(ctx context.Context, ld plog.Logs) (res plog.Logs, err error) {
	res = ld // what a contained host failure returns
	defer contain(&err)
	var repl staged
	err = p.call(ctx, abi.SignalLogs,
		func(st *callState) { st.t.logs = ld },
		func(st *callState) { repl = takeOTLP(st) })
	if err != nil || !repl.set {
		return ld, err
	}
	var out plog.Logs
	if err := p.decode(repl, func(b []byte) error {
		req := plogotlp.NewExportRequest()
		err := req.UnmarshalProto(b)
		out = req.Logs()
		return err
	}); err != nil {
		return ld, err
	}
	return out, nil
}

// Reload swaps in a new module. The new one is compiled, checked and
// started first, each step under its deadline; if anything fails the old
// one keeps running and the error says why. Calls in flight finish on the
// old instances. Close interrupts a reload in progress.
func (p *Plugin) Reload(ctx context.Context, bin []byte) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.holds++ // a new generation may start instances before it holds its own
	p.mu.Unlock()
	defer p.drop()
	g, err := p.newGeneration(ctx, bin)
	if err != nil {
		return err
	}
	if g.signals&p.signals != p.signals {
		g.retire()
		return fmt.Errorf("%s: the new module processes signals %b, the running one %b", p.opts.Source, g.signals, p.signals)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		g.retire()
		return ErrClosed
	}
	old := p.gen.Swap(g)
	p.mu.Unlock()
	old.retire()
	p.reloads.Add(1)
	return nil
}

// retire closes the generation: idle instances at once, busy ones as their
// calls end.
func (g *generation) retire() {
	g.mu.Lock()
	if g.retired {
		g.mu.Unlock()
		return
	}
	g.retired = true
	idle := g.idle
	g.idle = nil
	g.mu.Unlock()
	for _, inst := range idle {
		g.close(inst)
	}
	g.forget(len(idle))
}

// Close interrupts every guest still running, waits for the calls and
// the reload in flight, in every generation, then closes every instance
// and the runtime.
//
// # Notes
//   - A guest stops at its next check, but a call stuck in the host is
//     not waited for past ctx: Close then returns, and the last call out
//     frees the runtime and the memory, which nothing frees under it.
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.isClosed.Store(true)
	p.holds++ // until the current generation is retired
	close(p.closing)
	for g := range p.guards {
		g.interrupt()
	}
	p.mu.Unlock()
	<-p.stopped
	p.gen.Load().retire()
	p.drop()
	select {
	case <-p.freed:
	case <-ctx.Done():
		p.opts.Logger.Warn("wasm plugin closed while calls still run in the host; their runtime and memory are freed when they end")
	}
	return nil
}

// drop lets go of a hold; the last after Close began frees the runtime
// and the regions.
func (p *Plugin) drop() {
	p.mu.Lock()
	p.holds--
	last := p.closed && p.holds == 0
	p.mu.Unlock()
	if last {
		p.free()
	}
}

func (p *Plugin) free() {
	p.freeOnce.Do(func() {
		p.eng.release()
		p.mu.Lock()
		memEng := p.memEng
		p.mu.Unlock()
		if memEng != nil {
			memEng.release()
		}
		if p.mounts != nil {
			p.mounts.close()
		}
		p.regions.close()
		close(p.freed)
	})
}

// watch is the watchdog: it reports guest phases that overrun their
// deadline by more than a margin, and retires idle instances.
func (p *Plugin) watch() {
	defer close(p.stopped)
	t := time.NewTicker(watchdogTick)
	defer t.Stop()
	for tick := 0; ; tick++ {
		select {
		case <-p.closing:
			p.report(0)
			return
		case <-t.C:
		}
		p.report(p.overrunning())
		if tick%10 == 0 {
			p.gen.Load().retireIdle(now() - int64(p.opts.IdleTimeout))
		}
	}
}

// overrunMargin is how far past its deadline a phase must be before the
// watchdog reports it: instrumented guests stop within about a millisecond, so
// this only ever catches the host stuck where it must not be.
func overrunMargin(timeout time.Duration) time.Duration {
	return max(250*time.Millisecond, timeout/2)
}

func (p *Plugin) overrunning() int {
	t := now()
	n := 0
	p.mu.Lock()
	defer p.mu.Unlock()
	for g := range p.guards {
		d := g.deadline.Load()
		over := d != 0 && time.Duration(t-d) > overrunMargin(time.Duration(g.timeout.Load()))
		if !over {
			g.reported.Store(false)
			continue
		}
		n++
		if !g.reported.Swap(true) {
			p.overruns.Add(1)
			phase := phaseNames[g.phase.Load()]
			p.opts.Logger.Error("wasm guest overran its deadline: the host is stuck outside the guest's checks",
				zap.String("phase", phase), zap.Duration("timeout", time.Duration(g.timeout.Load())),
				zap.Duration("running_for", time.Duration(t-g.armedAt.Load())))
		}
	}
	return n
}

func (p *Plugin) report(stuck int) {
	if stuck == p.stuck {
		return
	}
	p.stuck = stuck
	p.stuckNow.Store(int64(stuck))
	if p.opts.OnOverrun != nil {
		p.opts.OnOverrun(stuck)
	}
}
