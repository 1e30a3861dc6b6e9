// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// TestSelectFastMatchesColumns: every select the fast path answers gives
// the bitmap the column path gives, on names around the eight-byte word
// (shorter, exactly eight, longer, empty, holding NUL bytes), span kinds
// outside the enum as the wire may carry them, and resources.
func TestSelectFastMatchesColumns(t *testing.T) {
	names := []string{"", "a", "ab", "ab\x00", "broker:", "broker:x", "broker:default.default",
		"trigger:", "trigger:t.ns", "queue", "queue_proxy", "queue_prox", "\x00\x00", "12345678", "123456789"}
	td := ptrace.NewTraces()
	for r := range 3 {
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for i, name := range names {
			s := spans.AppendEmpty()
			s.SetName(name)
			s.SetKind(ptrace.SpanKind(int32((i + r) % 7))) // 6 is outside the enum
			if i == 3 {
				s.SetKind(ptrace.SpanKind(42))
			}
			s.Events().AppendEmpty().SetName(names[(i+r)%len(names)])
		}
	}
	strs := func(vals ...string) []byte {
		b := abi.AppendU32(nil, uint32(len(vals)))
		for _, v := range vals {
			b = abi.AppendStrValue(b, v)
		}
		return b
	}
	ints := func(vals ...int64) []byte {
		b := abi.AppendU32(nil, uint32(len(vals)))
		for _, v := range vals {
			b = abi.AppendIntValue(b, v)
		}
		return b
	}
	type sel struct {
		table, field, match int32
		list                []byte
	}
	var sels []sel
	for _, table := range []int32{abi.TableSpan, abi.TableEvent} {
		for _, v := range names {
			sels = append(sels,
				sel{table, abi.FieldName, abi.MatchPrefix, strs(v)},
				sel{table, abi.FieldName, abi.MatchEqual, strs(v)})
		}
		sels = append(sels,
			sel{table, abi.FieldName, abi.MatchPrefix, strs("broker:", "trigger:", "queue_")},
			sel{table, abi.FieldName, abi.MatchEqual, strs("queue", "ab\x00", "")},
			sel{table, abi.FieldName, abi.MatchEqual, ints(1)},
			sel{table, abi.FieldName, abi.MatchPresent, strs()})
	}
	for _, kinds := range [][]int64{{0}, {1, 2}, {5, 6}, {42}, {-1}, {0, 1, 2, 3, 4, 5}} {
		sels = append(sels, sel{abi.TableSpan, abi.FieldKind, abi.MatchEqual, ints(kinds...)})
	}
	for _, res := range [][]int64{{0}, {2}, {1, 2}, {3}, {-1, 0}, {0, 1, 2, 3, 4, 5, 6}} {
		sels = append(sels, sel{abi.TableSpan, abi.FieldResource, abi.MatchEqual, ints(res...)})
	}
	sels = append(sels, sel{abi.TableSpan, abi.FieldKind, abi.MatchEqual, strs("1")})

	var tb tables
	tb.reset(abi.SignalTraces)
	tb.traces = td
	for _, s := range sels {
		t.Run(fmt.Sprintf("%d/%d/%d/%q", s.table, s.field, s.match, s.list), func(t *testing.T) {
			n := tb.count(s.table)
			m, rc := decodeMatch(s.match, s.list)
			require.Zero(t, rc)
			fast := make([]byte, selectionLen(n))
			got, ok := tb.selectFast(s.table, s.field, "", &m, fast)
			require.True(t, ok, "the fast path should answer this select")

			col, rc := tb.build1(nil, s.table, s.field, "")
			require.Zero(t, rc)
			slow, want := make([]byte, selectionLen(n)), int32(0)
			for i := range int(n) {
				if m.test(abi.Column(col), i) {
					slow[i/8] |= 1 << (i % 8)
					want++
				}
			}
			require.Equal(t, slow, fast)
			require.Equal(t, want, got)
		})
	}
}

// TestSelectMemo: a select asked again in the call is answered from the
// first, and only an identical one.
func TestSelectMemo(t *testing.T) {
	var tb tables
	tb.reset(abi.SignalTraces)
	bits := []byte{0b101}
	tb.remember(abi.TableSpan, abi.FieldAttr, abi.MatchPresent, []byte("k"), []byte{0, 0, 0, 0}, bits, 2)
	out := make([]byte, 1)
	n, ok := tb.recall(abi.TableSpan, abi.FieldAttr, abi.MatchPresent, []byte("k"), []byte{0, 0, 0, 0}, out)
	require.True(t, ok)
	require.Equal(t, int32(2), n)
	require.Equal(t, bits, out)
	_, ok = tb.recall(abi.TableSpan, abi.FieldAttr, abi.MatchPresent, []byte("j"), []byte{0, 0, 0, 0}, out)
	require.False(t, ok, "another key")
	_, ok = tb.recall(abi.TableEvent, abi.FieldAttr, abi.MatchPresent, []byte("k"), []byte{0, 0, 0, 0}, out)
	require.False(t, ok, "another table")
	tb.reset(abi.SignalTraces)
	_, ok = tb.recall(abi.TableSpan, abi.FieldAttr, abi.MatchPresent, []byte("k"), []byte{0, 0, 0, 0}, out)
	require.False(t, ok, "a new call forgets")
}

// selectCaller runs hostSelect as a guest would, on a real module's
// memory: the key at 0, the list and out where the test puts them.
type selectCaller struct {
	mod  api.Module
	st   *callState
	call context.Context
}

func newSelectCaller(t *testing.T) *selectCaller {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	mod, err := r.Instantiate(ctx, oneMemoryPage)
	require.NoError(t, err)
	st := &callState{limits: limitsFor(64 << 20), shared: &shared{mem: &hostMemory{limit: 64 << 20}}, guard: newGuard(StackLimit)}
	return &selectCaller{mod: mod, st: st, call: context.WithValue(ctx, stateKey{}, st)}
}

func (c *selectCaller) batch(td ptrace.Traces) {
	c.st.end()
	c.st.begin(abi.SignalTraces)
	c.st.t.traces = td
}

func (c *selectCaller) sel(table, field int32, key string, match int32, list []byte, listPtr, outPtr, outLen uint32) (int32, []byte) {
	m := c.mod.Memory()
	m.Write(0, []byte(key))
	m.Write(listPtr, list)
	stack := []uint64{uint64(table), uint64(field), 0, uint64(len(key)), uint64(match), uint64(listPtr), uint64(len(list)), uint64(outPtr), uint64(outLen)}
	inBatch(hostSelect)(c.call, c.mod, stack)
	out, _ := m.Read(outPtr, outLen)
	return api.DecodeI32(stack[0]), bytes.Clone(out)
}

// columnPathSelect is the select on a fresh index of td by the column
// path alone: no name view, no memo.
func columnPathSelect(td ptrace.Traces, table, field int32, key string, match int32, list []byte) (int32, []byte) {
	var tb tables
	tb.reset(abi.SignalTraces)
	tb.traces = td
	n := tb.count(table)
	if n < 0 {
		return n, nil
	}
	m, rc := decodeMatch(match, list)
	if rc < 0 {
		return rc, nil
	}
	if field == abi.FieldAttrs {
		return abi.ErrArgument, nil
	}
	col, rc := tb.build1(nil, table, field, key)
	if rc < 0 {
		return rc, nil
	}
	out, k := make([]byte, selectionLen(n)), int32(0)
	for i := range int(n) {
		if m.test(abi.Column(col), i) {
			out[i/8] |= 1 << (i % 8)
			k++
		}
	}
	return k, out
}

var edgeNames = []string{"", "a", "ab", "ab\x00", "a\x00", "\x00", "\x00\x00", "1234567", "12345678", "123456789",
	"12345678\x00", "broker:", "broker:x", "broker:default.default", "queue", "queue_proxy",
	"\xff\xff\xff\xff\xff\xff\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\xff"}

func randomTraces(rng *rand.Rand) ptrace.Traces {
	td := ptrace.NewTraces()
	kinds := []int32{0, 1, 2, 3, 4, 5, 6, 7, -1, -6, math.MaxInt32, math.MinInt32, 255, 256}
	for range 1 + rng.Intn(4) {
		rs := td.ResourceSpans().AppendEmpty()
		// Resource attributes: strings, ints, a map, and absent.
		switch ra := rs.Resource().Attributes(); rng.Intn(8) {
		case 0:
			ra.PutStr("k", edgeNames[rng.Intn(len(edgeNames))])
		case 1:
			ra.PutInt("k", int64(rng.Intn(7)))
		case 2:
			ra.PutEmptyMap("k").PutStr("a", "b")
		case 3:
			ra.PutStr("x", "1")
			ra.PutStr("k", edgeNames[rng.Intn(len(edgeNames))])
		}
		for range rng.Intn(3) {
			spans := rs.ScopeSpans().AppendEmpty().Spans()
			for range rng.Intn(12) {
				s := spans.AppendEmpty()
				s.SetName(edgeNames[rng.Intn(len(edgeNames))])
				s.SetKind(ptrace.SpanKind(kinds[rng.Intn(len(kinds))]))
				s.Attributes().PutStr("k", edgeNames[rng.Intn(len(edgeNames))])
				for range rng.Intn(3) {
					s.Events().AppendEmpty().SetName(edgeNames[rng.Intn(len(edgeNames))])
				}
			}
		}
	}
	return td
}

func randomList(rng *rand.Rand, match int32) []byte {
	if match == abi.MatchPresent {
		return abi.AppendU32(nil, 0)
	}
	count := rng.Intn(7)
	b := abi.AppendU32(nil, uint32(count))
	ints := []int64{0, 1, 2, 3, 4, 5, 6, -1, 42, math.MaxInt32, math.MinInt32, 1 << 32, -(1 << 32) + 1}
	for range count {
		switch {
		case match == abi.MatchPrefix || rng.Intn(2) == 0:
			s := edgeNames[rng.Intn(len(edgeNames))]
			if match == abi.MatchPrefix && len(s) > 0 {
				s = s[:rng.Intn(len(s)+1)]
			}
			b = abi.AppendStrValue(b, s)
		case rng.Intn(4) == 0:
			b = abi.AppendBytesValue(b, []byte("ab"))
		default:
			b = abi.AppendIntValue(b, ints[rng.Intn(len(ints))])
		}
	}
	return b
}

// TestSelectDifferential: hostSelect, with its fast paths and memo,
// answers as the column path does on random batches and requests (bad
// tables and fields, kinds outside the enum, mixed lists), a third of
// them repeats that the memo answers.
func TestSelectDifferential(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	c := newSelectCaller(t)
	tables := []int32{abi.TableSpan, abi.TableEvent, abi.TableLink, abi.TableScope, abi.TableResource, abi.TableLog, 0, 99, -1}
	fields := []int32{abi.FieldName, abi.FieldKind, abi.FieldResource, abi.FieldAttr, abi.FieldParent, abi.FieldTime, abi.FieldAttrs, 0, 99, -1}
	type request struct {
		table, field int32
		key          string
		match        int32
		list         []byte
	}
	for batch := range 300 {
		td := randomTraces(rng)
		c.batch(td)
		var asked []request
		for range 40 {
			var q request
			if len(asked) > 0 && rng.Intn(3) == 0 {
				q = asked[rng.Intn(len(asked))]
			} else {
				q = request{table: tables[rng.Intn(len(tables))], field: fields[rng.Intn(len(fields))]}
				if rng.Intn(3) > 0 {
					q.table = []int32{abi.TableSpan, abi.TableEvent, abi.TableResource}[rng.Intn(3)]
					q.field = []int32{abi.FieldName, abi.FieldKind, abi.FieldResource, abi.FieldAttr}[rng.Intn(4)]
				}
				q.key = []string{"", "k", "x"}[rng.Intn(3)]
				q.match = int32(1 + rng.Intn(3))
				q.list = randomList(rng, q.match)
				asked = append(asked, q)
			}
			want, wantBits := columnPathSelect(td, q.table, q.field, q.key, q.match, q.list)
			got, gotBits := c.sel(q.table, q.field, q.key, q.match, q.list, 8192, 32768, 64)
			require.Equal(t, want, got, "batch %d: %+v", batch, q)
			if want >= 0 {
				require.Equal(t, wantBits, gotBits[:len(wantBits)], "batch %d: %+v", batch, q)
			}
		}
	}
}

// TestSelectOutOverlapsRequest: the ABI lets out overlap the list. The
// answer must be to the list as the guest wrote it, and the memo must file
// it under that list, not under what the bitmap overwrote it with.
func TestSelectOutOverlapsRequest(t *testing.T) {
	c := newSelectCaller(t)
	// Span i is "abcd" when bit i of 'z' (0x7a) is set, "zbcd" otherwise:
	// the bitmap of "abcd" is the byte 'z'.
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 8 {
		name := "zbcd"
		if 'z'&(1<<i) != 0 {
			name = "abcd"
		}
		spans.AppendEmpty().SetName(name)
	}
	c.batch(td)
	abcd := abi.AppendStrValue(abi.AppendU32(nil, 1), "abcd")
	const listPtr = 8192
	// out is the list's 'a' (after the count, the tag and the length).
	n, _ := c.sel(abi.TableSpan, abi.FieldName, "", abi.MatchEqual, abcd, listPtr, listPtr+9, 1)
	require.Equal(t, int32(5), n)
	zbcd := abi.AppendStrValue(abi.AppendU32(nil, 1), "zbcd")
	want, wantBits := columnPathSelect(td, abi.TableSpan, abi.FieldName, "", abi.MatchEqual, zbcd)
	got, gotBits := c.sel(abi.TableSpan, abi.FieldName, "", abi.MatchEqual, zbcd, 16384, 32768, 1)
	require.Equal(t, want, got, "zbcd answered with abcd's count")
	require.Equal(t, wantBits, gotBits)
}

// TestSelectMemoBounded: what the memo keeps after a call is bounded by
// maxKeptMemo, however large the call's selects were.
func TestSelectMemoBounded(t *testing.T) {
	c := newSelectCaller(t)
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("a")
	c.batch(td)
	for i := range maxSelectMemo {
		s := make([]byte, maxSelectMemoBits-4-1-4)
		s[0] = byte(i)
		rc, _ := c.sel(abi.TableSpan, abi.FieldName, "", abi.MatchPrefix, abi.AppendStrValue(abi.AppendU32(nil, 1), string(s)), 8192, 32768, 1)
		require.Zero(t, rc)
	}
	require.Equal(t, maxSelectMemo, c.st.t.memoUsed, "every select was remembered")
	c.st.end()
	kept := cap(c.st.t.selKey) + cap(c.st.t.selList)
	for _, m := range c.st.t.memo {
		kept += cap(m.key) + cap(m.list) + cap(m.bits)
	}
	require.LessOrEqual(t, kept, maxKeptMemo)
}

// TestSelectStopsAtTheDeadline: a select checks the call's deadline as it
// goes through the items, on the fast path and on the column path, not
// only when it is called (which this test bypasses): 256 long values
// against many long names took a second in one host call.
func TestSelectStopsAtTheDeadline(t *testing.T) {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range 5000 {
		s := spans.AppendEmpty()
		s.SetName("n")
		s.Status().SetMessage("m")
	}
	list := abi.AppendU32(nil, 2)
	list = abi.AppendStrValue(abi.AppendStrValue(list, "a"), "b")
	m, rc := decodeMatch(abi.MatchPrefix, list)
	require.Zero(t, rc)
	var tb tables
	tb.reset(abi.SignalTraces)
	tb.traces = td
	tb.guard = newGuard(StackLimit)
	out := make([]byte, 5000/8+1)
	col, rc := tb.build1(nil, abi.TableSpan, abi.FieldStatusMessage, "")
	require.Zero(t, rc)
	kinds, rc := decodeMatch(abi.MatchEqual, abi.AppendIntValue(abi.AppendU32(nil, 1), 2))
	require.Zero(t, rc)
	one, rc := decodeMatch(abi.MatchPrefix, abi.AppendStrValue(abi.AppendU32(nil, 1), "a"))
	require.Zero(t, rc)
	for name, run := range map[string]func(){
		"fast path":   func() { tb.selectFast(abi.TableSpan, abi.FieldName, "", &m, out) },
		"column path": func() { tb.testColumn(abi.Column(col), 5000, &m, out) },
		// Building the names and kinds (as a refine of one span does,
		// whose own loop meets no check), then one value over them.
		"building the view":   func() { tb.spanNames.reset(); tb.nameView(abi.TableSpan) },
		"kinds, view unbuilt": func() { tb.spanNames.reset(); tb.selectFast(abi.TableSpan, abi.FieldKind, "", &kinds, out) },
		"one name, view built": func() {
			tb.guard.disarm()
			tb.nameView(abi.TableSpan)
			tb.guard.arm(phaseCall, time.Nanosecond)
			tb.selectFast(abi.TableSpan, abi.FieldName, "", &one, out)
		},
	} {
		tb.guard.arm(phaseCall, time.Nanosecond)
		time.Sleep(time.Millisecond)
		stopped := func() (stopped any) {
			defer func() { stopped = recover() }()
			run()
			return nil
		}()
		require.Equal(t, stopError{stopDeadline}, stopped, name)
		tb.guard.disarm()
	}
}
