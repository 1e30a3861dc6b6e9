// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"math/bits"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

func (c *selectCaller) refine(table, field int32, key string, match int32, list []byte, listPtr uint32, sel []byte, selPtr, selLen uint32) (int32, []byte) {
	m := c.mod.Memory()
	m.Write(0, []byte(key))
	m.Write(listPtr, list)
	m.Write(selPtr, sel)
	stack := []uint64{uint64(table), uint64(field), 0, uint64(len(key)), uint64(match), uint64(listPtr), uint64(len(list)), uint64(selPtr), uint64(selLen)}
	inBatch(hostRefine)(c.call, c.mod, stack)
	out, _ := m.Read(selPtr, uint32(len(sel)))
	return api.DecodeI32(stack[0]), bytes.Clone(out)
}

// TestRefineIsSelectAnded: refine answers what the selection and-ed with
// the column path's select would, count and bits, on random batches and
// requests of every table and field (bad ones too), with selects in
// between that build the views and kernel columns refine may reuse. An
// error leaves the selection as it was, and nothing past ceil(n/8) bytes
// changes. (From a test written by an attack round against refine.)
func TestRefineIsSelectAnded(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	c := newSelectCaller(t)
	tables := []int32{abi.TableSpan, abi.TableEvent, abi.TableLink, abi.TableScope, abi.TableResource, abi.TableLog, 0, 99, -1}
	fields := []int32{abi.FieldName, abi.FieldKind, abi.FieldResource, abi.FieldAttr, abi.FieldParent, abi.FieldTime, abi.FieldAttrs, 0, 99, -1}
	for batch := range 300 {
		td := randomTraces(rng)
		c.batch(td)
		for range 40 {
			table, field := tables[rng.Intn(len(tables))], fields[rng.Intn(len(fields))]
			if rng.Intn(3) > 0 {
				table = []int32{abi.TableSpan, abi.TableEvent, abi.TableResource}[rng.Intn(3)]
				field = []int32{abi.FieldName, abi.FieldKind, abi.FieldResource, abi.FieldAttr}[rng.Intn(4)]
			}
			key := []string{"", "k", "x"}[rng.Intn(3)]
			match := int32(1 + rng.Intn(3))
			list := randomList(rng, match)
			if rng.Intn(2) == 0 {
				c.sel(table, field, key, match, list, 8192, 32768, 64)
			}
			sel := make([]byte, 64)
			rng.Read(sel)
			want, wantBits := columnPathSelect(td, table, field, key, match, list)
			got, gotBits := c.refine(table, field, key, match, list, 8192, sel, 16384, 64)
			if want < 0 {
				require.Equal(t, want, got, "batch %d", batch)
				require.Equal(t, sel, gotBits, "batch %d: a refused refine changed the selection", batch)
				continue
			}
			exp, n := bytes.Clone(sel), int32(0)
			for i := range wantBits {
				exp[i] &= wantBits[i]
				n += int32(bits.OnesCount8(exp[i]))
			}
			require.Equal(t, n, got, "batch %d t%d f%d m%d", batch, table, field, match)
			require.Equal(t, exp, gotBits, "batch %d t%d f%d m%d", batch, table, field, match)
		}
	}
}

// TestAttrTestsRefuseAsTheColumn: an attribute nested past 64 levels is
// refused by column; so select refuses it wherever it is in the table,
// and refine only when it is in the selection, leaving the selection as
// it came, for spans and resources (read in place) as for events (read
// through the column by select). The emulator's TestRefineRefusesPerItem
// holds it to the same cases. (An attack round found select and refine answering.)
func TestAttrTestsRefuseAsTheColumn(t *testing.T) {
	deep := func(m pcommon.Map) {
		d := m.PutEmptyMap("k")
		for range 70 {
			d = d.PutEmptyMap("a")
		}
	}
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("k", "x")
	deep(td.ResourceSpans().AppendEmpty().Resource().Attributes())
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("k", "v")
	spans.AppendEmpty().Attributes().PutStr("k", "x")
	deep(spans.AppendEmpty().Attributes())
	spans.AppendEmpty().Attributes().PutStr("k", "v")
	evs := spans.At(0).Events()
	evs.AppendEmpty().Attributes().PutStr("k", "x")
	deep(evs.AppendEmpty().Attributes())
	evs.AppendEmpty().Attributes().PutStr("k", "v")
	v := abi.AppendStrValue(abi.AppendU32(nil, 1), "v")
	c := newSelectCaller(t)
	present := abi.AppendU32(nil, 0)
	for _, table := range []int32{abi.TableSpan, abi.TableEvent, abi.TableResource} {
		want, _ := columnPathSelect(td, table, abi.FieldAttr, "k", abi.MatchEqual, v)
		require.Equal(t, int32(abi.ErrTooLarge), want)
		c.batch(td)
		got, _ := c.sel(table, abi.FieldAttr, "k", abi.MatchEqual, v, 8192, 32768, 1)
		require.Equal(t, want, got, "select on table %d", table)
		for _, r := range []struct {
			sel, want byte
			rc        int32
		}{
			{0b101, 0b100, 1},
			{0b111, 0b111, abi.ErrTooLarge},
			{0b010, 0b010, abi.ErrTooLarge},
		} {
			for _, selectFirst := range []bool{false, true} {
				c.batch(td)
				if selectFirst { // as filters do
					got, _ := c.sel(table, abi.FieldAttr, "k", abi.MatchPresent, present, 8192, 32768, 1)
					require.Equal(t, int32(abi.ErrTooLarge), got, "select on table %d", table)
				}
				got, bits := c.refine(table, abi.FieldAttr, "k", abi.MatchEqual, v, 8192, []byte{r.sel}, 16384, 1)
				require.Equal(t, r.rc, got, "refine of %03b on table %d, select first: %v", r.sel, table, selectFirst)
				require.Equal(t, []byte{r.want}, bits, "refine of %03b on table %d, select first: %v", r.sel, table, selectFirst)
			}
		}
	}
	// A shallow map is present, and equal to no value.
	td = ptrace.NewTraces()
	spans = td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	spans.AppendEmpty().Attributes().PutEmptyMap("k").PutStr("a", "b")
	spans.AppendEmpty()
	c.batch(td)
	got, bits := c.refine(abi.TableSpan, abi.FieldAttr, "k", abi.MatchPresent, abi.AppendU32(nil, 0), 8192, []byte{0xff}, 16384, 1)
	require.Equal(t, int32(1), got)
	require.Equal(t, []byte{0x01}, bits)
}
