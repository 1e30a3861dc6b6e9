// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Kinds of anyValue beyond the ABI's scalar tags, which it reuses.
const (
	kindArray  = 100
	kindKVList = 101
)

// anyValue is an OTLP AnyValue. kind is abi.TagEmpty..abi.TagBytes or
// kindArray/kindKVList; num holds an int, a bool (0/1) or a double's bits.
type anyValue struct {
	kind uint8
	str  string
	num  uint64
	raw  []byte
	arr  []anyValue
	kvs  []keyValue
}

func strValue(s string) anyValue { return anyValue{kind: abi.TagStr, str: s} }
func intValue(v int64) anyValue  { return anyValue{kind: abi.TagInt, num: uint64(v)} }
func doubleValue(v float64) anyValue {
	return anyValue{kind: abi.TagDouble, num: math.Float64bits(v)}
}

// doubleOf is the number of a TagDouble value.
func doubleOf(v anyValue) float64 { return math.Float64frombits(v.num) }

func (v anyValue) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	switch v.kind {
	case abi.TagStr:
		b.WriteString(`"stringValue":`)
		b.Write(jsonString(v.str))
	case abi.TagBool:
		fmt.Fprintf(&b, `"boolValue":%t`, v.num == 1)
	case abi.TagInt:
		fmt.Fprintf(&b, `"intValue":"%d"`, int64(v.num))
	case abi.TagDouble:
		d, err := f64(math.Float64frombits(v.num)).MarshalJSON()
		if err != nil {
			return nil, err
		}
		b.WriteString(`"doubleValue":`)
		b.Write(d)
	case abi.TagBytes:
		fmt.Fprintf(&b, `"bytesValue":%q`, base64.StdEncoding.EncodeToString(v.raw))
	case kindArray:
		b.WriteString(`"arrayValue":{`)
		if len(v.arr) > 0 {
			vals, err := encodeOTLP(v.arr)
			if err != nil {
				return nil, err
			}
			b.WriteString(`"values":`)
			b.Write(vals)
		}
		b.WriteByte('}')
	case kindKVList:
		b.WriteString(`"kvlistValue":{`)
		if len(v.kvs) > 0 {
			vals, err := encodeOTLP(v.kvs)
			if err != nil {
				return nil, err
			}
			b.WriteString(`"values":`)
			b.Write(vals)
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (v *anyValue) UnmarshalJSON(b []byte) error {
	*v = anyValue{}
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("want an AnyValue object, got %s", b)
	}
	if len(fields) > 1 {
		return fmt.Errorf("an AnyValue holds one value, got %s", b)
	}
	for k, raw := range fields {
		switch k {
		case "stringValue":
			v.kind = abi.TagStr
			return json.Unmarshal(raw, &v.str)
		case "boolValue":
			var t bool
			if err := json.Unmarshal(raw, &t); err != nil {
				return err
			}
			v.kind = abi.TagBool
			if t {
				v.num = 1
			}
		case "intValue":
			var n i64
			if err := n.UnmarshalJSON(raw); err != nil {
				return err
			}
			*v = intValue(int64(n))
		case "doubleValue":
			var d f64
			if err := d.UnmarshalJSON(raw); err != nil {
				return err
			}
			*v = doubleValue(float64(d))
		case "bytesValue":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
			p, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return fmt.Errorf("bytesValue: %w", err)
			}
			v.kind, v.raw = abi.TagBytes, p
		case "arrayValue":
			var a struct {
				Values []anyValue `json:"values"`
			}
			if err := strictUnmarshal(raw, &a); err != nil {
				return err
			}
			v.kind, v.arr = kindArray, a.Values
		case "kvlistValue":
			var l struct {
				Values []keyValue `json:"values"`
			}
			if err := strictUnmarshal(raw, &l); err != nil {
				return err
			}
			v.kind, v.kvs = kindKVList, l.Values
		default:
			return fmt.Errorf("unknown AnyValue field %q", k)
		}
	}
	return nil
}

// strictUnmarshal is json.Unmarshal rejecting unknown keys; a custom
// UnmarshalJSON does not inherit its caller's DisallowUnknownFields.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonString is s as a JSON string without HTML escaping, as pdata writes it.
func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// asRaw is pcommon's Value.AsRaw: the plain Go value encoding/json renders.
// Later duplicates of a key win, as they do in pcommon's map conversion.
func (v anyValue) asRaw() any {
	switch v.kind {
	case abi.TagStr:
		return v.str
	case abi.TagBool:
		return v.num == 1
	case abi.TagInt:
		return int64(v.num)
	case abi.TagDouble:
		return math.Float64frombits(v.num)
	case abi.TagBytes:
		return v.raw
	case kindArray:
		out := make([]any, 0, len(v.arr))
		for _, e := range v.arr {
			out = append(out, e.asRaw())
		}
		return out
	case kindKVList:
		out := make(map[string]any, len(v.kvs))
		for _, kv := range v.kvs {
			out[kv.Key] = kv.Value.asRaw()
		}
		return out
	}
	return nil
}

// otherJSON renders a map or array value as pcommon's Value.AsString does:
// encoding/json of AsRaw without HTML escaping, so keys come sorted, ints
// as numbers and bytes as base64. Like pcommon it yields "" when the value
// holds a NaN or infinity, which encoding/json refuses.
func (v anyValue) otherJSON() string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v.asRaw())
	return strings.TrimRight(buf.String(), "\n")
}

// maxValueDepth is how deeply maps and arrays may nest in a value that
// crosses as JSON, as on the host: deeper, and the column is refused.
const maxValueDepth = 64

// nestedDeeper reports whether v holds maps and arrays more than levels
// deep.
func (v anyValue) nestedDeeper(levels int) bool {
	if v.kind != kindArray && v.kind != kindKVList {
		return false
	}
	if levels == 0 {
		return true
	}
	for _, c := range v.arr {
		if c.nestedDeeper(levels - 1) {
			return true
		}
	}
	for _, kv := range v.kvs {
		if kv.Value.nestedDeeper(levels - 1) {
			return true
		}
	}
	return false
}

// write writes v as one column value; maps and arrays as read-only JSON.
// It is false, having written an empty value, for maps and arrays nested
// deeper than maxValueDepth.
func (v anyValue) write(w *colWriter) bool {
	switch v.kind {
	case abi.TagStr:
		w.Str(v.str)
	case abi.TagInt:
		w.Int(int64(v.num))
	case abi.TagDouble:
		w.Double(math.Float64frombits(v.num))
	case abi.TagBool:
		w.Bool(v.num == 1)
	case abi.TagBytes:
		w.BytesValue(v.raw)
	case kindArray, kindKVList:
		if v.nestedDeeper(maxValueDepth) {
			w.Empty()
			return false
		}
		w.Other(v.otherJSON())
	default:
		w.Empty()
	}
	return true
}

// scalarValue turns a decoded edit operand into a value. ok is false for
// what an edit may not set: Empty, List and the read-only Other.
func scalarValue(s abi.Scalar) (anyValue, bool) {
	switch s.Tag {
	case abi.TagStr:
		return strValue(string(s.Raw)), true
	case abi.TagBytes:
		return anyValue{kind: abi.TagBytes, raw: bytes.Clone(s.Raw)}, true
	case abi.TagInt, abi.TagDouble, abi.TagBool:
		return anyValue{kind: s.Tag, num: s.Bits}, true
	}
	return anyValue{}, false
}

// The attribute operations mirror pcommon.Map so that the order FieldAttrs
// reports afterwards is the host's: a set replaces in place or appends, and
// a removal moves the last attribute into the hole.

func attrIndex(attrs []keyValue, key string) int {
	for i := range attrs {
		if attrs[i].Key == key {
			return i
		}
	}
	return -1
}

// dropLaterDuplicates leaves the first attribute named key, as the host
// does before it edits a key a client sent twice.
func dropLaterDuplicates(attrs *[]keyValue, key string) {
	a, seen := (*attrs)[:0], false
	for _, kv := range *attrs {
		if kv.Key == key {
			if seen {
				continue
			}
			seen = true
		}
		a = append(a, kv)
	}
	*attrs = a
}

func putAttr(attrs *[]keyValue, key string, v anyValue) {
	if i := attrIndex(*attrs, key); i >= 0 {
		(*attrs)[i].Value = v
		return
	}
	*attrs = append(*attrs, keyValue{Key: key, Value: v})
}

func removeAttr(attrs *[]keyValue, key string) {
	a := *attrs
	if i := attrIndex(a, key); i >= 0 {
		a[i] = a[len(a)-1]
		*attrs = a[:len(a)-1]
	}
}

func renameAttr(attrs *[]keyValue, old, new string) {
	i := attrIndex(*attrs, old)
	if i < 0 || old == new {
		return
	}
	putAttr(attrs, new, (*attrs)[i].Value)
	removeAttr(attrs, old)
}
