// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// load parses a batch and flattens it as the emulator does per call.
func load(t testing.TB, signal int32, in []byte) *tables {
	t.Helper()
	switch signal {
	case abi.SignalTraces:
		d, err := parseTraces(in)
		if err != nil {
			t.Fatal(err)
		}
		return flattenTraces(d)
	case abi.SignalMetrics:
		d, err := parseMetrics(in)
		if err != nil {
			t.Fatal(err)
		}
		return flattenMetrics(d)
	}
	d, err := parseLogs(in)
	if err != nil {
		t.Fatal(err)
	}
	return flattenLogs(d)
}

// doc re-encodes the batch t was flattened from.
func (t *tables) doc(tb testing.TB) []byte {
	tb.Helper()
	b, err := encodeOTLP(t.root())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// cells renders a column as one short string per item, so that tests can
// state expectations as plain literals: "-" empty, "s:" string, "i:" int,
// "d:" double, "b:" bool, "x:" bytes in hex, "o:" JSON of a map or array,
// and "[k=v k=v]" for an attribute list.
func cells(t testing.TB, raw []byte, n int) []string {
	t.Helper()
	if len(raw) < n*abi.EntrySize {
		t.Fatalf("column of %d items is %d bytes, shorter than its entries", n, len(raw))
	}
	c := abi.Column(raw)
	out := make([]string, 0, n)
	for i := range n {
		tag, bits := c.Entry(i)
		out = append(out, cell(c, tag, bits))
	}
	return out
}

func cell(c abi.Column, tag uint8, bits uint64) string {
	switch tag {
	case abi.TagStr:
		return "s:" + string(c.Data(bits))
	case abi.TagInt:
		return "i:" + strconv.FormatInt(int64(bits), 10)
	case abi.TagDouble:
		return "d:" + strconv.FormatFloat(math.Float64frombits(bits), 'g', -1, 64)
	case abi.TagBool:
		return "b:" + strconv.FormatBool(bits == 1)
	case abi.TagBytes:
		return "x:" + hex.EncodeToString(c.Data(bits))
	case abi.TagOther:
		return "o:" + string(c.Data(bits))
	case abi.TagList:
		parts := make([]string, 0, abi.ListLen(bits))
		for j := range abi.ListLen(bits) {
			k, vt, vb := c.ListEntry(bits, j)
			parts = append(parts, string(k)+"="+cell(c, vt, vb))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "-"
}

// column fetches and renders a whole column, failing on an error code.
func (t *tables) cells(tb testing.TB, table, field int32, key string) []string {
	tb.Helper()
	raw, rc := t.column(table, field, key)
	if rc != 0 {
		tb.Fatalf("column(%d, %d, %q) = %s", table, field, key, abi.ErrorText(rc))
	}
	return cells(tb, raw, int(t.length(table)))
}

// sameBatch fails unless got and want are the same batch, attribute order
// aside.
func sameBatch(t testing.TB, signal int32, want, got []byte) {
	t.Helper()
	diffs, err := compareBatch(signal, want, got)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Errorf("batches differ:\n\t%s\ngot  %s\nwant %s", strings.Join(diffs, "\n\t"), got, want)
	}
}

// Edit list builders: one op each, to concatenate.

type operand func([]byte) []byte

func str(s string) operand  { return func(b []byte) []byte { return abi.AppendStrValue(b, s) } }
func num(v int64) operand   { return func(b []byte) []byte { return abi.AppendIntValue(b, v) } }
func dbl(v float64) operand { return func(b []byte) []byte { return abi.AppendDoubleValue(b, v) } }
func boolean(v bool) operand {
	return func(b []byte) []byte { return abi.AppendBoolValue(b, v) }
}
func raw(p ...byte) operand { return func(b []byte) []byte { return abi.AppendBytesValue(b, p) } }
func other(js string) operand {
	return func(b []byte) []byte { return abi.AppendOtherValue(b, js) }
}
func empty() operand { return abi.AppendEmpty }
func list() operand {
	return func(b []byte) []byte {
		return abi.AppendStrValue(abi.AppendStr(abi.AppendU32(append(b, abi.TagList), 1), "k"), "v")
	}
}

func setAttr(table uint8, i uint32, key string, v operand) []byte {
	return v(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, table, i), key))
}

func delAttr(table uint8, i uint32, key string) []byte {
	return abi.AppendStr(abi.AppendEditHeader(nil, abi.OpDeleteAttr, table, i), key)
}

func renAttr(table uint8, i uint32, old, new string) []byte {
	return abi.AppendStr(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpRenameAttr, table, i), old), new)
}

func setField(table uint8, i uint32, field uint8, v operand) []byte {
	return v(append(abi.AppendEditHeader(nil, abi.OpSetField, table, i), field))
}

func drop(table uint8, i uint32) []byte { return abi.AppendEditHeader(nil, abi.OpDrop, table, i) }

func ops(lists ...[]byte) []byte {
	var b []byte
	for _, l := range lists {
		b = append(b, l...)
	}
	return b
}
