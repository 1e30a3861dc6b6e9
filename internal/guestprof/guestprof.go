// SPDX-License-Identifier: Apache-2.0

// Package guestprof shows where a guest's time goes, for benchmarks and
// profiling tools. Compiled guest code has no Go frames, so a Go CPU
// profile lumps it into runtime._ExternalCode and never shows it under the
// processor; these helpers measure it directly with wazero's function
// listeners.
//
//	ctx, split := guestprof.WithSplit(context.Background())
//	p, _ := wasmhost.New(ctx, wasmhost.Options{Module: bin, Cache: wazero.NewCompilationCache()})
//	// ... calls ...
//	guest, host := split.Guest(), split.Host()
//
// # Notes
//   - Listeners are compiled into the module, so the context must be the one
//     the module is compiled with (wasmhost.New's), and the compilation cache
//     must be a fresh one: a module already compiled without listeners would
//     be reused as it is.
//   - Not for production: every listened function pays a Go call per call.
package guestprof

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// hostModules are the modules whose functions count as host time: the ABI
// and WASI, which Go guests call for clocks and randomness.
var hostModules = map[string]bool{abi.ModuleName: true, "wasi_snapshot_preview1": true}

// Split times the guest's process export and every host function it calls,
// so that guest time is the call's time minus the host functions' time.
// Times are the thread's CPU time (ThreadCPU), so run the calls on a
// goroutine locked to its thread; the cost of reading that clock, measured
// when the Split is made, is taken out of each host function's time.
//
// The listeners cost time of their own, a few microseconds per host call
// (wazero unwinds the guest stack for each), and most of it falls outside
// the host functions' windows, into Guest. Measure the same module without
// listeners to know how much (guestprofile does).
type Split struct {
	processNs, hostNs atomic.Int64
	calls, hostCalls  atomic.Int64
	byHost            []*hostFn
	// The running call's state: a pool of one instance runs one call at a
	// time, which is what the benchmarks use.
	inProcess        bool
	start, hostStart time.Duration // thread CPU time
	// readCost is what one ThreadCPU reading costs; each host function's
	// window holds about one, which Host takes out.
	readCost time.Duration
}

// WithSplit returns a context that, passed to wasmhost.New, makes every
// call report into the returned Split.
func WithSplit(ctx context.Context) (context.Context, *Split) {
	s := &Split{readCost: readCost()}
	f := experimental.FunctionListenerFactoryFunc(func(def api.FunctionDefinition) experimental.FunctionListener {
		if hostModules[def.ModuleName()] {
			fn := &hostFn{name: def.ModuleName() + "." + def.Name()}
			s.byHost = append(s.byHost, fn)
			return hostListener{s, fn}
		}
		if slices.Contains(def.ExportNames(), abi.ExportProcess) {
			return processListener{s}
		}
		return nil
	})
	return wasmhost.WithListeners(ctx, f), s
}

// readCost is the median cost of one ThreadCPU reading on this thread.
func readCost() time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	costs := make([]time.Duration, 101)
	for i := range costs {
		a := ThreadCPU()
		b := ThreadCPU()
		costs[i] = b - a
	}
	slices.Sort(costs)
	return costs[len(costs)/2]
}

// Calls is the number of process calls seen.
func (s *Split) Calls() int64 { return s.calls.Load() }

// HostCalls is the number of host function calls seen inside process calls.
func (s *Split) HostCalls() int64 { return s.hostCalls.Load() }

// Process is the total time spent in the guest's process export, host
// functions included.
func (s *Split) Process() time.Duration { return time.Duration(s.processNs.Load()) }

// Host is the total time spent in host functions during process calls.
func (s *Split) Host() time.Duration { return time.Duration(s.hostNs.Load()) }

// Guest is Process minus Host: the guest's own code.
func (s *Split) Guest() time.Duration { return s.Process() - s.Host() }

// Reset zeroes the counts, to leave warm-up out.
func (s *Split) Reset() {
	s.processNs.Store(0)
	s.hostNs.Store(0)
	s.calls.Store(0)
	s.hostCalls.Store(0)
	for _, fn := range s.byHost {
		fn.ns.Store(0)
		fn.calls.Store(0)
	}
}

// HostTime is one host function's share of Host.
type HostTime struct {
	Name  string
	Calls int64
	Time  time.Duration
}

// HostTimes is Host by function, longest first, leaving out functions
// never called.
func (s *Split) HostTimes() []HostTime {
	var out []HostTime
	for _, fn := range s.byHost {
		if c := fn.calls.Load(); c > 0 {
			out = append(out, HostTime{fn.name, c, time.Duration(fn.ns.Load())})
		}
	}
	slices.SortFunc(out, func(a, b HostTime) int { return cmp.Compare(b.Time, a.Time) })
	return out
}

type hostFn struct {
	name      string
	ns, calls atomic.Int64
}

type processListener struct{ s *Split }

func (l processListener) Before(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
	l.s.inProcess, l.s.start = true, ThreadCPU()
}

func (l processListener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {
	l.s.inProcess = false
	l.s.processNs.Add(int64(ThreadCPU() - l.s.start))
	l.s.calls.Add(1)
}

func (l processListener) Abort(ctx context.Context, m api.Module, def api.FunctionDefinition, _ error) {
	l.After(ctx, m, def, nil)
}

type hostListener struct {
	s  *Split
	fn *hostFn
}

func (l hostListener) Before(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
	l.s.hostStart = ThreadCPU()
}

func (l hostListener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {
	if !l.s.inProcess {
		return // a host call outside process: init, _initialize
	}
	d := int64(ThreadCPU() - l.s.hostStart - l.s.readCost)
	l.s.hostNs.Add(d)
	l.s.hostCalls.Add(1)
	l.fn.ns.Add(d)
	l.fn.calls.Add(1)
}

func (l hostListener) Abort(ctx context.Context, m api.Module, def api.FunctionDefinition, _ error) {
	l.After(ctx, m, def, nil)
}

// Counts counts the calls of every function, guest and host, by name.
type Counts struct{ fns []*counter }

type counter struct {
	name string
	host bool
	n    atomic.Int64
}

func (c *counter) Before(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
	c.n.Add(1)
}
func (c *counter) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}
func (c *counter) Abort(context.Context, api.Module, api.FunctionDefinition, error)    {}

// WithCounts returns a context that, passed to wasmhost.New, counts every
// function call of the module and of the host functions. It slows the
// guest down a great deal: use it for counts, never for time.
func WithCounts(ctx context.Context) (context.Context, *Counts) {
	c := &Counts{}
	f := experimental.FunctionListenerFactoryFunc(func(def api.FunctionDefinition) experimental.FunctionListener {
		name := def.DebugName()
		if n := def.Name(); n != "" {
			name = n
		}
		host := hostModules[def.ModuleName()]
		if host {
			name = def.ModuleName() + "." + name
		}
		fn := &counter{name: name, host: host}
		c.fns = append(c.fns, fn)
		return fn
	})
	return wasmhost.WithListeners(ctx, f), c
}

// Count is one function's number of calls.
type Count struct {
	Name  string
	Host  bool
	Calls int64
}

// Top is the n most called functions, most first.
func (c *Counts) Top(n int) []Count {
	out := make([]Count, 0, len(c.fns))
	for _, f := range c.fns {
		if v := f.n.Load(); v > 0 {
			out = append(out, Count{f.name, f.host, v})
		}
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Compare(b.Calls, a.Calls) })
	return out[:min(n, len(out))]
}

// Reset zeroes every count, to leave warm-up out.
func (c *Counts) Reset() {
	for _, f := range c.fns {
		f.n.Store(0)
	}
}
