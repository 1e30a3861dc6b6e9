// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"math"
	"reflect"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// ModuleName is the import module of wasmcol's host functions.
const ModuleName = abi.ModuleName

// Instantiate adds the wasmcol host module to r. Guests then run against the
// call state that Plugin puts in each call's context.
//
//	r := wazero.NewRuntime(ctx)
//	_, err := wasmhost.Instantiate(ctx, r)
//
// # Notes
//   - The host functions are stateless: all per-call state travels in the
//     context, so one host module serves every instance in the runtime.
//   - Outside a Plugin call every function answers abi.ErrState.
func Instantiate(ctx context.Context, r wazero.Runtime) (api.Closer, error) {
	return NewBuilder(r).Instantiate(ctx)
}

// NewBuilder returns a builder with every host function of ABI v1, for
// callers that want to add their own functions before instantiating.
func NewBuilder(r wazero.Runtime) wazero.HostModuleBuilder {
	b := r.NewHostModuleBuilder(ModuleName)
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	add := func(name string, fn api.GoModuleFunc, params ...api.ValueType) {
		b.NewFunctionBuilder().WithGoModuleFunction(fn, params, []api.ValueType{i32}).Export(name)
	}
	add(abi.FuncLen, inBatch(hostLen), i32)
	add(abi.FuncColumn, inBatch(hostColumn), i32, i32, i32, i32)
	add(abi.FuncRead, inCall(hostRead), i32, i32)
	add(abi.FuncEdit, inBatch(hostEdit), i32, i32)
	add(abi.FuncConfig, inCall(hostConfig))
	add(abi.FuncFilterName, inCall(hostFilterName))
	add(abi.FuncLog, inCall(hostLog), i32, i32, i32)
	add(abi.FuncFail, inCall(hostFail), i32, i32)
	add(abi.FuncOTLPGet, inBatch(hostOTLPGet))
	add(abi.FuncOTLPSet, inBatch(hostOTLPSet), i32, i32)
	add(abi.FuncKVGet, inCall(hostKVGet), i32, i32)
	add(abi.FuncKVSet, inCall(hostKVSet), i32, i32, i32, i32)
	add(abi.FuncKVCAS, inCall(hostKVCAS), i32, i32, i32, i32, i32, i32)
	add(abi.FuncKVDelete, inCall(hostKVDelete), i32, i32)
	add(abi.FuncCounterAdd, inCall(hostCounterAdd), i32, i32, i64)
	add(abi.FuncSelect, inBatch(hostSelect), i32, i32, i32, i32, i32, i32, i32, i32, i32)
	add(abi.FuncRefine, inBatch(hostRefine), i32, i32, i32, i32, i32, i32, i32, i32, i32)
	add(abi.FuncEditWhere, inBatch(hostEditWhere), i32, i32, i32, i32)
	add(abi.FuncCopyAttr, inBatch(hostCopyAttr), i32, i32, i32, i32, i32, i32, i32, i32)
	add(abi.FuncGroup, inBatch(hostGroup), i32, i32, i32, i32, i32, i32, i32, i32)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostCheckpoint), []api.ValueType{i32}, []api.ValueType{i32}).
		Export(CheckpointFunc)
	return b
}

type stateKey struct{}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// hostFunc is a host function's body: it gets the calling instance's state
// and memory and returns the i32 result.
type hostFunc func(st *callState, m mem, stack []uint64) int32

// inCall wraps a host function that needs a call in progress; inBatch one
// that also needs a batch. Both answer ErrState otherwise, and ErrBounds
// for any pointer that leaves guest memory, so no body repeats the checks.
// Each first checks the deadline: a guest calling the host in a loop is
// stopped here, since host functions run no instrumented checks.
func inCall(fn hostFunc) api.GoModuleFunc  { return wrap(fn, false) }
func inBatch(fn hostFunc) api.GoModuleFunc { return wrap(fn, true) }

func wrap(fn hostFunc, needBatch bool) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, stack []uint64) {
		st := stateOf(ctx)
		if st == nil {
			stack[0] = api.EncodeI32(abi.ErrState)
			return
		}
		st.guard.check()
		if needBatch && st.t.signal == 0 {
			stack[0] = api.EncodeI32(abi.ErrState)
			return
		}
		stack[0] = api.EncodeI32(fn(st, mem{m}, stack))
	}
}

// mem reads guest memory for a host function.
type mem struct{ m api.Module }

// memorySize is mem's size in bytes. api.Memory's Size is a uint32, which
// reads a memory of 65,536 pages, 4 GiB, as 0.
func memorySize(mem api.Memory) uint64 {
	pages, _ := mem.Grow(0) // grows nothing: answers the pages
	return uint64(pages) << 16
}

// readMemory is mem.Read, except that a range ending at 4 GiB, the end of
// a memory of 65,536 pages, is out of bounds: wazero's Read sums offset
// and count as uint32s, which wrap to 0 there, and its slice expression
// panics.
func readMemory(mem api.Memory, off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) >= 1<<32 {
		return nil, false
	}
	return mem.Read(off, n)
}

// guestMemory is m's memory, or nil when it has none. wazero returns a
// module without memory as a typed nil pointer inside api.Memory, which
// compares unequal to nil: calling it crashed the Collector on the first
// batch of a memoryless guest.
func guestMemory(m api.Module) api.Memory {
	mem := m.Memory()
	if mem == nil {
		return nil
	}
	if v := reflect.ValueOf(mem); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	return mem
}

// bytes is the guest memory at [ptr, ptr+n) named by two stack slots,
// aliased, or false when any of it lies outside memory. The view must not
// be kept past the call.
func (g mem) bytes(ptr, n uint64) ([]byte, bool) {
	size := api.DecodeU32(n)
	if size == 0 {
		return nil, true
	}
	memory := guestMemory(g.m)
	if memory == nil {
		return nil, false
	}
	return readMemory(memory, api.DecodeU32(ptr), size)
}

func hostLen(st *callState, _ mem, stack []uint64) int32 {
	return st.t.count(api.DecodeI32(stack[0]))
}

// MaxColumnKey bounds the attribute key a column call names.
const MaxColumnKey = 4 << 10

func hostColumn(st *callState, g mem, stack []uint64) int32 {
	key, ok := g.bytes(stack[2], stack[3])
	if !ok {
		return abi.ErrBounds
	}
	if len(key) > MaxColumnKey {
		return abi.ErrTooLarge
	}
	out, rc := st.t.column(st.result[:0], api.DecodeI32(stack[0]), api.DecodeI32(stack[1]), string(key))
	if rc < 0 {
		// A refused column may have grown its buffer up to the limit, and
		// given back what that took of the budget: it is not kept.
		if cap(out) > cap(st.result) {
			st.result = nil
			st.settle()
		} else {
			st.result = st.result[:0] // a read after it gets nothing, as before
		}
		return rc
	}
	st.result = out
	return st.setResult()
}

func hostRead(st *callState, g mem, stack []uint64) int32 {
	if !st.hasResult {
		return abi.ErrState
	}
	n := min(api.DecodeU32(stack[1]), uint32(len(st.result)))
	dst, ok := g.bytes(stack[0], uint64(n))
	if !ok {
		return abi.ErrBounds
	}
	copyChecked(st.guard, dst, st.result)
	return int32(n)
}

func hostEdit(st *callState, g mem, stack []uint64) int32 {
	p, ok := g.bytes(stack[0], stack[1])
	if !ok {
		return abi.ErrBounds
	}
	if !st.ensure(&st.edits, len(p), st.editLimit()) {
		return abi.ErrTooLarge
	}
	st.edits = append(st.edits, p...) // copied: guest memory may change before we apply
	return 0
}

func hostConfig(st *callState, _ mem, _ []uint64) int32 {
	// Sized and reckoned before it is copied, and copied with deadline
	// checks: a guest may ask for it in a loop, and a config of 128 MiB
	// was copied whole, then refused, at every call (8-348 ms a batch
	// under a 5 ms timeout; attack round 26). New refuses a config
	// larger than a result may be.
	cfg := st.shared.config
	if len(cfg) > st.limits.maxResult || !st.fits(len(cfg)-cap(st.result)) {
		return abi.ErrTooLarge
	}
	if cap(st.result) < len(cfg) {
		st.t.reckonBytes(len(cfg))
		st.result = make([]byte, len(cfg))
	}
	st.result = st.result[:len(cfg)]
	copyChecked(st.guard, st.result, cfg)
	return st.setResult()
}

func hostFilterName(st *callState, _ mem, _ []uint64) int32 {
	st.result = append(st.result[:0], st.shared.filter...)
	return st.setResult()
}

func hostLog(st *callState, g mem, stack []uint64) int32 {
	msg, ok := g.bytes(stack[1], stack[2])
	if !ok {
		return abi.ErrBounds
	}
	st.shared.log.guest(api.DecodeI32(stack[0]), msg)
	return 0
}

const maxFailMessage = 4 << 10

// otlpGetCost is what otlp_get is reckoned to cost an item of the batch,
// in index items (indexNsPerItem each, 80 ns in all): sizing then
// marshaling took 50-130 ns an empty log record.
const otlpGetCost = 4

func hostFail(st *callState, g mem, stack []uint64) int32 {
	msg, ok := g.bytes(stack[0], stack[1])
	if !ok {
		return abi.ErrBounds
	}
	if len(msg) > maxFailMessage {
		msg = msg[:maxFailMessage]
	}
	// It reaches logs and errors: sanitized, and cut again after, since
	// escaping a control character makes six bytes of one.
	st.failMsg = sanitizeCut(msg, maxFailMessage)
	return 0
}

func hostOTLPGet(st *callState, _ mem, _ []uint64) int32 {
	// Sizing and marshaling cannot be stopped: a batch whose items, and
	// what they hold (otlpWeight), the time left cannot hold, reckoned at
	// otlpGetCost index items each, stops the call first. 2 million empty
	// log records (4 MB) took 70-142 ms a call under a 10 ms timeout.
	items := st.t.itemCount()
	st.t.reckon(otlpGetCost * items)
	most := math.MaxInt
	if d := st.deadline; d > 0 && st.t.guard != nil {
		most = int(max(d-now(), 0)/(otlpGetCost*indexNsPerItem)) - items
	}
	st.t.reckon(otlpGetCost * (items + st.t.weighOTLP(most)))
	// The size first: marshaling a batch over the cap, or over what the
	// budget has free, would build it (a 40 MiB batch, 80 MiB a call) only
	// to refuse it. The marshaled bytes then become the result as they
	// are.
	size := st.marshalSize()
	if size > st.limits.maxResult || !st.fits(size-cap(st.result)) {
		return abi.ErrTooLarge
	}
	// Every call marshals into a buffer of its own, allocated and written
	// in one step: its bytes are reckoned too.
	st.t.reckonBytes(size)
	out, err := st.marshal()
	if err != nil {
		return abi.ErrEncoding
	}
	st.result = out
	return st.setResult()
}

func hostOTLPSet(st *callState, g mem, stack []uint64) int32 {
	p, ok := g.bytes(stack[0], stack[1])
	if !ok {
		return abi.ErrBounds
	}
	return st.stageOTLP(p)
}

func hostKVGet(st *callState, g mem, stack []uint64) int32 {
	key, ok := g.bytes(stack[0], stack[1])
	if !ok {
		return abi.ErrBounds
	}
	out, rc := st.shared.kv.get(st.result[:0], key)
	if rc < 0 {
		return rc
	}
	st.result = out
	return st.setResult()
}

func hostKVSet(st *callState, g mem, stack []uint64) int32 {
	key, ok1 := g.bytes(stack[0], stack[1])
	val, ok2 := g.bytes(stack[2], stack[3])
	if !ok1 || !ok2 {
		return abi.ErrBounds
	}
	return st.shared.kv.set(key, val)
}

func hostKVCAS(st *callState, g mem, stack []uint64) int32 {
	key, ok1 := g.bytes(stack[0], stack[1])
	var old []byte
	ok2 := true
	switch oldLen := api.DecodeI32(stack[3]); {
	case oldLen == -1: // "only if absent": old stays nil
	case oldLen < 0:
		ok2 = false
	default:
		if old, ok2 = g.bytes(stack[2], stack[3]); old == nil {
			old = []byte{} // present but empty, unlike absent
		}
	}
	val, ok3 := g.bytes(stack[4], stack[5])
	if !ok1 || !ok2 || !ok3 {
		return abi.ErrBounds
	}
	return st.shared.kv.cas(key, old, val)
}

func hostKVDelete(st *callState, g mem, stack []uint64) int32 {
	key, ok := g.bytes(stack[0], stack[1])
	if !ok {
		return abi.ErrBounds
	}
	return st.shared.kv.delete(key)
}

func hostCounterAdd(st *callState, g mem, stack []uint64) int32 {
	name, ok := g.bytes(stack[0], stack[1])
	if !ok {
		return abi.ErrBounds
	}
	return st.shared.counters.add(name, int64(stack[2]))
}
