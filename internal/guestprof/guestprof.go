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
	"fmt"
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
	// byRequest is Host by request (see Requests); request is the
	// running host call's.
	byRequest map[string]*hostFn
	request   string
}

// WithSplit returns a context that, passed to wasmhost.New, makes every
// call report into the returned Split.
func WithSplit(ctx context.Context) (context.Context, *Split) {
	s := &Split{readCost: readCost(), byRequest: map[string]*hostFn{}}
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
	clear(s.byRequest)
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

// Requests is Host by request, longest first: the kernels (select,
// refine, group) by table, field, key and test, and every other host
// function by name. The same function costs very different times by what
// it is asked: the first select on span names builds their view, a
// refine of a few spans costs their attributes' cache misses.
func (s *Split) Requests() []HostTime {
	var out []HostTime
	for name, fn := range s.byRequest {
		out = append(out, HostTime{name, fn.calls.Load(), time.Duration(fn.ns.Load())})
	}
	slices.SortFunc(out, func(a, b HostTime) int { return cmp.Or(cmp.Compare(b.Time, a.Time), cmp.Compare(a.Name, b.Name)) })
	return out
}

type hostFn struct {
	name      string
	ns, calls atomic.Int64
}

// request describes a host call by what it asks, from its parameters and
// the guest memory they point to (see Requests).
func request(name string, m api.Module, params []uint64) string {
	switch name {
	case abi.ModuleName + ".select", abi.ModuleName + ".refine", abi.ModuleName + ".group":
	case abi.ModuleName + ".len":
		if len(params) == 1 { // the first len of a table builds the batch's index
			return name + " " + tableNames[api.DecodeI32(params[0])]
		}
		return name
	default:
		return name
	}
	if len(params) < 4 {
		return name
	}
	mem := m.Memory()
	// An i32 parameter is the low half of its slot; the high half may
	// hold anything.
	read := func(ptr, n uint64) []byte {
		b, _ := mem.Read(api.DecodeU32(ptr), min(api.DecodeU32(n), 64))
		return b
	}
	table, field := api.DecodeI32(params[0]), api.DecodeI32(params[1])
	out := fmt.Sprintf("%s %s %s", name, tableNames[table], fieldName(field, read(params[2], params[3])))
	if name == abi.ModuleName+".group" || len(params) < 7 {
		return out
	}
	out += " " + matchNames[api.DecodeI32(params[4])]
	d := abi.NewDecoder(read(params[5], params[6]))
	n := d.U32()
	if n == 0 {
		return out
	}
	if v := d.Value(); d.Err() == nil && v.Tag == abi.TagStr {
		out += fmt.Sprintf(" %q", v.Raw)
	} else if d.Err() == nil {
		out += fmt.Sprintf(" tag %d %d", v.Tag, v.Bits)
	}
	if n > 1 {
		out += fmt.Sprintf(" and %d more", n-1)
	}
	return out
}

var (
	tableNames = map[int32]string{abi.TableResource: "resource", abi.TableScope: "scope", abi.TableSpan: "span",
		abi.TableEvent: "event", abi.TableLink: "link", abi.TableMetric: "metric", abi.TablePoint: "point", abi.TableLog: "log"}
	matchNames = map[int32]string{abi.MatchEqual: "equal", abi.MatchPrefix: "prefix", abi.MatchPresent: "present"}
)

func fieldName(field int32, key []byte) string {
	switch field {
	case abi.FieldAttr:
		return fmt.Sprintf("attr %q", key)
	case abi.FieldName:
		return "name"
	case abi.FieldKind:
		return "kind"
	case abi.FieldResource:
		return "resource"
	}
	return fmt.Sprintf("field %d", field)
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

func (l hostListener) Before(_ context.Context, m api.Module, _ api.FunctionDefinition, params []uint64, _ experimental.StackIterator) {
	if l.s.inProcess {
		l.s.request = request(l.fn.name, m, params) // before the clock: not counted
	}
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
	r := l.s.byRequest[l.s.request]
	if r == nil {
		r = &hostFn{name: l.s.request}
		l.s.byRequest[l.s.request] = r
	}
	r.ns.Add(d)
	r.calls.Add(1)
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
