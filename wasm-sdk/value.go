// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"encoding/base64"
	"math"
	"strconv"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of Value. KindOther is a map or array attribute, readable as
// its JSON text with Str and never settable.
const (
	KindEmpty  Kind = abi.TagEmpty
	KindStr    Kind = abi.TagStr
	KindInt    Kind = abi.TagInt
	KindDouble Kind = abi.TagDouble
	KindBool   Kind = abi.TagBool
	KindBytes  Kind = abi.TagBytes
	KindOther  Kind = abi.TagOther
)

// Value is an attribute value or a typed field. The zero Value is empty: an
// absent attribute reads as the zero Value.
type Value struct {
	kind Kind
	s    string // Str, Bytes and Other
	n    uint64 // Int, Double and Bool bits
}

// Str makes a string Value.
func Str(s string) Value { return Value{kind: KindStr, s: s} }

// Int makes an integer Value.
func Int(v int64) Value { return Value{kind: KindInt, n: uint64(v)} }

// Double makes a floating-point Value.
func Double(v float64) Value { return Value{kind: KindDouble, n: math.Float64bits(v)} }

// Bool makes a boolean Value.
func Bool(v bool) Value {
	if v {
		return Value{kind: KindBool, n: 1}
	}
	return Value{kind: KindBool}
}

// Bytes makes a bytes Value. It copies b.
func Bytes(b []byte) Value { return Value{kind: KindBytes, s: string(b)} }

// Kind reports the Value's type.
func (v Value) Kind() Kind { return v.kind }

// IsEmpty reports whether the Value is absent.
func (v Value) IsEmpty() bool { return v.kind == KindEmpty }

// Str is the string of a KindStr or KindOther Value, else "". See AsString
// to render any kind.
func (v Value) Str() string {
	if v.kind == KindStr || v.kind == KindOther {
		return v.s
	}
	return ""
}

// Int is the integer of a KindInt Value, else 0.
func (v Value) Int() int64 {
	if v.kind == KindInt {
		return int64(v.n)
	}
	return 0
}

// Double is the number of a KindDouble Value, else 0.
func (v Value) Double() float64 {
	if v.kind == KindDouble {
		return math.Float64frombits(v.n)
	}
	return 0
}

// Bool is the boolean of a KindBool Value, else false.
func (v Value) Bool() bool { return v.kind == KindBool && v.n == 1 }

// Bytes is a copy of the bytes of a KindBytes Value, else nil.
func (v Value) Bytes() []byte {
	if v.kind == KindBytes {
		return []byte(v.s)
	}
	return nil
}

// AsString renders any Value as text the way the Collector's pcommon does:
// numbers in decimal, booleans as true or false, bytes in base64.
func (v Value) AsString() string {
	switch v.kind {
	case KindStr, KindOther:
		return v.s
	case KindInt:
		return strconv.FormatInt(int64(v.n), 10)
	case KindDouble:
		return strconv.FormatFloat(math.Float64frombits(v.n), 'g', -1, 64)
	case KindBool:
		return strconv.FormatBool(v.n == 1)
	case KindBytes:
		return base64.StdEncoding.EncodeToString(hostcall.Bytes(v.s))
	}
	return ""
}

// Equal reports whether two Values have the same kind and content.
func (v Value) Equal(o Value) bool { return v == o }

// appendValue encodes v for an edit list.
func appendValue(b []byte, v Value) []byte {
	switch v.kind {
	case KindStr:
		return abi.AppendStrValue(b, v.s)
	case KindInt:
		return abi.AppendIntValue(b, int64(v.n))
	case KindDouble:
		return abi.AppendDoubleValue(b, math.Float64frombits(v.n))
	case KindBool:
		return abi.AppendBoolValue(b, v.n == 1)
	case KindBytes:
		return abi.AppendBytesValue(b, hostcall.Bytes(v.s))
	case KindOther:
		return abi.AppendOtherValue(b, v.s) // the host rejects it: read only
	}
	return abi.AppendEmpty(b)
}
