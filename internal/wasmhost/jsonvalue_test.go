// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// randomJSONValue fills v with a random value, maps and slices nested up
// to depth, with the strings, floats and keys encoding/json treats
// specially.
func randomJSONValue(rng *rand.Rand, v pcommon.Value, depth int) {
	strs := []string{"", "plain", "quote\" back\\slash", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<html>&amp;",
		"caf\u00e9 \u2028\u2029 \U0001F600", "bad \xff\xfe utf8 \xe2\x82", "k", "k"}
	switch k := rng.IntN(9); {
	case k == 0:
		v.SetStr(strs[rng.IntN(len(strs))])
	case k == 1:
		v.SetInt(int64(rng.Uint64()))
	case k == 2:
		f := []float64{0, math.Copysign(0, -1), 1e-7, 1e-6, 123.456, 1e20, 1e21, -3.5e300, math.SmallestNonzeroFloat64,
			rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-30))}
		v.SetDouble(f[rng.IntN(len(f))])
	case k == 3:
		v.SetBool(rng.IntN(2) == 0)
	case k == 4:
		b := make([]byte, rng.IntN(5))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		v.SetEmptyBytes().FromRaw(b)
	case k == 5:
	case k < 7 && depth > 0:
		m := v.SetEmptyMap()
		for range rng.IntN(5) {
			randomJSONValue(rng, m.PutEmpty(strs[rng.IntN(len(strs))]), depth-1)
		}
	case depth > 0:
		s := v.SetEmptySlice()
		for range rng.IntN(5) {
			randomJSONValue(rng, s.AppendEmpty(), depth-1)
		}
	default:
		v.SetStr("leaf")
	}
}

// TestAppendJSONIsAsString: the text a column holds for a map or slice is
// pcommon's AsString, byte for byte.
func TestAppendJSONIsAsString(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		v := pcommon.NewValueEmpty()
		if rng.IntN(2) == 0 {
			randomJSONValue(rng, v.SetEmptyMap().PutEmpty("root"), 5)
		} else {
			randomJSONValue(rng, v.SetEmptySlice().AppendEmpty(), 5)
		}
		want := v.AsString()
		got, err := appendJSON(nil, v, 1<<30)
		if want == "" {
			require.ErrorIs(t, err, errNotJSON, "case %d", i)
			continue
		}
		require.NoError(t, err, "case %d: %s", i, want)
		require.Equal(t, want, string(got), "case %d", i)
	}
}

// TestAppendJSONRepeatedKeys: a map decoded from the wire may repeat a
// key; AsString keeps the last value, in sorted order.
func TestAppendJSONRepeatedKeys(t *testing.T) {
	kv := func(k, v string) []byte { // KeyValue{key, value: AnyValue{string_value}}
		return pbLen(pbLen(nil, 1, []byte(k)), 2, pbLen(nil, 1, []byte(v)))
	}
	var list []byte // KeyValueList.values
	for _, p := range [][2]string{{"b", "1"}, {"a", "2"}, {"b", "3"}, {"c", "4"}, {"a", "5"}} {
		list = pbLen(list, 1, kv(p[0], p[1]))
	}
	body := pbLen(nil, 5, pbLen(nil, 6, list)) // LogRecord.body, AnyValue.kvlist_value
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(logRequest(body))
	require.NoError(t, err)
	v := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body()
	require.Equal(t, 5, v.Map().Len(), "the keys are repeated")
	got, err := appendJSON(nil, v, 1<<20)
	require.NoError(t, err)
	require.Equal(t, `{"a":"5","b":"3","c":"4"}`, string(got))
	require.Equal(t, v.AsString(), string(got))
}

// TestAppendJSONBounded: a value nested deeper than maxValueDepth, or whose
// text passes the limit, stops there, having written no more than the
// limit.
func TestAppendJSONBounded(t *testing.T) {
	deep := pcommon.NewValueEmpty()
	v := deep
	for range 1_000_000 {
		v = v.SetEmptySlice().AppendEmpty()
	}
	_, err := appendJSON(nil, deep, 1<<30)
	require.ErrorIs(t, err, errValueTooDeep)

	ok := pcommon.NewValueEmpty()
	v = ok
	for range maxValueDepth - 1 {
		v = v.SetEmptyMap().PutEmpty("k")
	}
	v.SetEmptySlice()
	text, err := appendJSON(nil, ok, 1<<20)
	require.NoError(t, err, "as deep as allowed")
	require.Equal(t, ok.AsString(), string(text))

	ctl := pcommon.NewValueEmpty()
	ctl.SetEmptySlice().AppendEmpty().SetStr(strings.Repeat("\x01", 1<<20))
	const limit = 1 << 20
	text, err = appendJSON(make([]byte, 100, 200), ctl, 100+limit)
	require.ErrorIs(t, err, errValueTooLarge)
	require.LessOrEqual(t, len(text), 100+limit)
	require.LessOrEqual(t, cap(text), 2*(100+limit), "the text was not built past the limit")
	text, err = appendJSON(nil, ctl, 6<<20+4)
	require.NoError(t, err, "it fits a limit of six bytes a character and the brackets")
	require.Equal(t, ctl.AsString(), string(text))
}

// TestAppendJSONSortScratchBounded: a map of a million repeated keys
// renders as a few bytes, but sorting its keys takes a slice of its
// entries, which counts against the limit: within a 1 MiB limit it is
// refused before the slice is made.
func TestAppendJSONSortScratchBounded(t *testing.T) {
	kv := pbLen(nil, 1, nil) // KeyValue with the empty key and no value
	var list []byte
	for range 1 << 20 {
		list = pbLen(list, 1, kv)
	}
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(logRequest(pbLen(nil, 5, pbLen(nil, 6, list))))
	require.NoError(t, err)
	v := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body()
	require.Equal(t, 1<<20, v.Map().Len())
	var text []byte
	got := allocated(func() { text, err = appendJSON(nil, v, 1<<20) })
	require.ErrorIs(t, err, errValueTooLarge)
	require.Less(t, got, uint64(1<<20))
	text, err = appendJSON(nil, v, 64<<20)
	require.NoError(t, err, "with room for the sort")
	require.Equal(t, v.AsString(), string(text))
}

// TestAppendJSONLargeMapsAsString: maps past the sort's runs of 16, with
// repeated keys in any order, still render as AsString does: keys
// sorted, and of a repeated key the last value.
func TestAppendJSONLargeMapsAsString(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		var list []byte // KeyValueList.values
		n := 17 + rng.IntN(3000)
		keys := 1 + rng.IntN(2*n) // from all repeated to nearly all distinct
		for j := range n {
			k := strconv.Itoa(rng.IntN(keys))
			kv := pbLen(pbLen(nil, 1, []byte(k)), 2, pbLen(nil, 1, []byte(strconv.Itoa(j))))
			list = pbLen(list, 1, kv)
		}
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(logRequest(pbLen(nil, 5, pbLen(nil, 6, list))))
		require.NoError(t, err)
		v := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body()
		require.Equal(t, n, v.Map().Len(), "case %d: repeated keys kept", i)
		got, err := appendJSON(nil, v, 1<<30)
		require.NoError(t, err)
		require.Equal(t, v.AsString(), string(got), "case %d: %d entries of %d keys", i, n, keys)
	}
}
