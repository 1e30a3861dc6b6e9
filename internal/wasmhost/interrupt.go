// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// InterruptGlobal is the export name of the global that instrument adds.
const InterruptGlobal = "wasmcol_interrupt"

// instrument rewrites a module so that the host can stop it at any time
// and so that it never keeps the Go runtime from stopping the world. It adds
// two mutable i32 globals, $interrupt (exported as InterruptGlobal) and
// $fuel, and at the head of every loop inserts
//
//	global.get $fuel, i32.const 1, i32.sub, global.set $fuel
//	global.get $fuel, i32.eqz
//	if
//	  i32.const yieldEvery, global.set $fuel
//	  i32.const 0, memory.grow, drop     ;; a no-op that returns into Go
//	  global.get $interrupt
//	  if unreachable end
//	end
//
// Compiled Wasm has no Go safepoints: a guest that loops without calling
// the host would block every stop-the-world, and with it the timer meant to
// stop the guest. wazero's own answer (WithCloseOnContextDone) returns into
// Go at every loop iteration, and since a Go guest enters a loop in every
// function prologue, that made Go guests 30 to 40 times slower. Here the
// guest returns into Go (memory.grow is served by Go code) once every
// yieldEvery iterations, a few microseconds apart, and otherwise pays a
// counter decrement. The deadline timer sets $interrupt to 1, and the guest
// traps at its next yield. Straight-line code needs no check, and unbounded
// recursion ends in a stack-overflow trap.
func instrument(bin []byte) ([]byte, error) {
	if len(bin) < 8 || !bytes.Equal(bin[:8], []byte("\x00asm\x01\x00\x00\x00")) {
		return nil, errors.New("not a WebAssembly binary (bad magic or version)")
	}
	type section struct {
		id   byte
		body []byte
	}
	var secs []section
	r := reader{b: bin, off: 8}
	for !r.done() {
		id := r.byte()
		n := r.u32()
		body := r.bytes(int(n))
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		secs = append(secs, section{id, body})
	}
	importedGlobals, globals, memories := 0, 0, 0
	for _, s := range secs {
		var err error
		switch s.id {
		case secImport:
			var importedMems int
			importedGlobals, importedMems, err = countImports(s.body)
			memories += importedMems
		case secMemory:
			var n int
			n, err = vecCount(s.body)
			memories += n
		case secGlobal:
			globals, err = vecCount(s.body)
		case secExport:
			err = checkExportFree(s.body, InterruptGlobal)
		}
		if err != nil {
			return nil, err
		}
	}
	interrupt, fuel := uint32(importedGlobals+globals), uint32(importedGlobals+globals+1)
	check := appendU32([]byte{opGlobalGet}, fuel)
	check = append(check, opI32Const, 1, opI32Sub, opGlobalSet)
	check = appendU32(check, fuel)
	check = appendU32(append(check, opGlobalGet), fuel)
	check = append(check, opI32Eqz, opIf, blockEmpty)
	check = appendI32Const(check, yieldEvery)
	check = appendU32(append(check, opGlobalSet), fuel)
	check = append(check, opI32Const, 0, opMemoryGrow, 0, opDrop)
	check = appendU32(append(check, opGlobalGet), interrupt)
	check = append(check, opIf, blockEmpty, opUnreachable, opEnd, opEnd)

	newGlobals := []byte{0x7F, 0x01, opI32Const, 0x00, opEnd} // (mut i32) $interrupt = 0
	newGlobals = append(newGlobals, 0x7F, 0x01)               // (mut i32) $fuel = yieldEvery
	newGlobals = append(appendI32Const(newGlobals, yieldEvery), opEnd)
	newExport := appendName(nil, InterruptGlobal)
	newExport = appendU32(append(newExport, 0x03), interrupt) // kind: global
	newMemory := []byte{0x00, 0x00}                           // a memory of 0 pages for memory.grow

	out := append([]byte(nil), bin[:8]...)
	addedGlobal, addedExport := false, false
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	for _, s := range secs {
		// Sections appear in a fixed order; new ones go where they belong.
		if memories == 0 && orderOf(s.id) > orderOf(secMemory) {
			emit(secMemory, appendToVec(nil, newMemory, 1))
			memories = 1
		}
		if !addedGlobal && orderOf(s.id) > orderOf(secGlobal) {
			emit(secGlobal, appendToVec(nil, newGlobals, 2))
			addedGlobal = true
		}
		if !addedExport && orderOf(s.id) > orderOf(secExport) {
			addedExport = true
		}
		switch s.id {
		case secGlobal:
			emit(s.id, appendToVec(s.body, newGlobals, 2))
			addedGlobal = true
		case secExport:
			emit(s.id, appendToVec(s.body, newExport, 1))
			addedExport = true
		case secCode:
			body, err := instrumentCode(s.body, check)
			if err != nil {
				return nil, err
			}
			emit(s.id, body)
		default:
			emit(s.id, s.body)
		}
	}
	if memories == 0 {
		emit(secMemory, appendToVec(nil, newMemory, 1))
	}
	if !addedGlobal {
		emit(secGlobal, appendToVec(nil, newGlobals, 2))
	}
	if !addedExport {
		emit(secExport, appendToVec(nil, newExport, 1))
	}
	return out, nil
}

const (
	secCustom = 0
	secImport = 2
	secMemory = 5
	secGlobal = 6
	secExport = 7
	secCode   = 10

	opUnreachable = 0x00
	opLoop        = 0x03
	opIf          = 0x04
	opEnd         = 0x0B
	opDrop        = 0x1A
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opI32Eqz      = 0x45
	opI32Sub      = 0x6B
	blockEmpty    = 0x40

	// yieldEvery is how many loop iterations a guest runs between returns
	// into Go: about 10 to 30 microseconds of work.
	yieldEvery = 10000
)

// sectionOrder is each known section's place in the required order; the
// tag (13) and data count (12) sections sit between their neighbours.
var sectionOrder = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

// orderOf is a section's place; custom sections may sit anywhere, so they
// never decide where a new section goes.
func orderOf(id byte) int {
	if id == secCustom {
		return -1
	}
	if o, ok := sectionOrder[id]; ok {
		return o
	}
	return 99
}

// appendToVec appends items, already encoded, to a vector section body.
func appendToVec(vec []byte, items []byte, count int) []byte {
	n, rest := 0, []byte(nil)
	if len(vec) > 0 {
		r := reader{b: vec}
		n = int(r.u32())
		rest = vec[r.off:]
	}
	out := appendU32(nil, uint32(n+count))
	out = append(out, rest...)
	return append(out, items...)
}

func vecCount(vec []byte) (int, error) {
	r := reader{b: vec}
	n := r.u32()
	return int(n), r.err
}

func countImports(body []byte) (globals, memories int, err error) {
	r := reader{b: body}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function: type index
			r.u32()
		case 0x01: // table: reftype, limits
			r.byte()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
			memories++
		case 0x03: // global: valtype, mutability
			r.byte()
			r.byte()
			globals++
		case 0x04: // tag: attribute, type index
			r.byte()
			r.u32()
		default:
			return 0, 0, fmt.Errorf("import %d: unknown kind %d", i, kind)
		}
	}
	if r.err != nil {
		return 0, 0, fmt.Errorf("import section: %w", r.err)
	}
	return globals, memories, nil
}

func checkExportFree(body []byte, name string) error {
	r := reader{b: body}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		if r.name() == name {
			return fmt.Errorf("the module already exports %q, a name the host reserves", name)
		}
		r.byte()
		r.u32()
	}
	if r.err != nil {
		return fmt.Errorf("export section: %w", r.err)
	}
	return nil
}

// instrumentCode inserts check after every loop header of every function.
func instrumentCode(body []byte, check []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := appendU32(nil, n)
	var fn []byte
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("code section: function %d: %w", i, r.err)
		}
		var err error
		fn, err = instrumentFunc(fn[:0], code, check)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if !r.done() {
		return nil, errors.New("code section: trailing bytes")
	}
	return out, nil
}

func instrumentFunc(out, code, check []byte) ([]byte, error) {
	r := reader{b: code}
	groups := r.u32()
	for i := uint32(0); i < groups && r.err == nil; i++ {
		r.u32()
		r.valtype()
	}
	if r.err != nil {
		return nil, fmt.Errorf("locals: %w", r.err)
	}
	copied := 0
	for !r.done() && r.err == nil {
		op := r.byte()
		if err := r.immediates(op); err != nil {
			return nil, err
		}
		if op == opLoop {
			out = append(out, code[copied:r.off]...)
			out = append(out, check...)
			copied = r.off
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return append(out, code[copied:]...), nil
}

// reader decodes the parts of the binary format instrument needs.
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

// leb skips or reads an unsigned or signed LEB128 of at most maxBytes.
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

func (r *reader) u32() uint32 { return uint32(r.leb(5)) }

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func (r *reader) limits() {
	flags := r.byte()
	width := 5
	if flags&0x04 != 0 { // memory64
		width = 10
	}
	r.leb(width)
	if flags&0x01 != 0 {
		r.leb(width)
	}
}

func (r *reader) valtype() {
	switch t := r.byte(); t {
	case 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F:
	case 0x63, 0x64: // (ref null? heaptype)
		r.leb(5)
	default:
		r.fail(fmt.Errorf("unknown value type 0x%02x", t))
	}
}

func (r *reader) blocktype() {
	if r.off >= len(r.b) {
		r.fail(errShort)
		return
	}
	switch c := r.b[r.off]; c {
	case 0x40, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F:
		r.off++
	case 0x63, 0x64:
		r.off++
		r.leb(5)
	default:
		r.leb(5) // s33 type index
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: a memory index follows
		r.u32()
	}
	r.leb(10)
}

// immediates skips the immediates of op. Opcodes the host does not know
// are rejected: skipping them wrongly could miss a loop.
func (r *reader) immediates(op byte) error {
	switch {
	case op <= 0x01, op == 0x05, op == 0x0A, op == 0x0B, op == 0x0F, op == 0x19,
		op == 0x1A, op == 0x1B, op >= 0x45 && op <= 0xC4, op == 0xD1, op == 0xD3, op == 0xD4:
		// no immediates
	case op >= 0x02 && op <= 0x04, op == 0x06:
		r.blocktype()
	case op >= 0x07 && op <= 0x09, op == 0x0C, op == 0x0D, op == 0x10, op == 0x12, op == 0x14, op == 0x15,
		op == 0x18, op >= 0x20 && op <= 0x26, op == 0xD2, op == 0xD5, op == 0xD6:
		r.u32()
	case op == 0x0E: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x11, op == 0x13: // call_indirect: type, table
		r.u32()
		r.u32()
	case op == 0x1C: // typed select
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.valtype()
		}
	case op == 0x1F: // try_table
		r.blocktype()
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			if kind := r.byte(); kind <= 1 {
				r.u32() // tag
			}
			r.u32() // label
		}
	case op >= 0x28 && op <= 0x3E:
		r.memarg()
	case op == 0x3F, op == 0x40:
		r.u32()
	case op == 0x41:
		r.leb(5)
	case op == 0x42:
		r.leb(10)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xD0: // ref.null heaptype
		r.blocktype()
	case op == 0xFC:
		return r.prefixFC()
	case op == 0xFD:
		return r.prefixFD()
	case op == 0xFE:
		if sub := r.u32(); sub == 0x03 {
			r.byte() // atomic.fence
		} else {
			r.memarg()
		}
	default:
		return fmt.Errorf("opcode 0x%02x is not supported by the host's timeout instrumentation", op)
	}
	return r.err
}

func (r *reader) prefixFC() error {
	switch sub := r.u32(); {
	case sub <= 7:
	case sub == 8: // memory.init data, mem
		r.u32()
		r.u32()
	case sub == 9, sub == 13, sub >= 15 && sub <= 17:
		r.u32()
	case sub == 10, sub == 12, sub == 14: // memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 11: // memory.fill
		r.u32()
	default:
		return fmt.Errorf("opcode 0xfc %d is not supported by the host's timeout instrumentation", sub)
	}
	return r.err
}

func (r *reader) prefixFD() error {
	switch sub := r.u32(); {
	case sub <= 11, sub == 92, sub == 93:
		r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract and replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load and store lane
		r.memarg()
		r.byte()
	default: // every other SIMD instruction has no immediates
	}
	return r.err
}

func appendU32(b []byte, v uint32) []byte { return binary.AppendUvarint(b, uint64(v)) }

func appendI32Const(b []byte, v int32) []byte {
	b = append(b, opI32Const)
	for { // signed LEB128
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte { return append(appendU32(b, uint32(len(s))), s...) }
