// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// liveAcrossBlocks: k values left on the operand stack, then n blocks of
// one conditional branch each, then the values dropped. No branch
// carries them, but they are live into every block.
func liveAcrossBlocks(k, n int) []byte {
	return oneFuncModule(nil, liveAcrossBlocksBody(k, n), 0)
}

func liveAcrossBlocksBody(k, n int) []byte {
	b := []byte{1, 1, 0x7F} // (local i32)
	for i := range k {
		b = binary.AppendUvarint(append(b, 0x20, 0, 0x41), uint64(i)) // distinct values
		b = append(b, 0x6A)                                           // local.get 0, i32.const, i32.add
	}
	for range n {
		b = append(b, 0x02, 0x40, 0x20, 0, 0x0D, 0, 0x0B) // block; local.get 0; br_if 0; end
	}
	for range k {
		b = append(b, 0x1A)
	}
	return append(b, 0x0B)
}

// funcsModule is a module of n functions () -> (), each with body.
func funcsModule(body []byte, n int) []byte { return funcsModuleOf([]byte{0x60, 0, 0}, body, n) }

// funcsModuleOf is a module of n functions of type typ, each with body.
func funcsModuleOf(typ, body []byte, n int) []byte {
	u := binary.AppendUvarint
	sec := func(out []byte, id byte, payload []byte) []byte {
		return append(u(append(out, id), uint64(len(payload))), payload...)
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = sec(out, 1, append([]byte{1}, typ...))
	out = sec(out, 3, append(u(nil, uint64(n)), make([]byte, n)...))
	code := u(nil, uint64(n))
	for range n {
		code = append(u(code, uint64(len(body))), body...)
	}
	return sec(out, 10, code)
}

// scanOnly scans bin as instrument does, and returns what it learnt.
func scanOnly(bin []byte) (*modInfo, error) {
	m, _, err := scanModule(bin, testLimits, false)
	return m, err
}

// predsBomb: a br_table of n labels, every one to the same block.
func predsBomb(n int) []byte {
	b := binary.AppendUvarint([]byte{0, 0x02, 0x40, 0x41, 0, 0x0E}, uint64(n))
	for range n + 1 {
		b = append(b, 0)
	}
	return oneFuncModule(nil, append(b, 0x0B, 0x0B), 0)
}

// liveBrTable: k values live under a br_table of n labels, each label a
// block of its own in wazero.
func liveBrTable(k, n int) []byte {
	b := []byte{1, 1, 0x7F, 0x02, 0x40}
	for range k {
		b = append(b, 0x20, 0)
	}
	b = binary.AppendUvarint(append(b, 0x41, 0, 0x0E), uint64(n))
	for range n + 1 {
		b = append(b, 0)
	}
	return oneFuncModule(nil, append(b, 0x0B, 0x0B), 0)
}

// shape is a module requireShapes expects refused with an error
// containing refused, or, refused empty, accepted and compiled quickly.
type shape struct {
	name    string
	bin     []byte
	refused string
}

func requireShapes(t *testing.T, shapes []shape) {
	for _, tc := range shapes {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			requireRefusedOrQuick(t, tc.bin, tc.refused)
			t.Logf("%d bytes, %v", len(tc.bin), time.Since(began))
		})
	}
}

// The compile costs an attack round found the merge and loop bounds blind
// to (flowcost.go), on the rewrite's side: past the bounds the modules are
// refused before wazero sees them, and below them the same shapes compile
// quickly. Unbounded, 4,000 values under 4,000 blocks (56 KB) took 5 s
// and 667 MiB to compile, 8,000 under 8,000 2.3 GiB, 2,000 under a
// br_table of 200,000 labels 5.4 GiB, and 400,000 labels to one block
// 33 s.
func TestMeterRefusesFlowBombs(t *testing.T) {
	requireShapes(t, []shape{
		{"4,000 values live across 4,000 blocks", liveAcrossBlocks(4000, 4000), "values live on the operand stack"},
		{"2,000 values live under a br_table of 200,000 labels", liveBrTable(2000, 200_000), "values live on the operand stack"},
		{"a br_table of 400,000 labels to one block", predsBomb(400_000), "branches into the same block"},
		{"1,000 values live across 1,000 blocks", liveAcrossBlocks(1000, 1000), ""},
		{"a br_table of 20,000 labels to one block", predsBomb(20_000), ""},
	})
}

// Functions each under the bounds are refused together past the
// module's: wazero compiles them one after the other, so their time adds
// up. Each of these has about 2×1,000×1,000 units, just under
// maxLiveWork; five are past maxModuleLiveWork.
func TestMeterRefusesFlowBombsInAllFunctions(t *testing.T) {
	body := liveAcrossBlocksBody(1000, 1000)
	_, err := instrument(funcsModule(body, 4), testLimits)
	require.NoError(t, err)
	_, err = instrument(funcsModule(body, 5), testLimits)
	require.ErrorContains(t, err, "in all functions")
}

// Real modules are far within both bounds: the committed built-in
// bundle (Go compiled to Wasm), and whatever guests `make wasm` has built
// (the examples, the processor's test guests).
func TestFlowCostOfRealModules(t *testing.T) {
	gz, err := os.ReadFile("../../processors/wasmprocessor/builtin/builtins.wasm.gz")
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	require.NoError(t, err)
	bundle, err := io.ReadAll(zr)
	require.NoError(t, err)
	mods := map[string][]byte{"builtins.wasm.gz": bundle}
	built, err := filepath.Glob("../../examples/*/*.wasm")
	require.NoError(t, err)
	guests, err := filepath.Glob("../../processors/wasmprocessor/testdata/guests/*/*.wasm")
	require.NoError(t, err)
	for _, p := range append(built, guests...) {
		bin, err := os.ReadFile(p)
		require.NoError(t, err)
		mods[p] = bin
	}
	for name, bin := range mods {
		m, err := scanOnly(bin)
		require.NoError(t, err, name)
		t.Logf("%s: live %d (function at most %d), preds %d (at most %d), blocks at most %d, block work %d, weight %d MiB (function at most %d MiB)",
			filepath.Base(name), m.liveWork, m.maxLive, m.predWork, m.maxPreds, m.maxBlocks, m.blockWork, m.weight>>20, m.maxWeight>>20)
		require.Less(t, m.maxLive, maxLiveWork/16, name)
		require.Less(t, m.liveWork, maxModuleLiveWork/16, name)
		require.Less(t, m.maxPreds, maxPredWork/16, name)
		require.Less(t, m.predWork, maxModulePredWork/16, name)
		require.Less(t, m.maxBlocks, maxBlocks/4, name)
		require.Less(t, m.blockWork, maxModuleBlockWork/4, name)
		// The bundle's largest function weighs 65 MiB since the weights
		// were raised for live results (the seventh round); its real
		// compile takes about as much, so the bound cannot go up for a
		// wider margin without letting an attacker's function take more.
		require.Less(t, m.maxWeight, maxWeight/3, name)
		require.Less(t, m.weight, m.weightBudget*3/4, name)
	}
}

// memModule is a module of one function () -> () with body, and a memory
// of one page.
func memModule(body []byte) []byte {
	u := binary.AppendUvarint
	sec := func(out []byte, id byte, payload []byte) []byte {
		return append(u(append(out, id), uint64(len(payload))), payload...)
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = sec(out, 1, []byte{1, 0x60, 0, 0})
	out = sec(out, 3, []byte{1, 0})
	out = sec(out, 5, []byte{1, 0, 1})
	return sec(out, 10, append(u([]byte{1}, uint64(len(body))), body...))
}

// blockChain: n empty blocks one after the other.
func blockChain(n int) []byte {
	b := []byte{0}
	for range n {
		b = append(b, 0x02, 0x40, 0x0B)
	}
	return oneFuncModule(nil, append(b, 0x0B), 0)
}

// fanOut: n times, k nested blocks left by a br_table with a label to
// each.
func fanOut(k, n int) []byte {
	u := binary.AppendUvarint
	b := []byte{1, 1, 0x7F}
	for range n {
		for range k {
			b = append(b, 0x02, 0x40)
		}
		b = u(append(b, 0x20, 0, 0x0E), uint64(k-1))
		for i := range k {
			b = u(b, uint64(i))
		}
		for range k {
			b = append(b, 0x0B)
		}
	}
	return oneFuncModule(nil, append(b, 0x0B), 0)
}

// fillLocals: k locals set, n memory.fill, then every local read. The
// rewrite wraps each fill in control flow of its own, which merges the
// locals.
func fillLocals(k, n int) []byte {
	u := binary.AppendUvarint
	b := append(u([]byte{1}, uint64(k+1)), 0x7F)
	for i := 1; i <= k; i++ {
		b = u(append(u(append(b, 0x20, 0, 0x41), uint64(i)), 0x6A, 0x21), uint64(i))
	}
	for range n {
		b = append(b, 0x20, 0, 0x20, 0, 0x20, 0, 0xFC, 11, 0)
	}
	for i := 1; i <= k; i++ {
		b = append(u(append(b, 0x20), uint64(i)), 0x1A)
	}
	return memModule(append(b, 0x0B))
}

// fillStack: k values left on the operand stack across n memory.fill.
func fillStack(k, n int) []byte {
	b := []byte{1, 1, 0x7F}
	for range k {
		b = append(b, 0x20, 0)
	}
	for range n {
		b = append(b, 0x20, 0, 0x20, 0, 0x20, 0, 0xFC, 11, 0)
	}
	for range k {
		b = append(b, 0x1A)
	}
	return memModule(append(b, 0x0B))
}

// The shapes of the second attack round, unbounded: 40,000 empty blocks
// in a row (120 KB) compiled in 7.4 s; k nested blocks left by a
// br_table, 9,000 deep 16 times (718 KB), took 650 MiB; 1,000 locals
// across 1,000 memory.fill (25 KB) 10 s and 605 MiB, and 1,000 values on
// the stack across 2,000 of them 2.4 s and 408 MiB, the control flow
// being the rewrite's. All are refused; the same shapes within the bounds
// compile quickly.
func TestMeterRefusesFlowBombsOfTheRewrite(t *testing.T) {
	requireShapes(t, []shape{
		{"40,000 empty blocks in a row", blockChain(40_000), "basic blocks"},
		{"9,000 nested blocks left by a br_table, 16 times", fanOut(9000, 16), "basic blocks"},
		{"1,000 locals live across 1,000 memory.fill", fillLocals(1000, 1000), "as rewritten"},
		// Refused in the module as sent, which counts the blocks the
		// rewrite adds around each fill (the ninth round).
		{"1,000 values live across 2,000 memory.fill", fillStack(1000, 2000), "values live on the operand stack"},
		{"4,000 empty blocks in a row", blockChain(4000), ""},
		{"100 locals live across 100 memory.fill", fillLocals(100, 100), ""},
	})
}

// loopBack: n nested loops, each with a branch back to its header, and k
// locals read in the innermost.
func loopBack(k, n int) []byte {
	u := binary.AppendUvarint
	b := append(u([]byte{1}, uint64(k+1)), 0x7F)
	for range n {
		b = append(b, 0x03, 0x40)
	}
	for i := 1; i <= k; i++ {
		b = append(u(append(b, 0x20), uint64(i)), 0x1A)
	}
	for range n {
		b = append(b, 0x20, 0, 0x0D, 0, 0x0B) // local.get 0; br_if 0; end
	}
	return oneFuncModule(nil, append(b, 0x0B), 0)
}

// brIfChain: in one block, n conditional branches out of it in a row,
// each followed by k reads of a local.
func brIfChain(k, n int) []byte {
	b := []byte{1, 2, 0x7F, 0x02, 0x40}
	for range n {
		b = append(b, 0x20, 0, 0x0D, 0)
		for range k {
			b = append(b, 0x20, 1, 0x1A)
		}
	}
	return oneFuncModule(nil, append(b, 0x0B, 0x0B), 0)
}

// deepStack: k values on the operand stack at once, no block.
func deepStack(k int) []byte {
	b := []byte{1, 1, 0x7F}
	for range k {
		b = append(b, 0x20, 0)
	}
	for range k {
		b = append(b, 0x1A)
	}
	return oneFuncModule(nil, append(b, 0x0B), 0)
}

// simdCompares: n SIMD comparisons in a row, the stack never above two.
func simdCompares(n int) []byte {
	vconst := append([]byte{0xFD, 0x0C}, make([]byte, 16)...)
	b := append([]byte{0}, vconst...)
	for range n {
		b = append(append(b, vconst...), 0xFD, 0x23) // i8x16.eq
	}
	return oneFuncModule(nil, append(b, 0x1A, 0x0B), 0)
}

// The shapes of the third attack round, unbounded: 64 locals read in 512
// nested loops with back edges (4.3 KB) compiled in 2.55 s, 256 of them
// in 19 s (the redundant-phi pass takes one loop level a round); 8,000
// br_if in a row each followed by 32 reads of a local (800 KB) in 11.5 s;
// 128,000 values on the stack at once (1 MB) took 431 MiB. All are
// refused; the same shapes within the bounds compile quickly, and a long
// run of SIMD comparisons is not counted as a deep stack.
func TestMeterRefusesThirdRoundBombs(t *testing.T) {
	requireShapes(t, []shape{
		{"64 locals read in 512 loops with back edges", loopBack(64, 512), "control flow merging"},
		{"8,000 br_if in a row, a local read after each", brIfChain(1, 8000), "locals read across chains of blocks"},
		{"25,000 values on the stack at once", deepStack(25_000), "values on the operand stack at once"},
		{"16 locals read in 32 loops with back edges", loopBack(16, 32), ""},
		{"2,000 br_if in a row, a local read after each", brIfChain(1, 2000), ""},
		{"10,000 values on the stack at once", deepStack(10_000), ""},
		{"50,000 SIMD comparisons in a row", simdCompares(50_000), ""},
	})
}

// A block's results count on the stack after its end even when its code
// ends in an unconditional branch: 20 blocks of 1,000 results each (the
// most a type has), each left by unreachable, then a return, are refused
// as a deep stack.
func TestFlowCostCountsResultsAfterUnreachable(t *testing.T) {
	u := binary.AppendUvarint
	typ := u([]byte{0x60, 0}, 1000)
	for range 1000 {
		typ = append(typ, 0x7F)
	}
	var b []byte
	for range 20 {
		b = append(b, 0x02, 1, 0x00, 0x0B) // block (type 1) unreachable end
	}
	b = append(b, 0x0F) // return: no instruction after the blocks pushes
	_, err := instrument(oneFuncModule(typ, append(append([]byte{0}, b...), 0x0B), 1), testLimits)
	require.ErrorContains(t, err, "values on the operand stack at once")
}

// mergeWalk: k locals, n br_if out of one block in a row, then every
// local read after the block.
func mergeWalk(k, n int) []byte {
	u := binary.AppendUvarint
	b := append(u([]byte{1}, uint64(k)), 0x7F, 0x02, 0x40)
	for range n {
		b = append(b, 0x41, 0, 0x0D, 0) // i32.const 0; br_if 0
	}
	b = append(b, 0x0B)
	for i := range k {
		b = append(u(append(b, 0x20), uint64(i)), 0x1A)
	}
	return oneFuncModule(nil, append(b, 0x0B), 0)
}

// The fourth attack round: a local read below a merge is looked up back
// along every edge into it, and 180 locals read after 8,000 br_if out of
// one block (33 KB) took 53 s to compile, 10 of them 3.7 s. Refused; 10
// after 500 compile quickly.
func TestMeterRefusesReadsBelowWideMerges(t *testing.T) {
	requireRefusedOrQuick(t, mergeWalk(10, 8000), "locals read across chains of blocks")
	requireRefusedOrQuick(t, mergeWalk(180, 8000), "locals read across chains of blocks")
	requireRefusedOrQuick(t, mergeWalk(10, 500), "")
}

// sectionModule is a module of the type section types and one more
// section, id, of n entries of entry bytes each.
func sectionModule(types []byte, nTypes int, id byte, n int, entry []byte) []byte {
	u := binary.AppendUvarint
	sec := func(out []byte, id byte, payload []byte) []byte {
		return append(u(append(out, id), uint64(len(payload))), payload...)
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = sec(out, 1, append(u(nil, uint64(nTypes)), types...))
	body := u(nil, uint64(n))
	for range n {
		body = append(body, entry...)
	}
	return sec(out, id, body)
}

// The fifth attack round: sections whose size alone cost wazero seconds
// and gigabytes. Past the counts below they are refused before wazero
// reads them.
func TestMeterRefusesOversizedSections(t *testing.T) {
	imp := []byte{1, 'a', 1, 'b', 0x00, 0} // a function of type 0
	exp := []byte{1, 'e', 0x00, 0}         // (names repeat: refused for the count first)
	elem := []byte{1, 0x70, 0}             // a passive funcref segment of no entries
	big := binary.AppendUvarint([]byte{0x60}, 1000)
	for range 1000 {
		big = append(big, 0x7F)
	}
	big = append(binary.AppendUvarint(big, 1000), bytes.Repeat([]byte{0x7E}, 1000)...)
	for _, tc := range []struct {
		name, refused string
		bin           []byte
	}{
		{"10,000 imports (the rewrite adds one)", "10000 imports", sectionModule([]byte{0x60, 0, 0}, 1, 2, 10_000, imp)},
		{"100,001 exports", "exports", sectionModule([]byte{0x60, 0, 0}, 1, 7, 100_001, exp)},
		{"100,001 element segments", "element segments", sectionModule([]byte{0x60, 0, 0}, 1, 9, 100_001, elem)},
		{"5 types of 2,000 values", "types of", sectionModule(bytes.Repeat(big, 5), 5, 0, 0, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := instrument(tc.bin, testLimits)
			require.ErrorContains(t, err, tc.refused)
		})
	}
}

// wasmSection appends to out the section id holding payload.
func wasmSection(out []byte, id byte, payload []byte) []byte {
	return append(binary.AppendUvarint(append(out, id), uint64(len(payload))), payload...)
}

// trapsModule is a module of funcs functions () -> (), each of n times
// snip, with a table of one element, a memory of one page, and types
// extra types (i32) -> () more, none of them used.
func trapsModule(snip []byte, n, funcs, types int) []byte {
	u := binary.AppendUvarint
	body := []byte{0}
	for range n {
		body = append(body, snip...)
	}
	body = append(body, 0x0B)
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = wasmSection(out, 1, append(u(nil, uint64(1+types)), append([]byte{0x60, 0, 0}, bytes.Repeat([]byte{0x60, 1, 0x7F, 0}, types)...)...))
	out = wasmSection(out, 3, append(u(nil, uint64(funcs)), make([]byte, funcs)...))
	out = wasmSection(out, 4, []byte{1, 0x70, 0, 1})
	out = wasmSection(out, 5, []byte{1, 0, 1})
	code := u(nil, uint64(funcs))
	for range funcs {
		code = append(u(code, uint64(len(body))), body...)
	}
	return wasmSection(out, 10, code)
}

// elemModule is a module of one function and one passive element
// segment of n entries, each that function.
func elemModule(n int) []byte {
	u := binary.AppendUvarint
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = wasmSection(out, 1, []byte{1, 0x60, 0, 0})
	out = wasmSection(out, 3, []byte{1, 0})
	out = wasmSection(out, 9, append(u([]byte{1, 1, 0x00}, uint64(n)), make([]byte, n)...))
	return wasmSection(out, 10, []byte{1, 2, 0, 0x0B})
}

// The sixth attack round: instructions that may trap cost wazero 3-15 KB
// each to compile, kept until the function is done. Unbounded, one
// function of 200,000 call_indirect (1 MB) took 12 s and 2.8 GiB, and
// 160,000 loads of fresh addresses (1 MB) 3.4 s and 824 MiB. Element
// entries and the product of types and functions cost the same way.
func TestMeterRefusesSixthRoundShapes(t *testing.T) {
	indirect := []byte{0x41, 0, 0x11, 0, 0}     // i32.const 0; call_indirect (type 0)
	load := []byte{0x41, 0, 0x28, 2, 0, 0x1A}   // i32.const 0; i32.load; drop
	div := []byte{0x41, 1, 0x41, 1, 0x6D, 0x1A} // i32.div_s of two constants
	requireShapes(t, []shape{
		{"200,000 call_indirect in one function", trapsModule(indirect, 200_000, 1, 0), "to compile"},
		{"20,000 call_indirect in one function", trapsModule(indirect, 20_000, 1, 0), "to compile"},
		{"50,000 loads of fresh addresses in one function", trapsModule(load, 50_000, 1, 0), "to compile"},
		{"40,000 divisions in one function", trapsModule(div, 40_000, 1, 0), "to compile"},
		{"24 functions of 10,000 call_indirect", trapsModule(indirect, 10_000, 24, 0), "in all functions"},
		{"262,145 element entries", elemModule(262_145), "element entries"},
		{"4,000 functions of 40,001 types", trapsModule(nil, 0, 4_000, 40_000), "functions of"},
		{"10,000 call_indirect in one function", trapsModule(indirect, 10_000, 1, 0), ""},
		{"40,000 loads of fresh addresses in one function", trapsModule(load, 40_000, 1, 0), ""},
		{"262,144 element entries", elemModule(262_144), ""},
		{"4,000 functions of 4,000 types", trapsModule(nil, 0, 4_000, 3_999), ""},
	})
}

// weighedModule is a module for TestCompileWeights: function 0, of type
// (i32 i64 f32 f64 v128) -> (), is start, then n times link, then end,
// then stores of its parameters, so that what the links compute stays
// live. Function 1 is (i32) -> (i32), function 2 passes 100 i32 through;
// a table of one element and a memory of one page; globals mutable i32
// globals.
func weighedModule(start, link, end []byte, n, globals int) []byte {
	u := binary.AppendUvarint
	body := append([]byte{0}, start...)
	for range n {
		body = append(body, link...)
	}
	body = append(body, end...)
	for i, st := range [][]byte{{0x36, 2, 0}, {0x37, 3, 0}, {0x38, 2, 0}, {0x39, 3, 0}, {0xFD, 0x0B, 4, 0}} {
		body = append(append(body, 0x41, 0, 0x20, byte(i)), st...)
	}
	body = append(body, 0x0B)
	wide := append(append([]byte{0x60, 100}, bytes.Repeat([]byte{0x7F}, 100)...), 100)
	wide = append(wide, bytes.Repeat([]byte{0x7F}, 100)...)
	pass := []byte{0}
	for i := range 100 {
		pass = append(pass, 0x20, byte(i|0x80), 0) // local.get i, as a two-byte LEB
	}
	pass = append(pass, 0x0B)
	out := []byte("\x00asm\x01\x00\x00\x00")
	types := append([]byte{3, 0x60, 5, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0, 0x60, 1, 0x7F, 1, 0x7F}, wide...)
	out = wasmSection(out, 1, types)
	out = wasmSection(out, 3, []byte{3, 0, 1, 2})
	out = wasmSection(out, 4, []byte{1, 0x70, 0, 1})
	out = wasmSection(out, 5, []byte{1, 0, 1})
	if globals > 0 {
		out = wasmSection(out, 6, append(u(nil, uint64(globals)), bytes.Repeat([]byte{0x7F, 1, 0x41, 0, 0x0B}, globals)...))
	}
	code := u([]byte{3}, uint64(len(body)))
	code = append(code, body...)
	code = append(code, 4, 0, 0x20, 0, 0x0B)
	code = append(u(code, uint64(len(pass))), pass...)
	return wasmSection(out, 10, code)
}

// TestCompileWeights checks compileWeight against what wazero's compiler
// allocates for each kind of instruction, so that a new wazero cannot
// make it an under-count unseen: each link of a chain must cost no more
// than it weighs. The least of three compilations is taken, since
// anything else running can only add to what is measured.
func TestCompileWeights(t *testing.T) {
	get, set := func(l byte) []byte { return []byte{0x20, l} }, func(l byte) []byte { return []byte{0x21, l} }
	fresh := func(op ...byte) []byte { return append([]byte{0x41, 0}, op...) } // an address of its own
	wideArgs := bytes.Repeat([]byte{0x41, 0}, 100)
	for _, tc := range []struct {
		name             string
		start, link, end []byte
		n, globals       int
	}{
		{"i32.add", get(0), []byte{0x20, 0, 0x6A}, set(0), 5000, 0},
		{"i32.const, i32.add", get(0), []byte{0x41, 1, 0x6A}, set(0), 5000, 0},
		{"i32.shl", get(0), []byte{0x20, 0, 0x74}, set(0), 5000, 0},
		{"i32.eqz", get(0), []byte{0x45}, set(0), 5000, 0},
		{"i64.rotl", get(1), []byte{0x20, 1, 0x89}, set(1), 5000, 0},
		{"f64.abs", get(3), []byte{0x99}, set(3), 5000, 0},
		{"f64.min", get(3), []byte{0x20, 3, 0xA4}, set(3), 5000, 0},
		{"f64.copysign", get(3), []byte{0x20, 3, 0xA6}, set(3), 5000, 0},
		{"select", get(0), []byte{0x20, 0, 0x20, 0, 0x1B}, set(0), 5000, 0},
		{"f64.const, f64.add", get(3), []byte{0x44, 1, 2, 3, 4, 5, 6, 7, 8, 0xA0}, set(3), 5000, 0},
		{"i64.const, i64.add", get(1), []byte{0x42, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x7C}, set(1), 5000, 0},
		{"i64.trunc_sat_f64_u, f64.convert_i64_u", get(3), []byte{0xFC, 7, 0xBA}, set(3), 5000, 0},
		{"i32.trunc_sat_f32_s, f32.convert_i32_s", get(2), []byte{0xFC, 0, 0xB2}, set(2), 5000, 0},
		{"i32.div_u", get(0), []byte{0x20, 0, 0x6E}, set(0), 5000, 0},
		{"i64.div_s", get(1), []byte{0x20, 1, 0x7F}, set(1), 5000, 0},
		{"i64.trunc_f64_u", nil, []byte{0x20, 3, 0xB1, 0x21, 1}, nil, 5000, 0},
		{"load, fresh address", nil, append(fresh(0x28, 2, 0), set(0)...), nil, 5000, 0},
		{"store, fresh address", nil, append(fresh(0x20, 0), 0x36, 2, 0), nil, 5000, 0},
		{"v128.load, fresh address", nil, append(fresh(0xFD, 0, 4, 0), set(4)...), nil, 5000, 0},
		{"i8x16.popcnt", get(4), []byte{0xFD, 0x62}, set(4), 5000, 0},
		{"i64x2.extmul_high_i32x4_s", get(4), []byte{0x20, 4, 0xFD, 0xDD, 1}, set(4), 5000, 0},
		{"i32x4.add", get(4), []byte{0x20, 4, 0xFD, 0xAE, 1}, set(4), 5000, 0},
		{"f32x4.mul", get(4), []byte{0x20, 4, 0xFD, 0xE6, 1}, set(4), 5000, 0},
		{"i16x8.shl", get(4), []byte{0x20, 0, 0xFD, 0x8B, 1}, set(4), 5000, 0},
		{"i8x16.eq of a constant", get(4), append(append([]byte{0xFD, 0x0C}, make([]byte, 16)...), 0xFD, 0x23), set(4), 5000, 0},
		{"i32x4.extract_lane", nil, []byte{0x20, 4, 0xFD, 0x1B, 1, 0x21, 0}, nil, 5000, 0},
		{"i8x16.shuffle", get(4), append([]byte{0x20, 4, 0xFD, 0x0D}, make([]byte, 16)...), set(4), 5000, 0},
		{"i32x4.trunc_sat_f32x4_u", get(4), []byte{0xFD, 0xF9, 1}, set(4), 5000, 0},
		{"table.get", nil, []byte{0x20, 0, 0x25, 0, 0x1A}, nil, 5000, 0},
		{"memory.grow", get(0), []byte{0x40, 0}, set(0), 5000, 0},
		{"call", get(0), []byte{0x10, 1}, set(0), 5000, 0},
		{"call_indirect", get(0), []byte{0x41, 0, 0x11, 1, 0}, set(0), 5000, 0},
		{"call of 100 values each way", wideArgs, []byte{0x10, 2}, bytes.Repeat([]byte{0x1A}, 100), 300, 0},
		{"call under 2,000 mutable globals", get(0), []byte{0x10, 1}, set(0), 200, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := weighedModule(tc.start, tc.link, tc.end, tc.n, tc.globals)
			none := weighedModule(tc.start, nil, tc.end, 0, tc.globals)
			m, err := scanOnly(bin)
			require.NoError(t, err)
			m0, err := scanOnly(none)
			require.NoError(t, err)
			weight := float64(m.weight-m0.weight) / float64(tc.n)
			cost := math.MaxFloat64
			for range 3 {
				cost = min(cost, float64(compileAlloc(t, bin)-compileAlloc(t, none))/float64(tc.n))
			}
			t.Logf("%.0f bytes a link, weighed %.0f", cost, weight)
			require.LessOrEqual(t, cost, weight)
		})
	}
}

// compileAlloc is what wazero allocates to compile bin.
func compileAlloc(t *testing.T, bin []byte) uint64 {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	_, err := r.CompileModule(ctx, bin)
	runtime.ReadMemStats(&b)
	require.NoError(t, err)
	return b.TotalAlloc - a.TotalAlloc
}

// callsModule is a module of two functions: 0 pushes k constants, calls
// function 1, of k i32 parameters and k results, n times in a chain, then
// drops the results; function 1 returns its parameters. globals mutable
// i32 globals and funcs-2 more empty functions come with it.
func callsModule(k, n, globals, funcs int) []byte {
	u := binary.AppendUvarint
	wide := append(u([]byte{0x60}, uint64(k)), bytes.Repeat([]byte{0x7F}, k)...)
	wide = append(u(wide, uint64(k)), bytes.Repeat([]byte{0x7F}, k)...)
	body := []byte{0}
	for range k {
		body = append(body, 0x41, 0)
	}
	for range n {
		body = append(body, 0x10, 1)
	}
	body = append(append(body, bytes.Repeat([]byte{0x1A}, k)...), 0x0B)
	pass := []byte{0}
	for i := range k {
		pass = u(append(pass, 0x20), uint64(i))
	}
	pass = append(pass, 0x0B)
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = wasmSection(out, 1, append([]byte{2, 0x60, 0, 0}, wide...))
	out = wasmSection(out, 3, append(u(nil, uint64(funcs)), append([]byte{0, 1}, make([]byte, funcs-2)...)...))
	if globals > 0 {
		out = wasmSection(out, 6, append(u(nil, uint64(globals)), bytes.Repeat([]byte{0x7F, 1, 0x41, 0, 0x0B}, globals)...))
	}
	code := append(u(u(nil, uint64(funcs)), uint64(len(body))), body...)
	code = append(u(code, uint64(len(pass))), pass...)
	for range funcs - 2 {
		code = append(code, 2, 0, 0x0B)
	}
	return wasmSection(out, 10, code)
}

// fillsModule is a module of funcs functions, each of n memory.fill of
// one local's value, and a memory of one page.
func fillsModule(n, funcs int) []byte {
	body := append([]byte{1, 1, 0x7F}, bytes.Repeat([]byte{0x20, 0, 0x20, 0, 0x20, 0, 0xFC, 0x0B, 0}, n)...)
	body = append(body, 0x0B)
	u := binary.AppendUvarint
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = wasmSection(out, 1, []byte{1, 0x60, 0, 0})
	out = wasmSection(out, 3, append(u(nil, uint64(funcs)), make([]byte, funcs)...))
	out = wasmSection(out, 5, []byte{1, 0, 1})
	code := u(nil, uint64(funcs))
	for range funcs {
		code = append(u(code, uint64(len(body))), body...)
	}
	return wasmSection(out, 10, code)
}

// The ninth attack round, unbounded: saturating truncations and unsigned
// conversions weighed as plain instructions, 131,000 of each in a chain
// in one function (393 KB), took 4-5.5 s and 1 GiB to compile, and 64 such
// functions (25 MB) 112 s and 1.9 GiB, since wazero keeps each function's
// machine code until the module is done; 268 functions of 15,600
// memory.fill (37.6 MB) passed the scan and the rewrite grew them to 283
// MB before refusing them, in 2.5-7.5 s and 1.8 GiB.
func TestMeterRefusesNinthRoundShapes(t *testing.T) {
	satConv := func(n, funcs int) []byte {
		b := append([]byte{1, 1, 0x7C, 0x20, 0}, bytes.Repeat([]byte{0xFC, 7, 0xBA}, n)...)
		return funcsModuleOf([]byte{0x60, 0, 1, 0x7C}, append(b, 0x0B), funcs)
	}
	requireShapes(t, []shape{
		{"131,000 saturating truncations and conversions", satConv(131_000, 1), "to compile"},
		{"64 functions of 20,000 of them", satConv(20_000, 64), "in all functions"},
		{"268 functions of 15,600 memory.fill", fillsModule(15_600, 268), "basic blocks"},
		{"20 functions of 1,300 memory.fill", fillsModule(1_300, 20), "in all functions"},
		{"20,000 saturating truncations and conversions", satConv(20_000, 1), ""},
		{"4 functions of 1,000 memory.fill", fillsModule(1_000, 4), ""},
	})
}

// The seventh attack round: costs that grow with what a call carries, and
// with what the compiler walks for every function. Unbounded, 1,600 calls
// of 1,000 values each way (8 KB) took 6-7.7 s and 1.3 GiB to compile;
// 1,600 calls under 9,990 mutable globals (53 KB), which wazero reloads
// after every call, 13.9 s and 2.6 GiB; 50,000 empty functions under
// 9,990 globals, 2.8 s, and 100,000, 7.1 s; 330,000 i8x16.popcnt (2 MB), weighed as any SIMD
// instruction was, 4.9 s and 1.3 GiB; and the rewrite itself took 4.7 s
// over 58.5 MB of nop.
func TestMeterRefusesSeventhRoundShapes(t *testing.T) {
	popcnt := []byte{1, 1, 0x7B, 0x20, 0} // (local v128) local.get 0
	popcnt = append(popcnt, bytes.Repeat([]byte{0xFD, 0x62}, 330_000)...)
	popcnt = append(popcnt, 0x1A, 0x0B)
	requireShapes(t, []shape{
		{"1,600 calls of 1,000 values each way", callsModule(1000, 1600, 0, 2), "to compile"},
		{"1,600 calls under 9,990 mutable globals", callsModule(1, 1600, 9990, 2), "to compile"},
		{"50,000 functions under 9,990 globals", callsModule(1, 0, 9990, 50_000), "functions times the rest"},
		{"330,000 i8x16.popcnt", oneFuncModule(nil, popcnt, 0), "to compile"},
		{"9,999 globals", callsModule(1, 0, 9999, 2), "9999 globals"},
		{"17 million nop", funcsModule(append(append([]byte{0}, bytes.Repeat([]byte{0x01}, 5_700_000)...), 0x0B), 3), "instructions"},
		{"200 calls of 1,000 values each way", callsModule(1000, 200, 0, 2), ""},
		{"100 calls under 9,990 mutable globals", callsModule(1, 100, 9990, 2), ""},
		{"9,998 globals", callsModule(1, 0, 9998, 2), ""},
		{"10,000 functions under 9,990 globals", callsModule(1, 0, 9990, 10_000), ""},
	})
}
