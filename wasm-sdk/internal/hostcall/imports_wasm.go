// SPDX-License-Identifier: Apache-2.0

//go:build wasm

package hostcall

import "unsafe"

// Wasm is the real host, reached through the imports declared below.
type Wasm struct{}

//go:wasmimport wasmcol len
func hostLen(table int32) int32

//go:wasmimport wasmcol column
func hostColumn(table, field int32, key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport wasmcol read
func hostRead(dst unsafe.Pointer, n uint32) int32

//go:wasmimport wasmcol edit
func hostEdit(p unsafe.Pointer, n uint32) int32

//go:wasmimport wasmcol config
func hostConfig() int32

//go:wasmimport wasmcol filter_name
func hostFilterName() int32

//go:wasmimport wasmcol log
func hostLog(level int32, p unsafe.Pointer, n uint32) int32

//go:wasmimport wasmcol fail
func hostFail(p unsafe.Pointer, n uint32) int32

//go:wasmimport wasmcol otlp_get
func hostOTLPGet() int32

//go:wasmimport wasmcol otlp_set
func hostOTLPSet(p unsafe.Pointer, n uint32) int32

//go:wasmimport wasmcol kv_get
func hostKVGet(k unsafe.Pointer, kn uint32) int32

//go:wasmimport wasmcol kv_set
func hostKVSet(k unsafe.Pointer, kn uint32, v unsafe.Pointer, vn uint32) int32

//go:wasmimport wasmcol kv_cas
func hostKVCAS(k unsafe.Pointer, kn uint32, o unsafe.Pointer, on int32, n unsafe.Pointer, nn uint32) int32

//go:wasmimport wasmcol kv_delete
func hostKVDelete(k unsafe.Pointer, kn uint32) int32

//go:wasmimport wasmcol counter_add
func hostCounterAdd(name unsafe.Pointer, nn uint32, delta int64) int32

//go:wasmimport wasmcol select
func hostSelect(table, field int32, k unsafe.Pointer, kn uint32, match int32, l unsafe.Pointer, ln uint32, o unsafe.Pointer, on uint32) int32

//go:wasmimport wasmcol refine
func hostRefine(table, field int32, k unsafe.Pointer, kn uint32, match int32, l unsafe.Pointer, ln uint32, o unsafe.Pointer, on uint32) int32

//go:wasmimport wasmcol edit_where
func hostEditWhere(op unsafe.Pointer, opn uint32, sel unsafe.Pointer, seln uint32) int32

//go:wasmimport wasmcol copy_attr
func hostCopyAttr(table int32, f unsafe.Pointer, fn uint32, t unsafe.Pointer, tn uint32, sel unsafe.Pointer, seln uint32, flags uint32) int32

//go:wasmimport wasmcol group
func hostGroup(table, field int32, k unsafe.Pointer, kn uint32, sel unsafe.Pointer, seln uint32, out unsafe.Pointer, outn uint32) int32

func sptr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }
func bptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// result fetches the host's result buffer of n bytes into fresh memory.
func result(n int32) ([]byte, int32) {
	if n < 0 {
		return nil, n
	}
	buf := make([]byte, n)
	if n > 0 {
		if rc := hostRead(bptr(buf), uint32(n)); rc < 0 {
			return nil, rc
		}
	}
	return buf, 0
}

func (Wasm) Len(table int32) int32 { return hostLen(table) }

// Column reads the column into dst, growing it only when it is too small,
// so that a filter's columns cost no allocation once they have their size.
func (Wasm) Column(table, field int32, key string, dst []byte) ([]byte, int32) {
	n := hostColumn(table, field, sptr(key), uint32(len(key)))
	if n < 0 {
		return dst[:0], n
	}
	if int(n) > cap(dst) {
		dst = make([]byte, n, int(n)+int(n)/4) // room for the next batch to be a little larger
	}
	dst = dst[:n]
	if n > 0 {
		if rc := hostRead(bptr(dst), uint32(n)); rc < 0 {
			return dst[:0], rc
		}
	}
	return dst, 0
}

func (Wasm) Edit(ops []byte) int32 { return hostEdit(bptr(ops), uint32(len(ops))) }

func (Wasm) Config() []byte {
	b, _ := result(hostConfig())
	return b
}

func (Wasm) FilterName() string {
	b, _ := result(hostFilterName())
	return string(b)
}

func (Wasm) Log(level int32, msg string) { hostLog(level, sptr(msg), uint32(len(msg))) }

func (Wasm) Fail(msg string) { hostFail(sptr(msg), uint32(len(msg))) }

func (Wasm) OTLPGet() ([]byte, int32) { return result(hostOTLPGet()) }

func (Wasm) OTLPSet(p []byte) int32 { return hostOTLPSet(bptr(p), uint32(len(p))) }

func (Wasm) KVGet(key string) ([]byte, int32) {
	return result(hostKVGet(sptr(key), uint32(len(key))))
}

func (Wasm) KVSet(key string, v []byte) int32 {
	return hostKVSet(sptr(key), uint32(len(key)), bptr(v), uint32(len(v)))
}

func (Wasm) KVCAS(key string, old, new []byte) int32 {
	oldLen := int32(len(old))
	if old == nil {
		oldLen = -1 // "only if absent"
	}
	return hostKVCAS(sptr(key), uint32(len(key)), bptr(old), oldLen, bptr(new), uint32(len(new)))
}

func (Wasm) KVDelete(key string) int32 { return hostKVDelete(sptr(key), uint32(len(key))) }

func (Wasm) CounterAdd(name string, delta int64) int32 {
	return hostCounterAdd(sptr(name), uint32(len(name)), delta)
}

func (Wasm) Select(table, field int32, key string, match int32, list, out []byte) int32 {
	return hostSelect(table, field, sptr(key), uint32(len(key)), match, bptr(list), uint32(len(list)), bptr(out), uint32(len(out)))
}

func (Wasm) Refine(table, field int32, key string, match int32, list, sel []byte) int32 {
	return hostRefine(table, field, sptr(key), uint32(len(key)), match, bptr(list), uint32(len(list)), bptr(sel), uint32(len(sel)))
}

func (Wasm) EditWhere(op, sel []byte) int32 {
	return hostEditWhere(bptr(op), uint32(len(op)), bptr(sel), uint32(len(sel)))
}

func (Wasm) CopyAttr(table int32, from, to string, sel []byte, flags uint32) int32 {
	return hostCopyAttr(table, sptr(from), uint32(len(from)), sptr(to), uint32(len(to)), bptr(sel), uint32(len(sel)), flags)
}

// Group reads the values' column into dst. The call does not say how
// long the column is; read says how much it copied, so a read that fills
// dst is made again into a buffer twice the size.
func (Wasm) Group(table, field int32, key string, sel, out, dst []byte) ([]byte, int32) {
	k := hostGroup(table, field, sptr(key), uint32(len(key)), bptr(sel), uint32(len(sel)), bptr(out), uint32(len(out)))
	if k <= 0 {
		return dst[:0], k
	}
	dst = dst[:cap(dst)]
	if len(dst) < int(k)*32 {
		dst = make([]byte, int(k)*32)
	}
	for {
		n := hostRead(bptr(dst), uint32(len(dst)))
		if n < 0 {
			return dst[:0], n
		}
		if int(n) < len(dst) {
			return dst[:n], k
		}
		dst = make([]byte, 2*len(dst))
	}
}
