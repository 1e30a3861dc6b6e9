// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
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
func setJSON(dst pcommon.Value, data []byte) error {
	iter := jsoniter.ConfigFastest.BorrowIterator(data)
	defer jsoniter.ConfigFastest.ReturnIterator(iter)
	readJSON(dst, iter)
	return iter.Error
}

func readJSON(dst pcommon.Value, iter *jsoniter.Iterator) {
	switch iter.WhatIsNext() {
	case jsoniter.ObjectValue:
		m := dst.SetEmptyMap()
		iter.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
			readJSON(m.PutEmpty(key), it)
			return it.Error == nil
		})
	case jsoniter.ArrayValue:
		s := dst.SetEmptySlice()
		iter.ReadArrayCB(func(it *jsoniter.Iterator) bool {
			readJSON(s.AppendEmpty(), it)
			return it.Error == nil
		})
	case jsoniter.StringValue:
		dst.SetStr(iter.ReadString())
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
