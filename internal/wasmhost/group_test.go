// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"context"
	"math"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// TestGroupLimits: group answers bad arguments with the ABI's error codes,
// and a refusal writes nothing; a group call files the items of sel by
// value, in order, into bitmaps at sel_len strides, and a guest that calls
// it again while it fills every bitmap gets every value once.
func TestGroupLimits(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	const sel, out = 4096, 8192 // 50 spans: 7 bytes of bitmap
	ones := bytes.Repeat([]byte{0xFF}, 7)
	mem.Write(100, []byte("k0"))
	st := newState(1 << 20)
	for _, c := range []struct {
		name string
		args []uint64
		want int32
	}{
		{"key too long", []uint64{abi.TableSpan, abi.FieldAttr, 0, abi.MaxKernelKey + 1, sel, 7, out, 64}, abi.ErrTooLarge},
		{"selection too small", []uint64{abi.TableSpan, abi.FieldName, 0, 0, sel, 6, out, 64}, abi.ErrArgument},
		{"no selection", []uint64{abi.TableSpan, abi.FieldName, 0, 0, sel, 0, out, 64}, abi.ErrArgument},
		{"no room for one group", []uint64{abi.TableSpan, abi.FieldName, 0, 0, sel, 7, out, 6}, abi.ErrArgument},
		{"on a list", []uint64{abi.TableSpan, abi.FieldAttrs, 0, 0, sel, 7, out, 64}, abi.ErrArgument},
		{"on another signal", []uint64{abi.TableLog, abi.FieldName, 0, 0, sel, 7, out, 64}, abi.ErrArgument},
		{"attribute of a table without", []uint64{abi.TableMetric, abi.FieldAttr, 100, 2, sel, 7, out, 64}, abi.ErrArgument},
		{"selection out of memory", []uint64{abi.TableSpan, abi.FieldName, 0, 0, 65534, 7, out, 64}, abi.ErrBounds},
		{"bitmaps out of memory", []uint64{abi.TableSpan, abi.FieldName, 0, 0, sel, 7, 65530, 64}, abi.ErrBounds},
	} {
		mem.Write(sel, ones)
		if got := call(st, hostGroup, c.args...); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
		if b, _ := mem.Read(sel, 7); !bytes.Equal(b, ones) {
			t.Errorf("%s: the refused call changed the selection to %x", c.name, b)
		}
	}

	// The names of 50 random spans, grouped two groups a call.
	names := map[string][]int32{}
	var order []string
	for i := range int32(50) {
		name := st.t.span(i).Name()
		if names[name] == nil {
			order = append(order, name)
		}
		names[name] = append(names[name], i)
	}
	if len(order) < 5 {
		t.Fatalf("%d distinct names: too few to need three calls", len(order))
	}
	mem.Write(sel, ones)
	var got []string
	for {
		k := call(st, hostGroup, abi.TableSpan, abi.FieldName, 0, 0, sel, 7, out, 2*7+6)
		if k < 0 {
			t.Fatalf("group: %d", k)
		}
		if k == 0 {
			break
		}
		col := abi.Column(st.result)
		for g := range int(k) {
			tag, bits := col.Entry(g)
			if tag != abi.TagStr {
				t.Fatalf("group %d's value has tag %d", g, tag)
			}
			name := string(col.Data(bits))
			got = append(got, name)
			bitmap, _ := mem.Read(out+uint32(7*g), 7)
			if want := bitmapOf(names[name], 7); !bytes.Equal(bitmap, want) {
				t.Errorf("group of %q: bitmap %x, want %x", name, bitmap, want)
			}
		}
	}
	if len(got) != len(order) {
		t.Fatalf("grouped %q, want %q", got, order)
	}
	for i := range order {
		if got[i] != order[i] {
			t.Fatalf("grouped %q, want %q in order of first appearance", got, order)
		}
	}
	if b, _ := mem.Read(sel, 7); !bytes.Equal(b, make([]byte, 7)) {
		t.Errorf("every span grouped, but the selection has %x left", b)
	}

	// Values past host_memory_limit's share for results: refused, and
	// nothing written.
	poor := newState(1 << 20)
	poor.limits.maxResult = 3 * abi.EntrySize
	mem.Write(sel, ones)
	mem.Write(out, make([]byte, 64))
	if got := call(poor, hostGroup, abi.TableSpan, abi.FieldName, 0, 0, sel, 7, out, 64); got != abi.ErrTooLarge {
		t.Errorf("group of names past the result limit: %d, want ErrTooLarge", got)
	}
	if b, _ := mem.Read(sel, 7); !bytes.Equal(b, ones) {
		t.Errorf("refused group changed the selection to %x", b)
	}
	if b, _ := mem.Read(out, 64); !bytes.Equal(b, make([]byte, 64)) {
		t.Errorf("refused group wrote bitmaps %x", b)
	}

	// Outside a batch: ErrState.
	idle := &callState{guard: newGuard(StackLimit)}
	stack := make([]uint64, 8)
	inBatch(hostGroup)(context.WithValue(context.Background(), stateKey{}, idle), mod, stack)
	if rc := api.DecodeI32(stack[0]); rc != abi.ErrState {
		t.Errorf("group outside a batch: %d, want ErrState", rc)
	}
}

// bitmapOf is a selection of n bytes holding items.
func bitmapOf(items []int32, n int) []byte {
	b := make([]byte, n)
	for _, i := range items {
		b[i/8] |= 1 << (i % 8)
	}
	return b
}

// TestGroupRuns: group finds an item's value among the recent ones,
// compared in a slot picked by its length and end bytes, before it hashes
// it. Runs of equal values broken by items with no value, by the same
// content under another tag (Str and Bytes, which share a slot), by -0 and
// 0 and by NaNs of other payloads must group exactly as the model of
// ABI.md does, on full and sparse selections.
func TestGroupRuns(t *testing.T) {
	nan2 := math.Float64frombits(0x7ff8000000000001)
	str := func(s string) func(m pcommon.Map) { return func(m pcommon.Map) { m.PutStr("v", s) } }
	byt := func(s string) func(m pcommon.Map) {
		return func(m pcommon.Map) { m.PutEmptyBytes("v").FromRaw([]byte(s)) }
	}
	dbl := func(f float64) func(m pcommon.Map) { return func(m pcommon.Map) { m.PutDouble("v", f) } }
	none := func(m pcommon.Map) {}
	set := []func(m pcommon.Map){
		str("a"), str("a"), none, str("a"), byt("a"), byt("a"), none, byt("a"), str("a"),
		byt(""), str(""), str(""), byt(""), none, none,
		dbl(math.NaN()), dbl(nan2), dbl(nan2), dbl(math.NaN()), dbl(math.Copysign(0, -1)), dbl(0), dbl(0), dbl(math.Copysign(0, -1)),
		func(m pcommon.Map) { m.PutInt("v", 0) }, func(m pcommon.Map) { m.PutBool("v", false) }, func(m pcommon.Map) { m.PutBool("v", false) },
		str("b"), str("b"), str("a"),
	}
	names := []string{"x", "x", "x", "y", "y", "", "", "y", "x", "x"}
	groupAgreesWithModel(t, set, names, [][]byte{{0xFF, 0xFF, 0xFF, 0xFF}, {0xB7, 0x6D, 0xDB, 0xFE}})
}

// TestGroupBuildsTheNameViewOnce: a group of span names, or of kinds,
// made before any select of names builds the call's name view, which the
// next group and select then use. group once built it on a copy of the
// call's tables and lost it, so that each such group read every span's
// name again: 80–160 µs a call on 1,000 spans where 5 µs do.
func TestGroupBuildsTheNameViewOnce(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	for _, field := range []int32{abi.FieldName, abi.FieldKind} {
		st := newState(1 << 20)
		n := st.t.count(abi.TableSpan)
		const sel, out = 4096, 8192
		all := make([]byte, (n+7)/8)
		for i := range n {
			all[i/8] |= 1 << (i % 8)
		}
		mod.Memory().Write(sel, all)
		if k := call(st, hostGroup, abi.TableSpan, uint64(field), 0, 0, sel, uint64(len(all)), out, 256*uint64(len(all))); k <= 0 {
			t.Fatalf("field %d: group answered %d", field, k)
		}
		if !st.t.spanNames.built {
			t.Errorf("field %d: the call's name view is not built after a group", field)
		}
	}
}
