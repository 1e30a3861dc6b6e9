// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// Some hostile modules are generated as bytes rather than written in WAT:
// wat2wasm resolves and re-encodes what an attack needs left raw (a block
// type index past the module's types), and the module-shape bombs hold
// millions of entries that would be megabytes of text. Each follows the
// protocol of the WAT ones: a batch of one or two spans gets
// sandbox.ok=true on its first span, three or more spans run the attack.

func uleb(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func wname(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

// funcBody is one entry of the code section: its size, then body.
func funcBody(b []byte, body []byte) []byte { return append(uleb(b, uint64(len(body))), body...) }

// section appends section id holding count entries.
func section(out []byte, id byte, count int, entries []byte) []byte {
	body := append(uleb(nil, uint64(count)), entries...)
	out = append(out, id)
	out = uleb(out, uint64(len(body)))
	return append(out, body...)
}

const (
	i32 = 0x7F
	i64 = 0x7E
)

// The module abiModule writes has types 0 () -> i32, 1 (i32) -> i32,
// 2 (i32 i32) -> i32 and 3 () -> (), then the caller's; it imports
// wasmcol.len (function 0) and wasmcol.edit (1); functions 2 to 5 are
// the ABI exports, the caller's follow from 6.
const (
	typeAttack    = 3
	firstExtraTyp = 4
	firstExtraFn  = 6
)

// abiParts are what a generated module adds to the ABI skeleton.
type abiParts struct {
	types     []byte // extra type entries, from type 4
	nTypes    int
	funcTypes []int  // type of each extra function
	bodies    []byte // their code entries
	globals   []byte // global section entries
	nGlobals  int
	// attack is the function wasmcol_process calls on an attack batch,
	// of type 3; process, when set, replaces wasmcol_process's body.
	attack  int
	process []byte
}

func abiModule(p abiParts) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	types := []byte{0x60, 0, 1, i32, 0x60, 1, i32, 1, i32, 0x60, 2, i32, i32, 1, i32, 0x60, 0, 0}
	out = section(out, 1, firstExtraTyp+p.nTypes, append(types, p.types...))
	var imports []byte
	imports = append(wname(wname(imports, "wasmcol"), "len"), 0, 1)
	imports = append(wname(wname(imports, "wasmcol"), "edit"), 0, 2)
	out = section(out, 2, 2, imports)
	funcs := []byte{0, 0, 0, 1}
	for _, t := range p.funcTypes {
		funcs = uleb(funcs, uint64(t))
	}
	out = section(out, 3, 4+len(p.funcTypes), funcs)
	out = section(out, 5, 1, []byte{0, 1}) // memory of one page
	if p.nGlobals > 0 {
		out = section(out, 6, p.nGlobals, p.globals)
	}
	var exports []byte
	exports = append(wname(exports, "memory"), 2, 0)
	for i, n := range []string{"wasmcol_abi_version", "wasmcol_signals", "wasmcol_init", "wasmcol_process"} {
		exports = append(wname(exports, n), 0, byte(2+i))
	}
	out = section(out, 7, 5, exports)
	process := p.process
	if process == nil {
		process = []byte{0,
			0x41, 3, 0x10, 0, 0x41, 3, 0x4F, // len(TableSpan) >= 3
			0x04, 0x40, 0x10} // if: call attack
		process = append(uleb(process, uint64(p.attack)), 0x0B,
			0x41, 0, 0x41, 22, 0x10, 1, 0x1A, // drop(edit(0, 22))
			0x41, 0, 0x0B)
	}
	var code []byte
	code = funcBody(code, []byte{0, 0x41, 1, 0x0B}) // ABI v1
	code = funcBody(code, []byte{0, 0x41, 1, 0x0B}) // traces
	code = funcBody(code, []byte{0, 0x41, 0, 0x0B}) // init succeeds
	code = funcBody(code, process)
	out = section(out, 10, 4+len(p.funcTypes), append(code, p.bodies...))
	// The edit that marks a processed batch: OpSetAttr on span 0,
	// "sandbox.ok" = true.
	marker := append([]byte{0, 0x41, 0, 0x0B, 22}, "\x01\x03\x00\x00\x00\x00\x0a\x00\x00\x00sandbox.ok\x04\x01"...)
	return section(out, 11, 1, marker)
}

// writeModule writes bin to a temporary file and returns its path.
func writeModule(tb testing.TB, name string, bin []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name+".wasm")
	if err := os.WriteFile(path, bin, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// blockTypePastEnd's wasmcol_process opens a block of type 9 in a module
// with four types: the index names nothing the module declares, only
// what a rewriter may append.
func blockTypePastEnd() []byte {
	return abiModule(abiParts{process: []byte{0,
		0x02, 9, 0x41, 0, 0x0B, // block (type 9) i32.const 0 end
		0x1A, 0x41, 0, 0x0B}}) // drop, i32.const 0, end
}

// localsPastLimit's wasmcol_process declares 50,000 locals besides its
// parameter, one more than the host accepts.
func localsPastLimit() []byte {
	body := uleb([]byte{1}, 50_000)
	body = append(body, i64, 0x41, 0, 0x0B)
	return abiModule(abiParts{process: body})
}

// hugeFrames's attack recurses without end through a function with
// 49,999 locals besides its parameter, the most the host accepts, so that
// every frame is as large as the host allows.
func hugeFrames() []byte {
	rec := firstExtraFn + 1
	attack := []byte{0, 0x41, 0, 0x10, byte(rec), 0x1A, 0x0B} // drop(rec(0))
	body := uleb([]byte{1}, 49_999)
	body = append(body, i64,
		0x20, 0, 0x41, 1, 0x6A, // local.get 0, i32.const 1, i32.add
		0x10, byte(rec), // call rec
		0x41, 1, 0x6A, 0x0B) // i32.const 1, i32.add, end
	return abiModule(abiParts{funcTypes: []int{typeAttack, 1}, bodies: funcBody(funcBody(nil, attack), body),
		attack: firstExtraFn})
}

// typeBomb has nTypes types and nFuncs functions returning two values.
// Rewriting a function with more than one result needs a block type for
// its results; one looked up by a scan of every type per function costs
// nTypes*nFuncs. The bodies are not even valid: the cost comes before
// validation.
func typeBomb(nTypes, nFuncs int) []byte {
	types := []byte{0x60, 1, i32, 2, i32, i32} // type 4: (i32) -> (i32 i32)
	for i := 1; i < nTypes; i++ {
		types = append(types, 0x60, 0, 0) // () -> ()
	}
	funcTypes := make([]int, nFuncs)
	var bodies []byte
	for i := range funcTypes {
		funcTypes[i] = firstExtraTyp
		bodies = funcBody(bodies, []byte{0, 0x0B})
	}
	return abiModule(abiParts{types: types, nTypes: nTypes, funcTypes: funcTypes, bodies: bodies,
		process: []byte{0, 0x41, 0, 0x0B}})
}

// globalBomb declares n mutable i64 globals, five bytes each in the
// module: every instance gets its own copy of each, outside linear memory.
func globalBomb(n int) []byte {
	globals := make([]byte, 0, 5*n)
	for i := 0; i < n; i++ {
		globals = append(globals, i64, 1, 0x42, 0, 0x0B) // (mut i64) (i64.const 0)
	}
	attack := []byte{0, 0x03, 0x40, 0x0C, 0, 0x0B, 0x0B} // loop br 0 end: spin
	return abiModule(abiParts{globals: globals, nGlobals: n, funcTypes: []int{typeAttack},
		bodies: funcBody(nil, attack), attack: firstExtraFn})
}

// funcBomb has n small functions, each calling the next, so that none is
// a leaf a compiler could drop; the attack enters the ring and never
// leaves (a timeout).
func funcBomb(n int) []byte {
	funcTypes := make([]int, n)
	var bodies []byte
	for i := range funcTypes {
		funcTypes[i] = typeAttack
		bodies = funcBody(bodies, append(uleb([]byte{0, 0x10}, uint64(firstExtraFn+(i+1)%n)), 0x0B))
	}
	return abiModule(abiParts{funcTypes: funcTypes, bodies: bodies, attack: firstExtraFn})
}

// localsBomb has n functions that each declare 49,999 i64 locals besides
// their parameter and read the last: a compiler that sets up every local
// of every function pays n*50,000, from a module of 15 bytes a function.
// The attack calls one and traps.
func localsBomb(n int) []byte {
	funcTypes := make([]int, n)
	var bodies []byte
	for i := range funcTypes {
		funcTypes[i] = 1
		body := uleb([]byte{1}, 49_999)
		body = append(body, i64, 0x20)
		body = append(uleb(body, 49_999), 0x1A, 0x20, 0, 0x0B) // drop the last local, return the parameter
		bodies = funcBody(bodies, body)
	}
	attack := []byte{0, 0x41, 0, 0x10, firstExtraFn + 1, 0x1A, 0x00, 0x0B} // drop(f(0)), unreachable
	return abiModule(abiParts{funcTypes: append([]int{typeAttack}, funcTypes...),
		bodies: append(funcBody(nil, attack), bodies...), attack: firstExtraFn})
}

// nestedLoopsBomb has nFuncs functions, each of depth empty loops nested
// inside one another: cheap to write, quadratic for wazero to compile
// once every loop header holds the rewrite's check.
func nestedLoopsBomb(nFuncs, depth int) []byte {
	funcTypes := make([]int, nFuncs)
	var bodies []byte
	for i := range funcTypes {
		funcTypes[i] = typeAttack
		body := []byte{0}
		for range depth {
			body = append(body, 0x03, 0x40)
		}
		for range depth {
			body = append(body, 0x0B)
		}
		bodies = funcBody(bodies, append(body, 0x0B))
	}
	return abiModule(abiParts{funcTypes: funcTypes, bodies: bodies, attack: firstExtraFn})
}
