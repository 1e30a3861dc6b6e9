// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// whereRig stages edits through the real host functions on a batch of its
// own, either as edit_where's records or as the copies a guest could send
// one by one with edit.
type whereRig struct {
	t   *testing.T
	mem api.Memory
	mod api.Module
	st  *callState
}

func newWhereRig(t *testing.T, mod api.Module, td ptrace.Traces) *whereRig {
	st := &callState{
		shared: &shared{config: []byte("{}"), log: newGuestLog(zap.NewNop(), 10, 50), kv: newKV(), counters: &counters{},
			mem: &hostMemory{limit: 1 << 30}},
		limits: limits{maxEdits: 1 << 26, maxResult: 1 << 28, maxOTLP: 1 << 28},
		guard:  newGuard(StackLimit),
	}
	st.begin(abi.SignalTraces)
	st.t.traces = td
	return &whereRig{t: t, mem: mod.Memory(), mod: mod, st: st}
}

func (w *whereRig) call(fn hostFunc, args ...uint64) int32 {
	stack := make([]uint64, 9)
	copy(stack, args)
	inBatch(fn)(context.WithValue(context.Background(), stateKey{}, w.st), w.mod, stack)
	return api.DecodeI32(stack[0])
}

// memoryModule is a module of one memory page, for the host functions to
// read and write as a guest's, closed when the test ends.
func memoryModule(t testing.TB) api.Module {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	mod, err := r.Instantiate(ctx, oneMemoryPage)
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

// Guest memory: an edit at 0, a selection at 32768.
const rigEdit, rigSel = 0, 32768

func (w *whereRig) edit(op []byte) {
	w.mem.Write(rigEdit, op)
	if rc := w.call(hostEdit, rigEdit, uint64(len(op))); rc != 0 {
		w.t.Fatalf("edit: %d", rc)
	}
}

// where stages op on sel's items with edit_where, or, when copies is set,
// a copy of op per item with edit.
func (w *whereRig) where(op, sel []byte, copies bool) int32 {
	if !copies {
		w.mem.Write(rigEdit, op)
		w.mem.Write(rigSel, sel)
		return w.call(hostEditWhere, rigEdit, uint64(len(op)), rigSel, uint64(len(sel)))
	}
	if abi.EditLen(op) != len(op) {
		return abi.ErrEncoding // as edit_where answers
	}
	k := int32(0)
	for i := range int32(8 * len(sel)) {
		if selected(sel, i) && i < w.st.t.count(int32(op[1])) {
			c := append([]byte(nil), op...)
			binary.LittleEndian.PutUint32(c[2:], uint32(i))
			w.edit(c)
			k++
		}
	}
	return k
}

// TestEditWhereRecordsAreTheCopies: edit_where stages one record for a
// selection, which the editor expands as it walks the list. On random
// batches and random sequences of edits and edit_where calls, of every
// operation and some malformed ones, the records leave the batch the
// copies leave, or fail with the copies' error.
func TestEditWhereRecordsAreTheCopies(t *testing.T) {
	mod := memoryModule(t)
	head := func(op uint8, table uint8) []byte { return abi.AppendEditHeader(nil, op, table, 0) }
	templates := [][]byte{
		abi.AppendStrValue(abi.AppendStr(head(abi.OpSetAttr, abi.TableSpan), "knative.hop"), "ingress"),
		abi.AppendStrValue(abi.AppendStr(head(abi.OpSetAttr, abi.TableSpan), "k0"), "overwritten"),
		abi.AppendIntValue(abi.AppendStr(head(abi.OpSetAttr, abi.TableSpan), "n"), 7),
		// A key of 16 bytes or more costs more than one unit to compare.
		abi.AppendStrValue(abi.AppendStr(head(abi.OpSetAttr, abi.TableSpan), "http.request.header.x-forwarded-for"), "10.0.0.1"),
		abi.AppendBytesValue(abi.AppendStr(head(abi.OpSetAttr, abi.TableResource), "raw"), []byte{1, 2}),
		abi.AppendStr(head(abi.OpDeleteAttr, abi.TableSpan), "k1"),
		abi.AppendStr(abi.AppendStr(head(abi.OpRenameAttr, abi.TableSpan), "k0"), "k9"),
		abi.AppendStrValue(append(head(abi.OpSetField, abi.TableSpan), abi.FieldName), "renamed"),
		head(abi.OpDrop, abi.TableSpan),
	}
	malformed := [][]byte{
		append(abi.AppendStr(head(abi.OpSetAttr, abi.TableSpan), "k"), abi.TagList, 0, 0, 0, 0), // a list cannot be set
		abi.AppendStrValue(abi.AppendStr(head(abi.OpSetAttr, abi.TableSpan), "k"), "v")[:14],    // truncated value
		head(9, abi.TableSpan), // no such operation
		abi.AppendStrValue(append(head(abi.OpSetField, abi.TableSpan), abi.FieldTraceID), "x"),
	}
	records := 0
	for seed := range uint64(200) {
		rnd := rand.New(rand.NewPCG(seed, 7))
		td := benchdata.RandomTraces(seed, 200+rnd.IntN(300))
		viaRecords, viaCopies := ptrace.NewTraces(), ptrace.NewTraces()
		td.CopyTo(viaRecords)
		td.CopyTo(viaCopies)
		a, b := newWhereRig(t, mod, viaRecords), newWhereRig(t, mod, viaCopies)
		for range 1 + rnd.IntN(6) {
			if rnd.IntN(3) == 0 {
				// A plain edit on one span.
				op := templates[rnd.IntN(len(templates))]
				if op[1] != abi.TableSpan {
					continue
				}
				c := append([]byte(nil), op...)
				binary.LittleEndian.PutUint32(c[2:], uint32(rnd.IntN(td.SpanCount())))
				a.edit(c)
				b.edit(c)
				continue
			}
			op := templates[rnd.IntN(len(templates))]
			if seed%10 == 9 && rnd.IntN(2) == 0 {
				op = malformed[rnd.IntN(len(malformed))]
			}
			sel := make([]byte, int(a.st.t.count(int32(op[1]))+7)/8+rnd.IntN(3))
			density := rnd.Float64()
			for i := range 8 * len(sel) {
				if rnd.Float64() < density {
					sel[i/8] |= 1 << (i % 8)
				}
			}
			ka, kb := a.where(op, sel, false), b.where(op, sel, true)
			if ka != kb {
				t.Fatalf("seed %d: edit_where staged %d, the copies %d", seed, ka, kb)
			}
		}
		records += len(a.st.ed.whereAt)
		if got, want := a.st.stagedEdits(), len(b.st.edits); got != want {
			t.Fatalf("seed %d: the records stand for %d bytes, the copies take %d", seed, got, want)
		}
		errA, errB := a.st.ed.validate(a.st.edits), b.st.ed.validate(b.st.edits)
		if fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Fatalf("seed %d: records: %v\ncopies:  %v", seed, errA, errB)
		}
		if errA == nil {
			// Validation charges a record as its copies: the same work
			// bound and, per item, the same counts commit reserves by.
			ea, eb := &a.st.ed, &b.st.ed
			if ea.work != eb.work || !reflect.DeepEqual(ea.attrOps, eb.attrOps) ||
				!reflect.DeepEqual(ea.adds, eb.adds) || !reflect.DeepEqual(ea.costs, eb.costs) {
				t.Fatalf("seed %d: the records were charged work %d, the copies %d, or per item differently", seed, ea.work, eb.work)
			}
			ea.commit(a.st.edits)
			eb.commit(b.st.edits)
		}
		if !sameTraces(viaRecords, viaCopies) {
			t.Fatalf("seed %d: the records and the copies left different batches", seed)
		}
	}
	if records < 200 {
		t.Fatalf("only %d records staged in 200 runs: the test exercises copies", records)
	}
}

// TestEditWhereRecordsInTheExactCount: a list whose quick estimate passes
// MaxApplyWork is counted again exactly; records count there as their
// copies. 200 SetAttr of one key on 1,000 bare spans are cheap (one key
// each) and apply; 200 distinct keys are not, and the records' refusal is
// the copies'.
func TestEditWhereRecordsInTheExactCount(t *testing.T) {
	mod := memoryModule(t)
	bare := ptrace.NewTraces()
	spans := bare.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range 1000 {
		spans.AppendEmpty()
	}
	all := make([]byte, 125)
	for i := range all {
		all[i] = 0xFF
	}
	for _, distinct := range []bool{false, true} {
		var errs [2]string
		for j, copies := range []bool{false, true} {
			td := ptrace.NewTraces()
			bare.CopyTo(td)
			w := newWhereRig(t, mod, td)
			for k := range 200 {
				key := "k"
				if distinct {
					key = fmt.Sprintf("k%03d", k)
				}
				op := abi.AppendStrValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), key), "v")
				if got := w.where(op, all, copies); got != 1000 {
					t.Fatalf("staged %d", got)
				}
			}
			if !copies && len(w.st.ed.whereAt) != 200 {
				t.Fatalf("%d records, want 200", len(w.st.ed.whereAt))
			}
			err := w.st.ed.apply(w.st.edits)
			errs[j] = fmt.Sprint(err)
			switch {
			case !distinct && err != nil:
				t.Fatalf("copies %v: one key 200 times refused: %v", copies, err)
			case !distinct && td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(999).Attributes().Len() != 1:
				t.Fatalf("copies %v: the last span has %d attributes, want 1", copies,
					td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(999).Attributes().Len())
			case distinct && err == nil:
				t.Fatalf("copies %v: 200 keys on 1,000 spans applied, past MaxApplyWork", copies)
			}
		}
		if errs[0] != errs[1] {
			t.Fatalf("records: %s\ncopies:  %s", errs[0], errs[1])
		}
	}
}

// sameTraces compares two batches by their OTLP bytes.
func sameTraces(a, b ptrace.Traces) bool {
	var m ptrace.ProtoMarshaler
	x, err1 := m.MarshalTraces(a)
	y, err2 := m.MarshalTraces(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// TestEditCutShortByARecord: a guest's edit that ends short, followed by
// an edit_where record, must not be completed by the record's bytes.
func TestEditCutShortByARecord(t *testing.T) {
	mod := memoryModule(t)
	w := newWhereRig(t, mod, benchdata.RandomTraces(3, 100))
	// SetAttr on span 0 whose key claims 6 bytes, of which it sends none.
	w.edit(binary.LittleEndian.AppendUint32(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), 6))
	op := abi.AppendStrValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), "k"), "v")
	all := make([]byte, 13)
	for i := range all {
		all[i] = 0xFF
	}
	if got := w.where(op, all, false); got != 100 || len(w.st.ed.whereAt) != 1 {
		t.Fatalf("edit_where staged %d in %d records", got, len(w.st.ed.whereAt))
	}
	before := ptrace.NewTraces()
	w.st.t.traces.CopyTo(before)
	if err := w.st.ed.apply(w.st.edits); err == nil || !strings.Contains(err.Error(), "edit 0 (op 1, table 3, index 0): "+abi.ErrMalformed.Error()) {
		t.Fatalf("apply: %v", err)
	}
	if !sameTraces(before, w.st.t.traces) {
		t.Fatal("a refused list changed the batch")
	}
}

// selected reports whether sel selects item i, one bit at a time: the
// reference selectedItems is held to.
func selected(sel []byte, i int32) bool {
	return int(i/8) < len(sel) && sel[i/8]&(1<<(i%8)) != 0
}

// TestSelectedItems: the items selectedItems yields are those selected
// reports, in order, below n, whatever the bitmap's length.
func TestSelectedItems(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		sel := make([]byte, rnd.IntN(40))
		for i := range sel {
			sel[i] = byte(rnd.Uint32())
			if rnd.IntN(4) == 0 {
				sel[i] = 0
			}
		}
		n := int32(rnd.IntN(8*len(sel) + 20))
		var want, got []int32
		for i := range n {
			if selected(sel, i) {
				want = append(want, i)
			}
		}
		for i := range selectedItems(sel, n) {
			got = append(got, i)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("sel %x, n %d: got %v, want %v", sel, n, got, want)
		}
	}
}
