// SPDX-License-Identifier: Apache-2.0

package sdktest

import "github.com/wasmcol/wasmcol/wasm-sdk/abi"

// colWriter appends one column: one value per item, in the ABI's column
// encoding (abi/wire.go). Every column the emulator serves goes through
// it, so the encoding is decided here alone.
type colWriter struct{ buf []byte }

func newColWriter(dst []byte, n int) *colWriter { return &colWriter{buf: dst} }

func (w *colWriter) Bytes() []byte       { return w.buf }
func (w *colWriter) Empty()              { w.buf = abi.AppendEmpty(w.buf) }
func (w *colWriter) Str(s string)        { w.buf = abi.AppendStrValue(w.buf, s) }
func (w *colWriter) BytesValue(b []byte) { w.buf = abi.AppendBytesValue(w.buf, b) }
func (w *colWriter) Other(json string)   { w.buf = abi.AppendOtherValue(w.buf, json) }
func (w *colWriter) Int(v int64)         { w.buf = abi.AppendIntValue(w.buf, v) }
func (w *colWriter) Double(v float64)    { w.buf = abi.AppendDoubleValue(w.buf, v) }
func (w *colWriter) Bool(v bool)         { w.buf = abi.AppendBoolValue(w.buf, v) }
func (w *colWriter) Key(k string)        { w.buf = abi.AppendStr(w.buf, k) }
func (w *colWriter) List(count int)      { w.buf = abi.AppendU32(append(w.buf, abi.TagList), uint32(count)) }
