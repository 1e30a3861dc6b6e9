// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"

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
	add(abi.FuncLen, hostLen, i32)
	add(abi.FuncColumn, hostColumn, i32, i32, i32, i32)
	add(abi.FuncRead, hostRead, i32, i32)
	add(abi.FuncEdit, hostEdit, i32, i32)
	add(abi.FuncConfig, hostConfig)
	add(abi.FuncLog, hostLog, i32, i32, i32)
	add(abi.FuncFail, hostFail, i32, i32)
	add(abi.FuncOTLPGet, hostOTLPGet)
	add(abi.FuncOTLPSet, hostOTLPSet, i32, i32)
	add(abi.FuncKVGet, hostKVGet, i32, i32)
	add(abi.FuncKVSet, hostKVSet, i32, i32, i32, i32)
	add(abi.FuncKVCAS, hostKVCAS, i32, i32, i32, i32, i32, i32)
	add(abi.FuncKVDelete, hostKVDelete, i32, i32)
	add(abi.FuncCounterAdd, hostCounterAdd, i32, i32, i64)
	return b
}

type stateKey struct{}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// ret stores an i32 result. Every host function returns exactly one.
func ret(stack []uint64, v int32) { stack[0] = api.EncodeI32(v) }

// guestBytes is the guest memory at [ptr, ptr+n), aliased, or false when
// any of it lies outside memory. The view must not be kept past the call.
func guestBytes(m api.Module, ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	mem := m.Memory()
	if mem == nil {
		return nil, false
	}
	return mem.Read(ptr, n)
}

func u32(v uint64) uint32 { return api.DecodeU32(v) }

func hostLen(ctx context.Context, _ api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil || st.t.signal == 0 {
		ret(stack, abi.ErrState)
		return
	}
	ret(stack, st.t.count(api.DecodeI32(stack[0])))
}

func hostColumn(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil || st.t.signal == 0 {
		ret(stack, abi.ErrState)
		return
	}
	key, ok := guestBytes(m, u32(stack[2]), u32(stack[3]))
	if !ok {
		ret(stack, abi.ErrBounds)
		return
	}
	// string(key) in a map-free lookup path still allocates; keys are short.
	out, rc := st.t.column(st.result[:0], api.DecodeI32(stack[0]), api.DecodeI32(stack[1]), string(key))
	st.result = out
	if rc < 0 {
		st.result = st.result[:0]
		ret(stack, rc)
		return
	}
	ret(stack, st.setResult())
}

func hostRead(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil || !st.hasResult {
		ret(stack, abi.ErrState)
		return
	}
	n := min(u32(stack[1]), uint32(len(st.result)))
	dst, ok := guestBytes(m, u32(stack[0]), n)
	if !ok {
		ret(stack, abi.ErrBounds)
		return
	}
	copy(dst, st.result)
	ret(stack, int32(n))
}

func hostEdit(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil || st.t.signal == 0 {
		ret(stack, abi.ErrState)
		return
	}
	p, ok := guestBytes(m, u32(stack[0]), u32(stack[1]))
	if !ok {
		ret(stack, abi.ErrBounds)
		return
	}
	if len(st.edits)+len(p) > st.limits.maxEdits {
		ret(stack, abi.ErrTooLarge)
		return
	}
	st.edits = append(st.edits, p...) // copied: guest memory may change before we apply
	ret(stack, 0)
}

func hostConfig(ctx context.Context, _ api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		ret(stack, abi.ErrState)
		return
	}
	st.result = append(st.result[:0], st.shared.config...)
	ret(stack, st.setResult())
}

func hostLog(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		ret(stack, abi.ErrState)
		return
	}
	msg, ok := guestBytes(m, u32(stack[1]), u32(stack[2]))
	if !ok {
		ret(stack, abi.ErrBounds)
		return
	}
	st.shared.log.guest(api.DecodeI32(stack[0]), msg)
	ret(stack, 0)
}

const maxFailMessage = 4 << 10

func hostFail(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		ret(stack, abi.ErrState)
		return
	}
	msg, ok := guestBytes(m, u32(stack[0]), u32(stack[1]))
	if !ok {
		ret(stack, abi.ErrBounds)
		return
	}
	if len(msg) > maxFailMessage {
		msg = msg[:maxFailMessage]
	}
	st.failMsg = string(msg)
	ret(stack, 0)
}

func hostOTLPGet(ctx context.Context, _ api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil || st.t.signal == 0 {
		ret(stack, abi.ErrState)
		return
	}
	out, err := st.marshal(st.result[:0])
	if err != nil {
		ret(stack, abi.ErrEncoding)
		return
	}
	st.result = out
	ret(stack, st.setResult())
}

func hostOTLPSet(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil || st.t.signal == 0 {
		ret(stack, abi.ErrState)
		return
	}
	p, ok := guestBytes(m, u32(stack[0]), u32(stack[1]))
	if !ok {
		ret(stack, abi.ErrBounds)
		return
	}
	if err := st.stageOTLP(p); err != nil {
		ret(stack, abi.ErrEncoding)
		return
	}
	ret(stack, 0)
}

func hostKVGet(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		ret(stack, abi.ErrState)
		return
	}
	key, ok := guestBytes(m, u32(stack[0]), u32(stack[1]))
	if !ok {
		ret(stack, abi.ErrBounds)
		return
	}
	out, rc := st.shared.kv.get(st.result[:0], key)
	if rc < 0 {
		ret(stack, rc)
		return
	}
	st.result = out
	ret(stack, st.setResult())
}

func hostKVSet(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		ret(stack, abi.ErrState)
		return
	}
	key, ok1 := guestBytes(m, u32(stack[0]), u32(stack[1]))
	val, ok2 := guestBytes(m, u32(stack[2]), u32(stack[3]))
	if !ok1 || !ok2 {
		ret(stack, abi.ErrBounds)
		return
	}
	ret(stack, st.shared.kv.set(key, val))
}

func hostKVCAS(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		ret(stack, abi.ErrState)
		return
	}
	key, ok1 := guestBytes(m, u32(stack[0]), u32(stack[1]))
	oldLen := api.DecodeI32(stack[3])
	var old []byte
	ok2 := true
	if oldLen >= 0 {
		old, ok2 = guestBytes(m, u32(stack[2]), uint32(oldLen))
		if old == nil {
			old = []byte{} // present but empty, unlike "absent"
		}
	} else if oldLen != -1 {
		ok2 = false
	}
	val, ok3 := guestBytes(m, u32(stack[4]), u32(stack[5]))
	if !ok1 || !ok2 || !ok3 {
		ret(stack, abi.ErrBounds)
		return
	}
	ret(stack, st.shared.kv.cas(key, old, val))
}

func hostKVDelete(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		ret(stack, abi.ErrState)
		return
	}
	key, ok := guestBytes(m, u32(stack[0]), u32(stack[1]))
	if !ok {
		ret(stack, abi.ErrBounds)
		return
	}
	ret(stack, st.shared.kv.delete(key))
}

func hostCounterAdd(ctx context.Context, m api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		ret(stack, abi.ErrState)
		return
	}
	name, ok := guestBytes(m, u32(stack[0]), u32(stack[1]))
	if !ok {
		ret(stack, abi.ErrBounds)
		return
	}
	ret(stack, st.shared.counters.add(name, int64(stack[2])))
}
