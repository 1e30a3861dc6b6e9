// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
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
	// PoolSize is the number of instances; default GOMAXPROCS.
	PoolSize int
	// MemoryLimitMiB caps each instance's linear memory; default 128.
	MemoryLimitMiB uint32
	// Timeout bounds one call; default 1s.
	Timeout time.Duration
	// MaxCallsPerInstance recycles an instance after that many batches; 0 never.
	MaxCallsPerInstance int
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
}

// Mount exposes HostPath to the guest, read only, at GuestPath.
type Mount struct {
	HostPath  string
	GuestPath string
}

// FaultKind classifies why a call failed.
type FaultKind string

// Fault kinds, used as the metric attribute value too.
const (
	FaultTrap    FaultKind = "trap"    // panic, unreachable, out-of-bounds access, exit
	FaultTimeout FaultKind = "timeout" // the call outran Options.Timeout
	FaultMemory  FaultKind = "memory"  // the guest ran out of its memory limit
	FaultGuest   FaultKind = "guest"   // the guest reported an error or sent a bad edit list
)

// Fault is a failed call. The batch it was given is unchanged.
type Fault struct {
	Kind FaultKind
	Err  error
}

func (f *Fault) Error() string { return fmt.Sprintf("wasm %s: %v", f.Kind, f.Err) }
func (f *Fault) Unwrap() error { return f.Err }

var defaultCache = wazero.NewCompilationCache()

// Plugin is a compiled guest and a pool of its instances. Its Process
// methods are safe for concurrent use; each call takes an instance from the
// pool, so up to PoolSize batches run at once.
type Plugin struct {
	opts    Options
	runtime wazero.Runtime
	shared  *shared
	gen     atomic.Pointer[generation]
	signals int32
	live    atomic.Int64
	reloads atomic.Int64
	closed  atomic.Bool
}

// generation is one compiled module and its instances. Reload starts a new
// generation; the old one finishes its in-flight calls and is then closed.
type generation struct {
	p        *Plugin
	compiled wazero.CompiledModule
	slots    chan *slot
	signals  int32
	retired  chan struct{}
	drained  chan struct{}
}

// slot is a place in the pool. It holds an instance, or nil when the last
// one was discarded and the next user must instantiate a fresh one.
type slot struct{ inst *instance }

type instance struct {
	mod     api.Module
	process api.Function
	st      *callState
	ctx     context.Context
	stack   [1]uint64
	signals int32
	calls   int
	timer   *time.Timer
	expired atomic.Bool
	// interrupt is the global instrument adds; 1 stops the guest.
	interrupt api.MutableGlobal
	mem       *cappedMemory
	sleep     *sleeper
}

// New compiles the module, checks its exports and ABI version, and starts
// every instance of the pool, running the guest's init in each.
//
//	p, err := wasmhost.New(ctx, wasmhost.Options{Source: path, Module: bin})
//	defer p.Close(ctx)
//	td, err = p.ProcessTraces(ctx, td)
//
// # Notes
//   - Any problem with the module is reported here, naming Source: not
//     Wasm, missing exports, a wrong ABI version, a guest init that fails.
//   - The guest gets no environment, files or network unless Options say so.
func New(ctx context.Context, opts Options) (*Plugin, error) {
	opts = withDefaults(opts)
	rcfg := wazero.NewRuntimeConfig().
		// No WithCloseOnContextDone: its per-loop Go trampoline made Go
		// guests 30-40x slower. instrument adds a cheaper check instead.
		// No WithMemoryLimitPages: cappedMemory enforces the limit, so
		// that a refused memory.grow is seen and classified.
		WithCompilationCache(opts.Cache)
	r := wazero.NewRuntimeWithConfig(ctx, rcfg)
	p := &Plugin{
		opts:    opts,
		runtime: r,
		shared: &shared{
			config:   opts.Config,
			log:      newGuestLog(opts.Logger, 10, 50),
			kv:       newKV(),
			counters: &counters{},
		},
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		_ = r.Close(ctx)
		return nil, fmt.Errorf("wasm runtime: %w", err)
	}
	if _, err := Instantiate(ctx, r); err != nil {
		_ = r.Close(ctx)
		return nil, fmt.Errorf("wasm runtime: %w", err)
	}
	g, err := p.newGeneration(ctx, opts.Module)
	if err != nil {
		_ = r.Close(ctx)
		return nil, err
	}
	p.signals = g.signals
	p.gen.Store(g)
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

var requiredExports = []struct {
	name            string
	params, results int
}{
	{abi.ExportABIVersion, 0, 1},
	{abi.ExportSignals, 0, 1},
	{abi.ExportInit, 0, 1},
	{abi.ExportProcess, 1, 1},
}

func (p *Plugin) newGeneration(ctx context.Context, bin []byte) (*generation, error) {
	src := p.opts.Source
	bin, err := instrument(bin)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid Wasm module: %w", src, err)
	}
	compiled, err := p.runtime.CompileModule(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid Wasm module: %w", src, err)
	}
	if pages, err := initialMemoryPages(bin); err != nil || pages > uint64(p.opts.MemoryLimitMiB)*16 {
		_ = compiled.Close(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: not a valid Wasm module: %w", src, err)
		}
		return nil, fmt.Errorf("%s: the module's initial memory is %d MiB, over the memory limit of %d MiB", src, pages/16, p.opts.MemoryLimitMiB)
	}
	exports := compiled.ExportedFunctions()
	for _, want := range requiredExports {
		fn, ok := exports[want.name]
		if !ok {
			_ = compiled.Close(ctx)
			return nil, fmt.Errorf("%s: missing export %q: not a wasmcol filter (ABI v%d)", src, want.name, abi.Version)
		}
		if len(fn.ParamTypes()) != want.params || len(fn.ResultTypes()) != want.results {
			_ = compiled.Close(ctx)
			return nil, fmt.Errorf("%s: export %q has the wrong signature", src, want.name)
		}
	}
	g := &generation{
		p:        p,
		compiled: compiled,
		slots:    make(chan *slot, p.opts.PoolSize),
		retired:  make(chan struct{}),
		drained:  make(chan struct{}),
	}
	// Start every instance now so that a guest that cannot start fails
	// the Collector's start instead of the first batch.
	var first *instance
	for i := 0; i < p.opts.PoolSize; i++ {
		inst, err := g.instantiate(ctx)
		if err != nil {
			for len(g.slots) > 0 {
				s := <-g.slots
				g.discard(ctx, s)
			}
			_ = compiled.Close(ctx)
			return nil, err
		}
		if first == nil {
			first = inst
		}
		g.slots <- &slot{inst}
	}
	g.signals = first.signals
	return g, nil
}

// instantiate starts one instance: WASI start, ABI check, then guest init.
func (g *generation) instantiate(ctx context.Context) (*instance, error) {
	p, src := g.p, g.p.opts.Source
	st := &callState{shared: p.shared, limits: limits{maxEdits: 256 << 20}}
	base := context.WithValue(context.Background(), stateKey{}, st)
	mem := &cappedMemory{limit: uint64(p.opts.MemoryLimitMiB) << 20}
	sleep := newSleeper()
	mcfg := wazero.NewModuleConfig().
		WithName("").         // anonymous: many instances of one module may coexist
		WithStartFunctions(). // _initialize runs below, under a deadline
		WithStdout(&lineWriter{log: p.shared.log, level: abi.LogInfo}).
		WithStderr(&lineWriter{log: p.shared.log, level: abi.LogWarn}).
		WithSysWalltime().WithSysNanotime().WithNanosleep(sleep.sleep).
		WithRandSource(rand.Reader)
	for k, v := range p.opts.Env {
		mcfg = mcfg.WithEnv(k, v)
	}
	if len(p.opts.Mounts) > 0 {
		fs := wazero.NewFSConfig()
		for _, m := range p.opts.Mounts {
			fs = fs.WithReadOnlyDirMount(m.HostPath, m.GuestPath)
		}
		mcfg = mcfg.WithFSConfig(fs)
	}
	mod, err := p.runtime.InstantiateModule(withMemory(base, mem), g.compiled, mcfg)
	if err != nil {
		return nil, fmt.Errorf("%s: start failed: %w", src, err)
	}
	interrupt, _ := mod.ExportedGlobal(InterruptGlobal).(api.MutableGlobal)
	inst := &instance{mod: mod, process: mod.ExportedFunction(abi.ExportProcess), st: st, ctx: base, interrupt: interrupt, mem: mem, sleep: sleep}
	inst.timer = time.AfterFunc(time.Hour, func() {
		inst.expired.Store(true)
		inst.interrupt.Set(1) // the guest traps at its next loop iteration
		inst.sleep.wake()     // and does not sleep through its deadline
	})
	inst.timer.Stop()
	fail := func(err error) (*instance, error) {
		inst.timer.Stop()
		_ = mod.Close(ctx)
		return nil, err
	}
	// Starting gets a longer deadline than a batch: a Go guest's runtime
	// and package initialisation run here.
	startCall := func(name string, params ...uint64) ([]uint64, error) {
		fn := mod.ExportedFunction(name)
		if fn == nil {
			return nil, nil
		}
		inst.timer.Reset(max(p.opts.Timeout, 10*time.Second))
		out, err := fn.Call(base, params...)
		if !inst.timer.Stop() || inst.expired.Load() {
			return nil, fmt.Errorf("%s: %s did not finish within its start deadline", src, name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s trapped: %w", src, name, err)
		}
		return out, nil
	}
	if _, err := startCall(abi.ExportInitialize); err != nil {
		return fail(err)
	}
	ver, err := startCall(abi.ExportABIVersion)
	if err != nil {
		return fail(err)
	}
	if v := api.DecodeI32(ver[0]); v != abi.Version {
		return fail(fmt.Errorf("%s: guest speaks wasmcol ABI v%d, this host speaks v%d", src, v, abi.Version))
	}
	sig, err := startCall(abi.ExportSignals)
	if err != nil {
		return fail(err)
	}
	inst.signals = api.DecodeI32(sig[0])
	rc, err := startCall(abi.ExportInit)
	if err != nil {
		return fail(err)
	}
	if rc[0] != abi.ResultOK {
		return fail(fmt.Errorf("%s: init failed: %s", src, orUnknown(st.failMsg)))
	}
	p.live.Add(1)
	return inst, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "no message"
	}
	return s
}

func (g *generation) discard(ctx context.Context, s *slot) {
	if s.inst == nil {
		return
	}
	s.inst.timer.Stop()
	_ = s.inst.mod.Close(ctx)
	s.inst = nil
	g.p.live.Add(-1)
}

// acquire takes a slot of the current generation, instantiating it if
// needed. A generation retired while we wait sends us to the new one.
func (p *Plugin) acquire(ctx context.Context) (*generation, *slot, error) {
	for {
		g := p.gen.Load()
		if p.closed.Load() {
			return nil, nil, errors.New("wasm plugin is shut down")
		}
		select {
		case s := <-g.slots:
			if s.inst == nil {
				inst, err := g.instantiate(ctx)
				if err != nil {
					g.slots <- s
					return nil, nil, &Fault{Kind: FaultTrap, Err: err}
				}
				s.inst = inst
			}
			return g, s, nil
		case <-g.retired:
			continue
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

func (g *generation) release(s *slot) { g.slots <- s }

// call runs the guest on the batch that load puts into the instance's
// state. On success the staged edits have been applied and done may collect
// a replacement batch; on failure the batch is untouched.
func (p *Plugin) call(ctx context.Context, signal int32, load, done func(*callState)) error {
	g, s, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	inst := s.inst
	st := inst.st
	st.begin(signal)
	load(st)
	defer func() {
		st.end()
		g.release(s)
	}()

	inst.stack[0] = api.EncodeI32(signal)
	inst.mem.refused = false
	inst.timer.Reset(p.opts.Timeout)
	callErr := inst.process.CallWithStack(inst.ctx, inst.stack[:])
	if callErr != nil {
		inst.timer.Stop()
		fault := p.classify(inst, callErr)
		g.discard(ctx, s) // a failed instance is never reused
		return fault
	}
	if !inst.timer.Stop() {
		// The deadline fired as the call returned: the result stands, but
		// the interrupt flag is set, so this instance cannot run again.
		g.discard(ctx, s)
	}
	if api.DecodeI32(inst.stack[0]) != abi.ResultOK {
		if s.inst != nil {
			g.discard(ctx, s)
		}
		return &Fault{Kind: FaultGuest, Err: errors.New(orUnknown(st.failMsg))}
	}
	if len(st.edits) > 0 {
		if st.hasOTLP {
			return &Fault{Kind: FaultGuest, Err: errors.New("guest both replaced the batch and edited it")}
		}
		if err := st.ed.apply(st.edits); err != nil {
			return &Fault{Kind: FaultGuest, Err: err}
		}
	}
	done(st)
	if s.inst != nil {
		inst.calls++
		if p.shouldRecycle(inst) {
			g.discard(ctx, s)
		}
	}
	return nil
}

// shouldRecycle retires an instance after its call budget, or once its
// memory passes three quarters of the limit: a guest that leaks is then
// replaced before it hits the wall mid-batch.
func (p *Plugin) shouldRecycle(inst *instance) bool {
	if max := p.opts.MaxCallsPerInstance; max > 0 && inst.calls >= max {
		return true
	}
	if mem := inst.mod.Memory(); mem != nil {
		return uint64(mem.Size()) > uint64(p.opts.MemoryLimitMiB)<<20*3/4
	}
	return false
}

func (p *Plugin) classify(inst *instance, err error) *Fault {
	if inst.expired.Load() {
		return &Fault{Kind: FaultTimeout, Err: fmt.Errorf("call exceeded timeout %s", p.opts.Timeout)}
	}
	// A guest that hits the memory cap has a memory.grow refused; Go
	// guests then die with "out of memory", others trap or fail their own
	// way. Whatever the way, a refused grow in the call is the cause.
	if inst.mem.refused {
		return &Fault{Kind: FaultMemory, Err: fmt.Errorf("memory limit %d MiB reached: %w", p.opts.MemoryLimitMiB, err)}
	}
	if msg := inst.st.failMsg; msg != "" {
		err = fmt.Errorf("%s: %w", msg, err)
	}
	return &Fault{Kind: FaultTrap, Err: err}
}

// takeOTLP returns the replacement batch the guest staged, if any.
func takeOTLP(st *callState) []byte {
	if !st.hasOTLP {
		return nil
	}
	return append([]byte(nil), st.otlp...)
}

// ProcessTraces runs the guest on td. It returns td edited in place, or the
// replacement the guest built with SetOTLP; on a *Fault td is unchanged.
func (p *Plugin) ProcessTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var repl []byte
	err := p.call(ctx, abi.SignalTraces,
		func(st *callState) { st.t.traces = td },
		func(st *callState) { repl = takeOTLP(st) })
	if err != nil || repl == nil {
		return td, err
	}
	out, uerr := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(repl)
	if uerr != nil {
		return td, &Fault{Kind: FaultGuest, Err: fmt.Errorf("SetOTLP payload: %w", uerr)}
	}
	return out, nil
}

// ProcessMetrics is ProcessTraces for metrics.
func (p *Plugin) ProcessMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	var repl []byte
	err := p.call(ctx, abi.SignalMetrics,
		func(st *callState) { st.t.metrics = md },
		func(st *callState) { repl = takeOTLP(st) })
	if err != nil || repl == nil {
		return md, err
	}
	out, uerr := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(repl)
	if uerr != nil {
		return md, &Fault{Kind: FaultGuest, Err: fmt.Errorf("SetOTLP payload: %w", uerr)}
	}
	return out, nil
}

// ProcessLogs is ProcessTraces for logs.
func (p *Plugin) ProcessLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	var repl []byte
	err := p.call(ctx, abi.SignalLogs,
		func(st *callState) { st.t.logs = ld },
		func(st *callState) { repl = takeOTLP(st) })
	if err != nil || repl == nil {
		return ld, err
	}
	out, uerr := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(repl)
	if uerr != nil {
		return ld, &Fault{Kind: FaultGuest, Err: fmt.Errorf("SetOTLP payload: %w", uerr)}
	}
	return out, nil
}

// Reload swaps in a new module. The new one is compiled, checked and fully
// started first; if anything fails the old one keeps running and the error
// says why. Calls in flight finish on the old instances.
func (p *Plugin) Reload(ctx context.Context, bin []byte) error {
	g, err := p.newGeneration(ctx, bin)
	if err != nil {
		return err
	}
	if g.signals&p.signals != p.signals {
		g.retire(ctx)
		return fmt.Errorf("%s: the new module processes signals %b, the running one %b", p.opts.Source, g.signals, p.signals)
	}
	old := p.gen.Swap(g)
	old.retire(ctx)
	p.reloads.Add(1)
	return nil
}

// retire closes the generation once every slot is back: idle instances
// at once, busy ones as their calls end.
func (g *generation) retire(ctx context.Context) {
	close(g.retired)
	go func() {
		for i := 0; i < cap(g.slots); i++ {
			g.discard(ctx, <-g.slots)
		}
		_ = g.compiled.Close(ctx)
		close(g.drained)
	}()
}

// Close waits for calls in flight, then closes every instance and the runtime.
func (p *Plugin) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	g := p.gen.Load()
	g.retire(ctx)
	select {
	case <-g.drained:
	case <-ctx.Done():
	}
	return p.runtime.Close(ctx)
}
