// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// TestAttackRandomWellFormed: sequences of plain edits, edit_where and
// copy_attr calls, with well-formed one-edit templates on every trace
// table, selections empty to full, tight and loose edit limits (copy_attr
// refused half way, edit_where refused whole), records at 0, adjacent and
// at the end. The records path must match a copies path that stages
// exactly what the host did before records, one copy per item.
func TestAttackRandomWellFormed(t *testing.T) {
	mod := memoryModule(t)
	h := func(op, table uint8) []byte { return abi.AppendEditHeader(nil, op, table, 0) }
	var templates [][]byte
	for _, tb := range []uint8{abi.TableResource, abi.TableScope, abi.TableSpan, abi.TableEvent, abi.TableLink} {
		templates = append(templates,
			abi.AppendStrValue(abi.AppendStr(h(abi.OpSetAttr, tb), "k0"), "over"),
			abi.AppendStrValue(abi.AppendStr(h(abi.OpSetAttr, tb), "new"), "x"),
			abi.AppendIntValue(abi.AppendStr(h(abi.OpSetAttr, tb), "n"), -3),
			abi.AppendBoolValue(abi.AppendStr(h(abi.OpSetAttr, tb), "b"), true),
			abi.AppendDoubleValue(abi.AppendStr(h(abi.OpSetAttr, tb), "d"), 1.5),
			abi.AppendBytesValue(abi.AppendStr(h(abi.OpSetAttr, tb), "raw"), []byte{0, 1, 2}),
			abi.AppendStr(h(abi.OpDeleteAttr, tb), "k1"),
			abi.AppendStr(h(abi.OpDeleteAttr, tb), "new"),
			abi.AppendStr(abi.AppendStr(h(abi.OpRenameAttr, tb), "k0"), "k2"),
			abi.AppendStr(abi.AppendStr(h(abi.OpRenameAttr, tb), "new"), "k0"),
			h(abi.OpDrop, tb), // refused on resources, scopes, events, links
		)
	}
	templates = append(templates,
		abi.AppendStrValue(append(h(abi.OpSetField, abi.TableSpan), abi.FieldName), "renamed"),
		abi.AppendIntValue(append(h(abi.OpSetField, abi.TableSpan), abi.FieldKind), 2),
		abi.AppendIntValue(append(h(abi.OpSetField, abi.TableSpan), abi.FieldKind), 9), // out of range
		abi.AppendStrValue(append(h(abi.OpSetField, abi.TableScope), abi.FieldName), "s"),
		abi.AppendStrValue(abi.AppendStr(h(abi.OpSetAttr, abi.TableSpan), "k"), string(make([]byte, 300))), // long value
		abi.AppendStrValue(abi.AppendStr(h(abi.OpSetAttr, abi.TableSpan), string(make([]byte, 100))), "v"), // long key
	)
	// Malformed, but each exactly one edit's bytes long.
	bad := [][]byte{
		append(abi.AppendStr(h(abi.OpSetAttr, abi.TableSpan), "k"), abi.TagList, 0, 0, 0, 0),
		append(abi.AppendStr(h(abi.OpSetAttr, abi.TableSpan), "k"), abi.TagBool, 2),
		h(9, abi.TableSpan),
		abi.AppendStr(h(abi.OpDeleteAttr, abi.TableMetric), "k"),
	}
	records, failures, refusals := 0, 0, 0
	for seed := range uint64(500) {
		rnd := rand.New(rand.NewPCG(seed, 99))
		td := benchdata.RandomTraces(seed, 50+rnd.IntN(200))
		p := newPair(t, mod, td)
		maxEdits := 1 << 26
		if rnd.IntN(3) == 0 {
			maxEdits = 500 + rnd.IntN(20000)
		}
		p.a.st.limits.maxEdits, p.b.st.limits.maxEdits = maxEdits, maxEdits
		count := func(table uint8) int { return int(p.a.st.t.count(int32(table))) }
		for step := range 1 + rnd.IntN(10) {
			switch c := rnd.IntN(10); {
			case c < 3: // a plain edit, well formed
				op := templates[rnd.IntN(len(templates))]
				if n := count(op[1]); n > 0 {
					e := append([]byte(nil), op...)
					binary.LittleEndian.PutUint32(e[2:], uint32(rnd.IntN(n)))
					ra := rawEditRC(p.a, e)
					rb := rawEditRC(p.b, e)
					if ra != rb {
						t.Fatalf("seed %d step %d: edit %d vs %d", seed, step, ra, rb)
					}
				}
			case c < 4: // copy_attr, maybe refused half way
				table := []int32{abi.TableSpan, abi.TableEvent, abi.TableResource}[rnd.IntN(3)]
				n := count(uint8(table))
				sel := randSel(rnd, max(n, 0))
				flags := uint64(rnd.IntN(2))
				ra := copyAttrRC(p.a, table, "k0", "copied", sel, flags)
				rb := copyAttrRC(p.b, table, "k0", "copied", sel, flags)
				if ra != rb {
					t.Fatalf("seed %d step %d: copy_attr %d vs %d", seed, step, ra, rb)
				}
			default:
				op := templates[rnd.IntN(len(templates))]
				if seed%7 == 3 && rnd.IntN(2) == 0 {
					op = bad[rnd.IntN(len(bad))]
				}
				n := count(op[1])
				sel := randSel(rnd, max(n, 0))
				ra := p.a.where(op, sel, false)
				rb := oldEditWhere(p.b, op, sel)
				if ra != rb {
					t.Fatalf("seed %d step %d: edit_where %d vs old %d", seed, step, ra, rb)
				}
				if ra < 0 {
					refusals++
				}
			}
		}
		records += len(p.a.st.ed.whereAt)
		if got, want := p.a.st.stagedEdits(), len(p.b.st.edits); got != want {
			t.Fatalf("seed %d: records stand for %d bytes, copies %d", seed, got, want)
		}
		errA := p.a.st.ed.apply(p.a.st.edits)
		errB := p.b.st.ed.apply(p.b.st.edits)
		if fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Fatalf("seed %d: records: %v\ncopies:  %v", seed, errA, errB)
		}
		if errA != nil {
			failures++
		}
		if !sameTraces(p.ta, p.tb) {
			t.Fatalf("seed %d: batches differ", seed)
		}
		// State reset between calls: nothing of this call's records
		// survives into the next.
		p.a.st.end()
		p.a.st.begin(abi.SignalTraces)
		if len(p.a.st.ed.whereAt) != 0 || p.a.st.expanded != 0 || len(p.a.st.edits) != 0 {
			t.Fatalf("seed %d: state after begin: %d records, %d expanded", seed, len(p.a.st.ed.whereAt), p.a.st.expanded)
		}
	}
	t.Logf("%d records, %d lists refused, %d edit_where refused", records, failures, refusals)
}

func rawEditRC(w *whereRig, e []byte) int32 {
	w.mem.Write(rigEdit, e)
	return w.call(hostEdit, rigEdit, uint64(len(e)))
}

func copyAttrRC(w *whereRig, table int32, from, to string, sel []byte, flags uint64) int32 {
	const at = 40000
	w.mem.Write(at, []byte(from))
	w.mem.Write(at+100, []byte(to))
	w.mem.Write(rigSel, sel)
	return w.call(hostCopyAttr, uint64(table), at, uint64(len(from)), at+100, uint64(len(to)), rigSel, uint64(len(sel)), flags)
}

// oldEditWhere is hostEditWhere before 18debe3: copies, or nothing.
func oldEditWhere(w *whereRig, op, sel []byte) int32 {
	st := w.st
	if abi.EditLen(op) != len(op) {
		return abi.ErrEncoding // edit_where takes one whole edit
	}
	n := st.t.count(int32(op[1]))
	if n < 0 {
		return n
	}
	k := int32(0)
	for i := int32(0); i < n; i++ {
		if selected(sel, i) {
			k++
		}
	}
	if !st.ensure(&st.edits, int(k)*len(op), st.limits.maxEdits) {
		return abi.ErrTooLarge
	}
	for i := int32(0); i < n; i++ {
		if selected(sel, i) {
			at := len(st.edits)
			st.edits = append(st.edits, op...)
			binary.LittleEndian.PutUint32(st.edits[at+2:], uint32(i))
		}
	}
	return k
}

func randSel(rnd *rand.Rand, n int) []byte {
	sel := make([]byte, (n+7)/8+rnd.IntN(3))
	switch rnd.IntN(4) {
	case 0: // empty
	case 1:
		for i := range sel {
			sel[i] = 0xFF
		}
	default:
		d := rnd.Float64()
		for i := range 8 * len(sel) {
			if rnd.Float64() < d {
				sel[i/8] |= 1 << (i % 8)
			}
		}
	}
	return sel
}

var _ = ptrace.NewTraces

// TestAttackExactWorkMixed: lists whose quick estimate passes
// MaxApplyWork, of records of every attribute operation mixed with plain
// edits and drops, some under the exact bound and some over: exactWork
// and the outcome must be the copies'.
func TestAttackExactWorkMixed(t *testing.T) {
	mod := memoryModule(t)
	bare := ptrace.NewTraces()
	spans := bare.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range 1000 {
		spans.AppendEmpty().Attributes().PutStr("a", "b")
	}
	h := func(op uint8) []byte { return abi.AppendEditHeader(nil, op, abi.TableSpan, 0) }
	for _, keys := range []int{3, 40, 400, 4000} {
		rnd := rand.New(rand.NewPCG(uint64(keys), 5))
		p := newPair(t, mod, bare)
		for j := range 480 {
			key := fmt.Sprintf("k%d", rnd.IntN(keys))
			var op []byte
			switch j % 4 {
			case 0:
				op = abi.AppendStrValue(abi.AppendStr(h(abi.OpSetAttr), key), "v")
			case 1:
				op = abi.AppendStr(h(abi.OpDeleteAttr), key)
			case 2:
				op = abi.AppendStr(abi.AppendStr(h(abi.OpRenameAttr), key), fmt.Sprintf("k%d", rnd.IntN(keys)))
			case 3:
				e := abi.AppendStrValue(abi.AppendStr(h(abi.OpSetAttr), key), "plain")
				binary.LittleEndian.PutUint32(e[2:], uint32(rnd.IntN(1000)))
				p.rawEdit(e)
				continue
			}
			sel := randSel(rnd, 1000)
			if ra, rb := p.a.where(op, sel, false), oldEditWhere(p.b, op, sel); ra != rb {
				t.Fatalf("edit_where %d vs %d", ra, rb)
			}
		}
		sel := make([]byte, 125)
		sel[7] = 0x81
		if ra, rb := p.a.where(h(abi.OpDrop), sel, false), oldEditWhere(p.b, h(abi.OpDrop), sel); ra != rb {
			t.Fatalf("drop %d vs %d", ra, rb)
		}
		wa, wb := p.a.st.ed.exactWork(p.a.st.edits), p.b.st.ed.exactWork(p.b.st.edits)
		t.Logf("keys %d: %d records, exactWork %d vs %d", keys, len(p.a.st.ed.whereAt), wa, wb)
		if wa != wb {
			t.Errorf("keys %d: exactWork %d, copies %d", keys, wa, wb)
		}
		p.check(t)
		t.Logf("keys %d: quick estimate %d (MaxApplyWork %d)", keys, p.a.st.ed.work, MaxApplyWork)
	}
}
