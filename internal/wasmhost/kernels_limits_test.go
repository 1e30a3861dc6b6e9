// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// kernelHarness is a module with one page of memory for the kernels'
// arguments, a state in a traces batch of 50 random spans with maxEdits
// of staged edits, and a call of a host function from the module.
func kernelHarness(t *testing.T) (api.Module, func(maxEdits int) *callState, func(st *callState, fn hostFunc, args ...uint64) int32) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	mod, err := r.Instantiate(ctx, oneMemoryPage)
	if err != nil {
		t.Fatal(err)
	}
	newState := func(maxEdits int) *callState {
		st := &callState{
			shared: &shared{config: []byte("{}"), log: newGuestLog(zap.NewNop(), 10, 50), kv: newKV(), counters: &counters{},
				mem: &hostMemory{limit: 1 << 30}},
			limits: limits{maxEdits: maxEdits, maxResult: 1 << 28, maxOTLP: 1 << 28},
			guard:  newGuard(StackLimit),
		}
		st.begin(abi.SignalTraces)
		st.t.traces = benchdata.RandomTraces(1, 50)
		return st
	}
	call := func(st *callState, fn hostFunc, args ...uint64) int32 {
		stack := make([]uint64, 9)
		copy(stack, args)
		inBatch(fn)(context.WithValue(ctx, stateKey{}, st), mod, stack)
		return api.DecodeI32(stack[0])
	}
	return mod, newState, call
}

// TestKernelLimits: every kernel bounds what a hostile guest can ask for,
// and answers bad arguments with the ABI's error codes, before doing any
// work.
func TestKernelLimits(t *testing.T) {
	ctx := context.Background()
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	// At 0: a select list of 257 values; at 100: an edit template
	// (SetAttr on span 0, key "k", Str "v"); at 4096: a bitmap of ones.
	list := abi.AppendU32(nil, abi.MaxKernelArgs+1)
	mem.Write(0, list)
	op := abi.AppendStrValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), "k"), "v")
	mem.Write(100, op)
	ones := make([]byte, 64)
	for i := range ones {
		ones[i] = 0xFF
	}
	mem.Write(4096, ones)
	const sel, out = 4096, 8192
	n := uint64(len(op))

	st := newState(1 << 20)
	for _, c := range []struct {
		name string
		fn   hostFunc
		args []uint64
		want int32
	}{
		{"select key too long", hostSelect, []uint64{abi.TableSpan, abi.FieldAttr, 0, abi.MaxKernelKey + 1, abi.MatchPresent, 0, 4, out, 64}, abi.ErrTooLarge},
		{"select list too long", hostSelect, []uint64{abi.TableSpan, abi.FieldName, 0, 0, abi.MatchEqual, 0, abi.MaxKernelList + 1, out, 64}, abi.ErrTooLarge},
		{"select too many values", hostSelect, []uint64{abi.TableSpan, abi.FieldName, 0, 0, abi.MatchEqual, 0, 4, out, 64}, abi.ErrTooLarge},
		{"select unknown match", hostSelect, []uint64{abi.TableSpan, abi.FieldName, 0, 0, 9, 0, 0, out, 64}, abi.ErrArgument},
		{"select out too small", hostSelect, []uint64{abi.TableSpan, abi.FieldName, 200, 0, abi.MatchPresent, 200, 4, out, 1}, abi.ErrArgument},
		{"select out of memory", hostSelect, []uint64{abi.TableSpan, abi.FieldName, 200, 0, abi.MatchPresent, 200, 4, 65535, 64}, abi.ErrBounds},
		{"select on a list", hostSelect, []uint64{abi.TableSpan, abi.FieldAttrs, 200, 0, abi.MatchPresent, 200, 4, out, 64}, abi.ErrArgument},
		{"select on another signal", hostSelect, []uint64{abi.TableLog, abi.FieldName, 200, 0, abi.MatchPresent, 200, 4, out, 64}, abi.ErrArgument},
		{"refine key too long", hostRefine, []uint64{abi.TableSpan, abi.FieldAttr, 0, abi.MaxKernelKey + 1, abi.MatchPresent, 0, 4, out, 64}, abi.ErrTooLarge},
		{"refine too many values", hostRefine, []uint64{abi.TableSpan, abi.FieldName, 0, 0, abi.MatchEqual, 0, 4, out, 64}, abi.ErrTooLarge},
		{"refine selection too small", hostRefine, []uint64{abi.TableSpan, abi.FieldName, 200, 0, abi.MatchPresent, 200, 4, out, 1}, abi.ErrArgument},
		{"refine selection out of memory", hostRefine, []uint64{abi.TableSpan, abi.FieldName, 200, 0, abi.MatchPresent, 200, 4, 65535, 64}, abi.ErrBounds},
		{"refine on a list", hostRefine, []uint64{abi.TableSpan, abi.FieldAttrs, 200, 0, abi.MatchPresent, 200, 4, out, 64}, abi.ErrArgument},
		{"edit_where template too long", hostEditWhere, []uint64{100, abi.MaxKernelList + 1, sel, 64}, abi.ErrTooLarge},
		{"edit_where template too short", hostEditWhere, []uint64{100, 5, sel, 64}, abi.ErrEncoding},
		{"edit_where bitmap out of memory", hostEditWhere, []uint64{100, n, 65530, 64}, abi.ErrBounds},
		{"copy_attr key too long", hostCopyAttr, []uint64{abi.TableSpan, 0, abi.MaxKernelKey + 1, 0, 1, sel, 64, 0}, abi.ErrTooLarge},
		{"copy_attr unknown flag", hostCopyAttr, []uint64{abi.TableSpan, 0, 1, 0, 1, sel, 64, 2}, abi.ErrArgument},
		{"copy_attr to a parent without attributes", hostCopyAttr, []uint64{abi.TableResource, 0, 1, 0, 1, sel, 64, abi.CopyToParent}, abi.ErrArgument},
	} {
		if got := call(st, c.fn, c.args...); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
	if len(st.edits) != 0 {
		t.Fatalf("refused calls staged %d bytes of edits", len(st.edits))
	}
	// The list at 200 is empty (count 0): MatchPresent over span names.
	if got := call(st, hostSelect, abi.TableSpan, abi.FieldName, 200, 0, abi.MatchPresent, 200, 4, out, 64); got != 50 {
		t.Errorf("select present on 50 span names matched %d", got)
	}
	// edit_where stages the template for every selected item, within the
	// edit limit, and refuses whole when over it. The limit counts the
	// copies, though they are staged as one record of the template and
	// the selection's 7 bytes.
	if got := call(st, hostEditWhere, 100, n, sel, 64); got != 50 || st.stagedEdits() != 50*len(op) {
		t.Errorf("edit_where staged %d edits (%d bytes, standing for %d)", got, len(st.edits), st.stagedEdits())
	}
	if len(st.edits) != 8+len(op)+7 || len(st.ed.whereAt) != 1 {
		t.Errorf("edit_where staged %d bytes and %d records, want one record of %d", len(st.edits), len(st.ed.whereAt), 8+len(op)+7)
	}
	small := newState(49 * len(op))
	if got := call(small, hostEditWhere, 100, n, sel, 64); got != abi.ErrTooLarge || len(small.edits) != 0 {
		t.Errorf("edit_where over the edit limit: got %d with %d bytes staged", got, len(small.edits))
	}
	if err := st.ed.apply(st.edits); err != nil {
		t.Fatalf("staged edits do not apply: %v", err)
	}
	// copy_attr within the limit, then refused whole past it.
	before := len(st.edits)
	mem.Write(300, []byte("kv"))
	if got := call(st, hostCopyAttr, abi.TableSpan, 300, 1, 301, 1, sel, 64, 0); got != 50 {
		t.Errorf("copy_attr k to v staged %d edits, want 50 (every span has k now)", got)
	}
	if got := len(st.edits) - before; got != 50*(6+4+1+1+4+1) {
		t.Errorf("copy_attr staged %d bytes, want 50 SetAttr of one-byte keys and values", got)
	}
	// A fresh batch: the random spans' k0 (most have one) copied to v,
	// with room for one edit only.
	mem.Write(310, []byte("k0"))
	tiny := newState(30)
	if got := call(tiny, hostCopyAttr, abi.TableSpan, 310, 2, 301, 1, sel, 64, 0); got != abi.ErrTooLarge || len(tiny.edits) != 0 {
		t.Errorf("copy_attr over the edit limit: got %d with %d bytes staged", got, len(tiny.edits))
	}
	// Both staging kernels hold what they stage against
	// host_memory_limit, as edit does: copy_attr's 50 edits do not fit in
	// 200 bytes, edit_where's record of 32 bytes not in 24.
	for _, c := range []struct {
		name   string
		args   []uint64
		fn     hostFunc
		budget int64
	}{
		{"edit_where", []uint64{100, n, sel, 64}, hostEditWhere, 24},
		{"copy_attr", []uint64{abi.TableSpan, 300, 1, 301, 1, sel, 64, 0}, hostCopyAttr, 200},
	} {
		poor := newState(1 << 20)
		poor.shared.mem = &hostMemory{limit: c.budget}
		poor.t.traces = st.t.traces // every span has k
		if got := call(poor, c.fn, c.args...); got != abi.ErrTooLarge || len(poor.edits) != 0 {
			t.Errorf("%s past the host memory budget: got %d with %d bytes staged", c.name, got, len(poor.edits))
		}
		if used := poor.shared.mem.used.Load(); used > c.budget || int64(cap(poor.edits)) > c.budget {
			t.Errorf("%s past the host memory budget: %d bytes taken, %d held", c.name, used, cap(poor.edits))
		}
	}
	for _, v := range []pcommon.Value{pcommon.NewValueStr("value"), pcommon.NewValueInt(1), pcommon.NewValueDouble(1),
		pcommon.NewValueBool(true), pcommon.NewValueBytes()} {
		if b, _ := appendSetAttr(nil, abi.TableSpan, 7, []byte("key"), v); setAttrSize([]byte("key"), v) != len(b) {
			t.Errorf("setAttrSize of a %s: %d, appendSetAttr wrote %d", v.Type(), setAttrSize([]byte("key"), v), len(b))
		}
	}

	// Outside a batch every kernel answers ErrState.
	idle := &callState{guard: newGuard(StackLimit)}
	for _, fn := range []hostFunc{hostSelect, hostEditWhere, hostCopyAttr} {
		stack := make([]uint64, 9)
		inBatch(fn)(context.WithValue(ctx, stateKey{}, idle), mod, stack)
		if rc := api.DecodeI32(stack[0]); rc != abi.ErrState {
			t.Errorf("kernel outside a batch: %d, want ErrState", rc)
		}
	}
}

// BenchmarkKernelSelect is one select of span names by prefix over 1,000
// spans, the names already gathered (as for a filter's second select of
// the same field) but the select itself not made before, as the host runs
// it: the guest's cost is one call.
func BenchmarkKernelSelect(b *testing.B) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, err := r.Instantiate(ctx, oneMemoryPage)
	if err != nil {
		b.Fatal(err)
	}
	list := abi.AppendStrValue(abi.AppendU32(nil, 1), "broker:")
	mod.Memory().Write(0, list)
	st := &callState{limits: limits{maxEdits: 1 << 20}, guard: newGuard(StackLimit)}
	st.begin(abi.SignalTraces)
	st.t.traces = benchdata.KnativeTraces(1000)
	call := context.WithValue(ctx, stateKey{}, st)
	fn := inBatch(hostSelect)
	stack := make([]uint64, 9)
	b.ReportAllocs()
	for b.Loop() {
		st.t.memoUsed = 0 // a new select, not the same one again
		copy(stack, []uint64{abi.TableSpan, abi.FieldName, 0, 0, abi.MatchPrefix, 0, uint64(len(list)), 1024, 1024})
		fn(call, mod, stack)
	}
	if rc := api.DecodeI32(stack[0]); rc <= 0 {
		b.Fatalf("select matched %d", rc)
	}
}
