// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Hostile tests of edit_where's records against the copies path, from
// an attack round on them.

func allOnes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xFF
	}
	return b
}

// pair stages the same calls on two copies of td, records and copies,
// and returns both rigs and batches.
type pair struct {
	a, b   *whereRig
	ta, tb ptrace.Traces
}

func newPair(t *testing.T, mod api.Module, td ptrace.Traces) *pair {
	p := &pair{ta: ptrace.NewTraces(), tb: ptrace.NewTraces()}
	td.CopyTo(p.ta)
	td.CopyTo(p.tb)
	p.a, p.b = newWhereRig(t, mod, p.ta), newWhereRig(t, mod, p.tb)
	return p
}

// rawEdit stages p with edit, whatever it holds, on both rigs.
func (p *pair) rawEdit(op []byte) {
	for _, w := range []*whereRig{p.a, p.b} {
		w.mem.Write(rigEdit, op)
		if rc := w.call(hostEdit, rigEdit, uint64(len(op))); rc != 0 {
			w.t.Fatalf("edit: %d", rc)
		}
	}
}

func (p *pair) where(t *testing.T, op, sel []byte) {
	ka, kb := p.a.where(op, sel, false), p.b.where(op, sel, true)
	if ka != kb {
		t.Fatalf("edit_where staged %d, the copies %d", ka, kb)
	}
}

// check applies both lists and reports any difference.
func (p *pair) check(t *testing.T) {
	t.Helper()
	if len(p.a.st.ed.whereAt) == 0 {
		t.Fatal("no record staged: the test exercises copies only")
	}
	if got, want := p.a.st.stagedEdits(), len(p.b.st.edits); got != want {
		t.Errorf("records stand for %d bytes, copies take %d", got, want)
	}
	errA, errB := p.a.st.ed.apply(p.a.st.edits), p.b.st.ed.apply(p.b.st.edits)
	if fmt.Sprint(errA) != fmt.Sprint(errB) {
		t.Errorf("records: %v\ncopies:  %v", errA, errB)
	}
	if !sameTraces(p.ta, p.tb) {
		t.Errorf("records and copies left different batches (records err %v, copies err %v)", errA, errB)
	}
}

func setKV(table uint8, k, v string) []byte {
	return abi.AppendStrValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, table, 0), k), v)
}

// TestEditWhereTakesOneWholeEdit: an operation that is not exactly one
// edit (a second edit after it, a byte of junk, a value cut short, an
// unknown operation) is refused with ErrEncoding and stages nothing: read
// as copies back to back, its bytes would pair up into other edits.
func TestEditWhereTakesOneWholeEdit(t *testing.T) {
	mod := memoryModule(t)
	short := abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), "k")
	short = abi.AppendU32(append(short, abi.TagStr), 16) // claims 16 bytes, its value missing
	for name, op := range map[string][]byte{
		"trailing edit": append(setKV(abi.TableSpan, "k", "v"), abi.AppendEditHeader(nil, abi.OpDrop, abi.TableSpan, 0)...),
		"trailing junk": append(setKV(abi.TableSpan, "k", "v"), 0xEE),
		"short value":   short,
		"unknown op":    abi.AppendEditHeader(nil, 9, abi.TableSpan, 0),
	} {
		w := newWhereRig(t, mod, benchdata.RandomTraces(3, 100))
		w.mem.Write(rigEdit, op)
		w.mem.Write(rigSel, allOnes(13))
		if rc := w.call(hostEditWhere, rigEdit, uint64(len(op)), rigSel, 13); rc != abi.ErrEncoding || len(w.st.edits) != 0 {
			t.Errorf("%s: edit_where answered %d and staged %d bytes", name, rc, len(w.st.edits))
		}
	}
}

// B: the byte offset of a truncated header after a record is the offset
// in the records' list, not in the copies'.
func TestAttackTruncatedHeaderOffsetAfterRecord(t *testing.T) {
	mod := memoryModule(t)
	p := newPair(t, mod, benchdata.RandomTraces(3, 100))
	p.where(t, setKV(abi.TableSpan, "k", "v"), allOnes(13))
	p.rawEdit([]byte{abi.OpDrop, abi.TableSpan, 0}) // 3 of 6 header bytes
	p.check(t)
}

// C: the deadline has passed when the 1024th edit is validated, which is
// a record's first copy, of a SetAttr that cannot be set. The copies
// meet the deadline check first (a timeout fault); the record reports the
// edit (a guest fault, the instance kept).
func TestAttackDeadlineBeforeMalformedRecord(t *testing.T) {
	mod := memoryModule(t)
	p := newPair(t, mod, benchdata.RandomTraces(3, 100))
	for range 1023 {
		p.rawEdit(setKV(abi.TableSpan, "x", "y"))
	}
	bad := append(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), "k"), abi.TagList, 0, 0, 0, 0)
	p.where(t, bad, allOnes(13))
	p.a.st.guard.closing.Store(true) // expired() from now on
	p.b.st.guard.closing.Store(true)
	p.check(t)
}

// C2: as C, with a SetAttr that can be set, which the editor charges
// in one loop for the whole record (chargeRecord): the deadline is met
// at the record's first copy, as the copies meet it.
func TestAttackDeadlineInAValidRecord(t *testing.T) {
	mod := memoryModule(t)
	p := newPair(t, mod, benchdata.RandomTraces(3, 100))
	for range 1023 {
		p.rawEdit(setKV(abi.TableSpan, "x", "y"))
	}
	p.where(t, setKV(abi.TableSpan, "k", "v"), allOnes(13))
	p.a.st.guard.closing.Store(true) // expired() from now on
	p.b.st.guard.closing.Store(true)
	if len(p.a.st.ed.whereAt) == 0 {
		t.Fatal("no record staged: the test exercises copies only")
	}
	errA, errB := p.a.st.ed.validate(p.a.st.edits), p.b.st.ed.validate(p.b.st.edits)
	if !errors.Is(errA, errValidateDeadline) || !errors.Is(errB, errValidateDeadline) {
		t.Fatalf("records: %v\ncopies:  %v\nwant the deadline for both", errA, errB)
	}
}

// D1: the copies fit host_memory_limit, the record does not: whereAt's
// 8 bytes are held on top of a record only 3 bytes smaller than its
// copies.
func TestAttackRecordRefusedWhereCopiesFit(t *testing.T) {
	mod := memoryModule(t)
	drop := abi.AppendEditHeader(nil, abi.OpDrop, abi.TableSpan, 0)
	sel := []byte{0x1F} // 5 of 100 spans: copies 30 bytes, record 8+6+13
	sel = append(sel, make([]byte, 12)...)
	var rc [2]int32
	for j, copies := range []bool{false, true} {
		w := newWhereRig(t, mod, benchdata.RandomTraces(3, 100))
		w.st.shared.mem = &hostMemory{limit: 32}
		if copies {
			// What the host stages for the same call as copies (before
			// 18debe3, and now below the record threshold): one ensure
			// of the copies' 30 bytes, then the copies.
			if !w.st.ensure(&w.st.edits, 30, w.st.editLimit()) {
				rc[j] = abi.ErrTooLarge
			} else {
				for i := range 5 {
					c := append([]byte(nil), drop...)
					c[2] = byte(i)
					w.st.edits = append(w.st.edits, c...)
				}
				rc[j] = 5
			}
		} else {
			rc[j] = w.where(drop, sel, false)
		}
		t.Logf("copies=%v: rc %d, used %d of 32", copies, rc[j], w.st.shared.mem.used.Load())
	}
	if rc[0] != rc[1] {
		t.Errorf("edit_where answered %d, the copies it stands for %d", rc[0], rc[1])
	}
}

// D2: a refused stageRecord keeps whereAt's grown array, which the budget
// does not count: the instance's buffers pass what it holds.
func TestAttackWhereAtGrowthUncounted(t *testing.T) {
	mod := memoryModule(t)
	op := setKV(abi.TableSpan, "k", "v")
	found := false
	for limit := int64(256); limit <= 1<<13 && !found; limit++ {
		w := newWhereRig(t, mod, benchdata.RandomTraces(3, 100))
		w.st.shared.mem = &hostMemory{limit: limit}
		for w.where(op, allOnes(13), false) >= 0 {
		}
		st := w.st
		live := int64(cap(st.result) + cap(st.edits) + cap(st.otlp) + st.t.kernelBytes() + 8*cap(st.ed.whereAt))
		if live > st.held {
			found = true
			t.Errorf("limit %d: buffers of %d bytes, %d held (used %d); len(whereAt) %d, cap %d", limit, live, st.held,
				st.shared.mem.used.Load(), len(st.ed.whereAt), cap(st.ed.whereAt))
		}
	}
}

// E: records and their offsets, with the offsets' spare capacity, stay
// within the staged edits' limit.
func TestAttackStagedBytesPastMaxEdits(t *testing.T) {
	mod := memoryModule(t)
	w := newWhereRig(t, mod, benchdata.RandomTraces(3, 8)) // 8 spans: a 1-byte selection
	const maxEdits = 1 << 16
	w.st.limits.maxEdits = maxEdits
	op := setKV(abi.TableSpan, "k", "v") // copies 136 bytes, record 34 with its offset
	calls := 0
	for w.where(op, []byte{0xFF}, false) == 8 {
		calls++
	}
	held := cap(w.st.edits) + 8*cap(w.st.ed.whereAt)
	t.Logf("%d calls, %d records: edits cap %d, whereAt cap %d: %d bytes for maxEdits %d", calls, len(w.st.ed.whereAt),
		cap(w.st.edits), cap(w.st.ed.whereAt), held, maxEdits)
	if len(w.st.ed.whereAt) < 400 || calls*8*len(op) > maxEdits {
		t.Fatalf("%d records for %d calls: the test exercises copies, or the limit let too much through", len(w.st.ed.whereAt), calls)
	}
	if held > maxEdits {
		t.Errorf("staged edits hold %d bytes, past maxEdits %d", held, maxEdits)
	}
}
