// SPDX-License-Identifier: Apache-2.0

// Package hostcall is the seam between the SDK and whatever serves the ABI:
// the real host through //go:wasmimport when built for Wasm, or sdktest's
// emulator under plain go test. It is internal so that the SDK's public API
// carries no pointers, unsafe code or ABI plumbing.
package hostcall

import "unsafe"

// Host is the guest's view of the ABI's host functions (see ../../ABI.md).
// Negative int32 results are abi.Err* codes. Column writes into dst's
// memory when it is large enough and returns the slice it wrote; OTLPGet
// and KVGet return a fresh buffer that the caller owns; Edit, OTLPSet and
// KVSet copy their input.
type Host interface {
	Len(table int32) int32
	Column(table, field int32, key string, dst []byte) ([]byte, int32)
	Edit(ops []byte) int32
	Config() []byte
	// FilterName is the name of the filter the host asks this instance
	// to run, "" when it names none.
	FilterName() string
	Log(level int32, msg string)
	Fail(msg string)
	OTLPGet() ([]byte, int32)
	OTLPSet(payload []byte) int32
	KVGet(key string) ([]byte, int32)
	KVSet(key string, value []byte) int32
	// KVCAS swaps old for new; a nil old means "only if absent".
	// It returns 1 when swapped, 0 when not, or an error code.
	KVCAS(key string, old, new []byte) int32
	KVDelete(key string) int32
	CounterAdd(name string, delta int64) int32
	// Select tests field (key for FieldAttr) of every item of table with
	// match and the encoded list of values, writes the bitmap into out and
	// returns how many matched. key and list, here and in Refine, are the
	// SDK's scratch memory: valid during the call only.
	Select(table, field int32, key string, match int32, list, out []byte) int32
	// Refine tests the items set in sel as Select would, clears those
	// that fail and returns how many are left.
	Refine(table, field int32, key string, match int32, list, sel []byte) int32
	// EditWhere stages the edit op for every item set in sel.
	EditWhere(op, sel []byte) int32
	// CopyAttr stages SetAttr(to, value of from) for every item set in sel.
	CopyAttr(table int32, from, to string, sel []byte, flags uint32) int32
	// Group files the items set in sel by the value of field (key for
	// FieldAttr) into the bitmaps of out, len(sel) bytes each, clears the
	// items grouped from sel, and returns the groups' values as a column
	// read into dst (grown only when too small), with how many groups.
	Group(table, field int32, key string, sel, out, dst []byte) ([]byte, int32)
}

// The SDK package sets these in its init so that sdktest can drive a filter
// without the SDK exporting any plumbing.
var (
	// Init runs filter's Init, if it has one, against h.
	Init func(h Host, filter any) error
	// Process runs filter on one batch of signal served by h.
	Process func(h Host, signal int32, filter any) error
	// Signals reports the abi.Signal* bit set that filter implements.
	Signals func(filter any) int32
	// Choose returns the registered filter that h names, as the module's
	// exports pick it, or why there is none.
	Choose func(h Host) (any, error)
)

// String views b as a string without copying. The SDK uses it on column
// buffers, which it reuses batch after batch: such a string is valid until
// the filter returns, and a filter that keeps one must copy it
// (strings.Clone).
func String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Bytes views s as bytes without copying. The result must not be modified.
func Bytes(s string) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// Words views a bitmap of 64-bit words as its bytes, in the ABI's order on
// a little-endian machine (Wasm always is; so are the emulator's hosts).
func Words(w []uint64) []byte {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w)*8)
}

// Same reports whether a and b are the same string in memory, not just
// equal: a cheap first check before comparing bytes.
func Same(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}
