// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"errors"
	"strconv"

	jsoniter "github.com/json-iterator/go"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// setJSON decodes one JSON document into dst as a structured value:
// objects become maps, arrays slices, integers Int, other numbers Double,
// null an empty value. The document must already be valid JSON
// (json.Valid): the iterator then only has to build, not to judge.
//
// It walks the document with the iterator the CloudEvents SDK already
// uses, straight into pdata, rather than through map[string]any, which
// would allocate every value twice and turn every number into a float64.
//
// A few bytes of JSON can stand for far more memory as pdata: each value,
// "0" or "[]", costs up to bytesPerJSONValue with the growth of the slice
// or map holding it, so a request within the 20 MiB body limit whose
// events held arrays of empty arrays decoded into 307 MiB, before any
// memory limiter could see it. Ordinary JSON costs up to about 17 times its
// size (small objects). So the documents of one request are decoded while
// their values cost at most *budget in all (maxStructuredCost); past that
// setJSON fails with errJSONTooCostly, and the caller keeps the data as
// text.
func setJSON(dst pcommon.Value, data []byte, budget *int) error {
	iter := jsoniter.ConfigFastest.BorrowIterator(data)
	defer jsoniter.ConfigFastest.ReturnIterator(iter)
	readJSON(dst, iter, budget)
	if iter.Error == nil && *budget < 0 {
		return errJSONTooCostly
	}
	return iter.Error
}

const bytesPerJSONValue = 128

// bytesPerKeyCompared is what one key comparison of an object's decoding
// is charged, in the budget's bytes: the most a request's objects can
// compare is then maxStructuredCost/bytesPerKeyCompared, 8 million (about
// 20 ms), and the widest object decoded, alone in its request, about
// 4,000 keys.
const bytesPerKeyCompared = 8

// maxStructuredCost is what the structured bodies of one request may cost.
var maxStructuredCost = 64 << 20

var errJSONTooCostly = errors.New("JSON data costs too much memory as a structured value")

func readJSON(dst pcommon.Value, iter *jsoniter.Iterator, budget *int) {
	if *budget -= bytesPerJSONValue; *budget < 0 {
		iter.Skip() // the caller gives up on it
		return
	}
	switch iter.WhatIsNext() {
	case jsoniter.ObjectValue:
		m := dst.SetEmptyMap()
		iter.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
			// PutEmpty compares key with every key the object has so far:
			// the comparisons are charged too, or an object of n keys
			// costs n²/2 of them whatever the budget (29,490 keys, 254
			// KiB of JSON, took 1.06 s; a batch of 20 took 18.5 s).
			*budget -= len(key) + m.Len()*bytesPerKeyCompared
			if *budget < 0 {
				return false
			}
			readJSON(m.PutEmpty(key), it, budget)
			return it.Error == nil && *budget >= 0
		})
	case jsoniter.ArrayValue:
		s := dst.SetEmptySlice()
		iter.ReadArrayCB(func(it *jsoniter.Iterator) bool {
			readJSON(s.AppendEmpty(), it, budget)
			return it.Error == nil && *budget >= 0
		})
	case jsoniter.StringValue:
		v := iter.ReadString()
		*budget -= len(v)
		dst.SetStr(v)
	case jsoniter.NumberValue:
		n := string(iter.ReadNumber())
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			dst.SetInt(i)
		} else if f, err := strconv.ParseFloat(n, 64); err == nil {
			dst.SetDouble(f)
		} else {
			// Beyond float64's range: keep the digits rather than lose them.
			dst.SetStr(n)
		}
	case jsoniter.BoolValue:
		dst.SetBool(iter.ReadBool())
	case jsoniter.NilValue:
		iter.ReadNil()
	default:
		iter.ReportError("decoding JSON data", "unexpected token")
	}
}
