// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"encoding/binary"
	"errors"
)

// reader decodes the parts of the Wasm binary format the host needs. The
// first error sticks and ends the input.
type reader struct {
	b   []byte
	off int
	err error
}

var errShort = errors.New("unexpected end of data")

func (r *reader) done() bool { return r.off >= len(r.b) || r.err != nil }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.off = len(r.b)
}

func (r *reader) byte() byte {
	if r.off >= len(r.b) {
		r.fail(errShort)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || r.off+n > len(r.b) {
		r.fail(errShort)
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

// leb reads an unsigned or signed LEB128 of at most maxBytes; a signed
// one comes back with its sign bits as they were encoded.
func (r *reader) leb(maxBytes int) uint64 {
	var v uint64
	for i := 0; i < maxBytes; i++ {
		c := r.byte()
		if i < 10 {
			v |= uint64(c&0x7F) << (7 * i)
		}
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail(errors.New("LEB128 too long"))
	return 0
}

func (r *reader) u32() uint32 {
	v := r.leb(5)
	if v > 0xFFFFFFFF {
		r.fail(errors.New("u32 out of range"))
		return 0
	}
	return uint32(v)
}

func (r *reader) name() string { return string(r.nameBytes()) }

// nameBytes is name without a copy: the bytes are the module's own.
func (r *reader) nameBytes() []byte { return r.bytes(int(r.u32())) }

func appendU32(b []byte, v uint32) []byte { return binary.AppendUvarint(b, uint64(v)) }

// appendSLEB appends v as a signed LEB128.
func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendI32Const(b []byte, v int32) []byte { return appendSLEB(append(b, opI32Const), int64(v)) }

func appendName(b []byte, s string) []byte { return append(appendU32(b, uint32(len(s))), s...) }

// sectionSize is the size of the section id of module bin, a valid
// module, or 0 if it has none.
func sectionSize(bin []byte, id byte) int {
	r := reader{b: bin, off: 8} // past the magic number and the version
	for !r.done() {
		sec := r.byte()
		body := r.bytes(int(r.u32()))
		if sec == id && r.err == nil {
			return len(body)
		}
	}
	return 0
}

// startNs is what instantiating the valid module bin is reckoned to cost,
// the steps wazero takes in Go and no check splits: a function reference
// for each element entry, 100-600 ns each measured, reckoned at 500 ns a
// byte of the element section (an entry takes one or more); each table's
// minimum, 8 bytes an entry allocated and zeroed; and the data segments
// copied into memory, bounded by the data section's size. The memory
// parts at freshNsPerByte. The built-in bundle reckons at about 8.4 ms
// (4,912 bytes of elements, 1.5 MB of data), a small part of its start.
func startNs(bin []byte) int64 {
	const elemNsPerByte = 500
	ns := int64(sectionSize(bin, secElement)) * elemNsPerByte
	ns += int64(sectionSize(bin, secData)) * freshNsPerByte
	r := reader{b: bin, off: 8}
	for !r.done() {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if id != secTable || r.err != nil {
			continue
		}
		t := reader{b: body}
		for n := t.u32(); n > 0 && t.err == nil; n-- {
			t.byte() // the reference type
			limits := t.byte()
			ns += 8 * int64(t.u32()) * freshNsPerByte
			if limits&1 != 0 {
				t.u32() // the maximum
			}
		}
	}
	return ns
}
