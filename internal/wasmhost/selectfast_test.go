// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
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
