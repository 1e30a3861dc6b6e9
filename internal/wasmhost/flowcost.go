// SPDX-License-Identifier: Apache-2.0

package wasmhost

import "fmt"

// Costs of compiling that the merge and loop work do not see, found by
// four attack rounds on 2026-12-06:
//
//   - Values left on the operand stack under many blocks. wazero's
//     register allocator keeps, for every basic block, the values live
//     into it, so K values live across N blocks cost K×N entries, whether
//     or not a branch carries them. A 56 KB module of 4,000 values under
//     4,000 blocks took 5 s and 667 MiB to compile, and a 112 KB one
//     2.3 GiB; a br_table of 200,000 labels with 2,000 values live,
//     5.4 GiB. Compiling cannot be interrupted, and Go's out of memory is
//     fatal.
//   - Many edges into one block. wazero's SSA builder scans a block's
//     predecessors before adding one, so a block with P edges into it
//     costs P². A br_table of 400,000 labels all to one block (400 KB)
//     took 33 s; the 8 MiB body limit allows hours.
//   - Many basic blocks: see maxBlocks and maxBlockWork.
//   - Many values on the stack at once (maxHeight), and locals read at
//     the end of long chains of blocks, or below merges of many such
//     chains (maxWalkWork, mergedReads).
//   - Loops nested with back edges, which make the merge work's pass
//     repeat: scanFunc weighs the merge work by the loops' depth.
//   - What each instruction keeps until its function is compiled: a
//     sixth round found a 1 MB function of 200,000 call_indirect cost 12 s
//     and 2.8 GiB, since wazero compiles each trap into an exit of its
//     own; a seventh, calls of many values and calls under many mutable
//     globals (compileWeight).
//
// The rewrite adds control flow of its own (a check at every function
// entry and loop header, bulk operations in chunks), so instrument scans
// its output again: 1,000 locals live across 1,000 memory.fill, each of
// which the rewrite wraps in an if/else and a check, took 10 s and 605
// MiB to compile while the original code's counts were small.
//
// flowCost bounds these from the code, as scanFunc reads it. Its operand
// stack height is an upper bound: an instruction whose effect it does not
// model exactly counts as popping the fewest and pushing the most it can
// (SIMD: one and one). At a block's
// end the height goes back to the block's base and results, so an
// over-count made inside a block ends with it.
type flowCost struct {
	height int // values on the operand stack, all open blocks together
	live   int // the values live into every basic block wazero makes
	preds  int // the square of the edges into every block, summed
	blocks int // the basic blocks wazero makes, but for a br_table's labels
	labels int // the blocks of br_table labels
	// maxHeight is the most values on the operand stack at once.
	maxHeight int
	// weight estimates the compiler's memory for the function, in bytes
	// (compileWeight, blockWeight).
	weight int
	// chain is how many blocks of one predecessor each lead to the
	// current one, and walks what reading locals at the end of such
	// chains costs (maxWalkWork). merged sums, over the merges, the
	// chains of the edges into each.
	chain, walks, merged int
}

// mergedReads adds to walks what the first read of each of the locals
// the function reads may cost below the merges: wazero looks a local up
// in every edge into a merge, each back along its chain of blocks of one
// predecessor, which keep nothing. n br_if out of one block in a row, then
// k locals read after it, cost k·n²/2: 180 locals after 8,000 (33 KB)
// took 53 s to compile.
func (c *flowCost) mergedReads(locals int) {
	if c.merged > 0 && locals > (1<<62)/c.merged {
		c.walks = 1 << 62
		return
	}
	c.walks += locals * c.merged
}

const (
	// maxLiveWork bounds, per function, the sum over the basic blocks
	// wazero makes of the values on the operand stack live into them:
	// about 20 bytes and 0.15 µs of compiling a unit (1,000 values under
	// 1,000 blocks, 2 million units: 40 MiB, 0.29 s). 1<<21 is about 40
	// MiB and 0.3 s, and lets through a br_table of 20,000 labels
	// carrying 100 values (TestMeterRefusesMergeBombs). The built-in
	// bundle, Go, has at most 3 in a function, 2,486 in all
	// (TestFlowCostOfRealModules).
	maxLiveWork = 1 << 21
	// maxModuleLiveWork bounds the same over all functions, which wazero
	// compiles one after the other: about 1.2 s.
	maxModuleLiveWork = 1 << 23
	// maxPredWork bounds, per function, the sum over its blocks of the
	// square of the edges into each: 20,000 labels to one block, 4×10^8
	// units, compiled in 0.31 s, under a nanosecond a unit; 1<<29 lets
	// that through (TestMeterRefusesMergeBombs) and is about 0.4 s. The
	// built-in bundle has at most 277,138 in a function, 2.6 million in
	// all.
	maxPredWork = 1 << 29
	// maxModulePredWork bounds the same over all functions: about 0.8 s.
	maxModulePredWork = 1 << 30
	// maxBlocks bounds the basic blocks of a function, a br_table's
	// labels included: each costs about 2.3 KB of the compiler's memory
	// while the function compiles (a br_table fanning out over 9,000
	// nested blocks, 64 times, 2.9 MB: 2.66 GiB). 32,768 is about 75 MiB.
	maxBlocks = 1 << 15
	// maxBlockWork bounds, per function, its blocks other than labels
	// times all its blocks. wazero's loop detection and loop nesting
	// forest walk up the dominators from every block, and a block's
	// dominators are at most the blocks before it: a chain of n empty
	// blocks costs n², 10,000 (30 KB) compiling in 0.40 s, 20,000 in
	// 1.54 s, 80,000 in 47 s. 1<<26 is about 0.26 s.
	maxBlockWork = 1 << 26
	// maxModuleBlockWork bounds the same over all functions: about 2 s.
	// The built-in bundle has at most 3,602 blocks in a function and 56
	// million block work in all (TestFlowCostOfRealModules).
	maxModuleBlockWork = 1 << 29
	// maxHeight bounds the values on a function's operand stack at once.
	// wazero's compiler takes about 3.4 KB of memory for each while the
	// function compiles: 25,000 values left on the stack took 85 MiB,
	// 128,000 (1 MB) 431 MiB. 16,384 is about 55 MiB.
	maxHeight = 1 << 14
	// maxWalkWork bounds, per function, the blocks of one predecessor
	// each that reading a local walks back through: wazero's SSA builder
	// looks a local up block by block to its definition, again at every
	// read. 8,000 br_if in a row, each followed by 32 reads of a local
	// (800 KB), took 11.5 s to compile, about 55 ns a block walked. 1<<23
	// is about 0.5 s; maxModuleWalkWork, about 2 s.
	maxWalkWork       = 1 << 23
	maxModuleWalkWork = 1 << 25
	// maxWeight bounds, per function, the bytes wazero's compiler is
	// estimated to keep until the function is compiled (compileWeight):
	// 256 MiB, what 32,768 blocks, the most maxBlocks lets through, came
	// to already. Past it a module of one function could take gigabytes,
	// and Go's out of memory ends the process. Compiling one at the bound
	// takes about 1 s (17,000 call_indirect).
	maxWeight = 1 << 28
	// maxModuleWeight bounds the weight of all functions, for the time:
	// weightPerByte more for each byte of the code section. wazero's
	// compiler reuses its memory from one function to the next, so the
	// total costs time only, about 0.6 µs a KB of it for Go (the
	// built-in bundle: 1.4 KB of weight a byte of code, 3,759 MiB, 2.2 s
	// on one goroutine) and up to 1 µs for functions of call_indirect or
	// loads of fresh addresses, which could weigh 3 KB a byte.
	maxModuleWeight = 1 << 30
	weightPerByte   = 2 << 10
	// maxTotalWeight caps the module's budget whatever its size. The
	// ninth round compiled 64 functions just under maxWeight (25 MB, 16
	// GiB of weight as then weighed) in 112 s, holding 1.9 GiB: wazero
	// keeps each function's machine code until the module is done. The
	// tenth, at 16 GiB as now weighed, in 13 s holding 340 MiB, two at
	// once over 1 GiB of RSS. At 8 GiB, half that; the built-in bundle
	// weighs 3.9 GiB.
	maxTotalWeight = 8 << 30
)

// Compile weights in bytes: what wazero 1.12's compiler allocated for an
// instruction in functions of 5,000-20,000 of it in a row, its results
// live to the end (TestCompileWeights checks each against the real
// thing; BENCHMARKS.md, "2026-12-06, late night"). An instruction that may
// trap gets an exit of its own: a load or store whose address is not one
// already checked (5.3-5.6 KB, SIMD 6.9-7.1), an integer division (3-5.7
// KB), a trapping float truncation (7-8.2 KB), a table access (4-5 KB), call_indirect
// (three exits and a call: 14.3 KB) and a memory bulk operation (15.5 KB).
// A call costs 2 KB, and about 0.4 KB more for each value it passes or
// returns and 0.2 KB for each mutable global, which wazero reloads after
// every call (the seventh round: 1,600 calls of 1,000 values each in 8 KB
// kept 1.3 GiB, and 1,600 calls under 9,990 mutable globals 2.6 GiB).
// Arithmetic whose result is used costs about 0.5-1.2 KB, the float
// minimum and maximum 2.7, SIMD 0.9-2 KB and up to 4.3 for a few, and a
// basic block 8-9 KB. An over-count only refuses sooner: the Go
// compiler's loads mostly reuse an address already checked.
const (
	cheapWeight    = 256 // locals, constants, drop, nop, the markers of blocks
	plainWeight    = 1 << 10
	unaryWeight    = 1280 // eqz, float abs and neg
	copysignWeight = 2 << 10
	minMaxWeight   = 3 << 10
	simdWeight     = 2 << 10
	heavySIMD      = 9 << 9 // 4.5 KB: heavySIMDOp
	callWeight     = 2 << 10
	valueWeight    = 512 // each value a call passes or returns
	reloadWeight   = 256 // each mutable global, reloaded after a call
	growWeight     = 3 << 10
	memWeight      = 6 << 10
	simdMemWeight  = 15 << 9 // 7.5 KB
	tableWeight    = 6 << 10
	divWeight      = 6 << 10
	truncWeight    = 9 << 10
	satWeight      = 7 << 10 // saturating truncations: no trap, as long a sequence
	convertWeight  = 9 << 9  // 4.5 KB: an unsigned i64 to a float
	indirectWeight = 15 << 10
	bulkWeight     = 16 << 10
	// rewrittenBulk is what the rewrite adds around a memory.fill or
	// memory.copy (appendLargeBulk), beyond its blocks: the module as
	// sent is weighed for it, so that it is refused for its own code
	// rather than "as rewritten" (measured: 6 blocks and 97 KB of weight
	// a fill in the output, against 17 KB in the input).
	rewrittenBulk       = 24 << 10
	rewrittenBulkBlocks = 6
	blockWeight         = 9 << 10
)

// compileWeight is what compiling in is estimated to cost (maxWeight).
func (m *modInfo) compileWeight(in instr) int {
	op := in.op
	switch {
	case op == opCall:
		return callWeight + m.callExtra(m.types[m.funcTypes[in.idx]])
	case op == opCallIndir:
		return indirectWeight + m.callExtra(m.types[in.typ])
	case op == opLocalGet, op == opLocalSet, op == opLocalTee, op == opDrop, op == 0x01, // nop
		op == opI32Const,                                       // an immediate; other constants may need a load
		op == opBlock, op == opLoop, op == opElse, op == opEnd: // blocks weigh by flowCost.block
		return cheapWeight
	case op == 0x25, op == 0x26: // table.get, table.set
		return tableWeight
	case op >= 0x28 && op <= 0x3E: // loads and stores
		return memWeight
	case op == 0x40: // memory.grow
		return growWeight
	case op >= 0x6D && op <= 0x70, op >= 0x7F && op <= 0x82: // div, rem
		return divWeight
	case op >= 0xA8 && op <= 0xAB, op >= 0xAE && op <= 0xB1: // trapping truncations
		return truncWeight
	case op == 0x96, op == 0x97, op == 0xA4, op == 0xA5: // float min, max
		return minMaxWeight
	case op == 0x98, op == 0xA6: // float copysign
		return copysignWeight
	case op == 0x45, op == 0x50, op == 0x8B, op == 0x8C, op == 0x99, op == 0x9A: // eqz, float abs, neg
		return unaryWeight
	case op == 0xB5, op == 0xBA: // f32 and f64 convert_i64_u
		return convertWeight
	case op == opPrefixFC:
		switch {
		case in.sub <= 7: // saturating truncations
			return satWeight
		case in.sub == 9, in.sub == 13, in.sub == 16: // data.drop, elem.drop, table.size
			return plainWeight
		case in.sub == 8, in.sub == 10, in.sub == 11: // memory.init, .copy, .fill
			return bulkWeight
		}
		return tableWeight // table.init, .copy, .grow, .fill
	case op == opPrefixFD:
		switch s := in.sub; {
		case s <= 0x0B || s >= 0x54 && s <= 0x5D: // loads and stores
			return simdMemWeight
		case s == 0x0C: // v128.const
			return plainWeight
		case heavySIMDOp(s):
			return heavySIMD
		}
		return simdWeight
	}
	return plainWeight
}

// heavySIMDOp: the SIMD instructions that cost more than 2 KB each, with
// their operands (the seventh round's survey): shuffle, popcnt, 8-bit
// shifts, extended multiplies, pairwise additions, i64x2.mul, float min
// and max, and the unsigned truncations.
func heavySIMDOp(sub byte) bool {
	switch sub {
	case 0x0D, 0x62, 0x6B, 0x6C, 0x6D, 0x7F, 0x9D, 0x9F, 0xBD, 0xBF, 0xD5,
		0xDC, 0xDD, 0xDE, 0xDF, 0xE8, 0xE9, 0xF4, 0xF5, 0xF9, 0xFD:
		return true
	}
	return false
}

// callExtra is what a call of type t costs beyond the call itself.
func (m *modInfo) callExtra(t funcType) int {
	return valueWeight*(len(t.params)+len(t.results)) + reloadWeight*m.mutGlobals
}

// stackEffect is what in pops and pushes, as far as flowCost counts:
// never more pops than the instruction makes, so that the height stays an
// upper bound. Control instructions are handled by scanFunc.
func (m *modInfo) stackEffect(in instr) (pops, pushes int) {
	op := in.op
	switch {
	case op == 0x01: // nop
		return 0, 0
	case op == opCall:
		t := m.types[m.funcTypes[in.idx]]
		return len(t.params), len(t.results)
	case op == opCallIndir:
		t := m.types[in.typ]
		return len(t.params) + 1, len(t.results)
	case op == opDrop:
		return 1, 0
	case op == 0x1B, op == 0x1C: // select
		return 3, 1
	case op == opLocalGet, op == opGlobalGet:
		return 0, 1
	case op == opLocalSet, op == opGlobalSet:
		return 1, 0
	case op == opLocalTee:
		return 1, 1
	case op == 0x25: // table.get
		return 1, 1
	case op == 0x26: // table.set
		return 2, 0
	case op >= 0x28 && op <= 0x35: // loads
		return 1, 1
	case op >= 0x36 && op <= 0x3E: // stores
		return 2, 0
	case op == 0x3F: // memory.size
		return 0, 1
	case op == 0x40: // memory.grow
		return 1, 1
	case op >= 0x41 && op <= 0x44: // constants
		return 0, 1
	case op == 0x45, op == 0x50: // eqz
		return 1, 1
	case op >= 0x46 && op <= 0x66: // comparisons
		return 2, 1
	case op >= 0x67 && op <= 0x69, op >= 0x79 && op <= 0x7B: // clz, ctz, popcnt
		return 1, 1
	case op >= 0x6A && op <= 0x78, op >= 0x7C && op <= 0x8A: // integer binary
		return 2, 1
	case op >= 0x8B && op <= 0x91, op >= 0x99 && op <= 0x9F: // float unary
		return 1, 1
	case op >= 0x92 && op <= 0x98, op >= 0xA0 && op <= 0xA6: // float binary
		return 2, 1
	case op >= 0xA7 && op <= 0xC4: // conversions, sign extension
		return 1, 1
	case op == 0xD0, op == opRefFunc: // ref.null, ref.func
		return 0, 1
	case op == 0xD1: // ref.is_null
		return 1, 1
	case op == opPrefixFC:
		switch {
		case in.sub <= 7: // saturating truncations
			return 1, 1
		case in.sub == 9, in.sub == 13: // data.drop, elem.drop
			return 0, 0
		case in.sub == 15: // table.grow
			return 2, 1
		case in.sub == 16: // table.size
			return 0, 1
		}
		return 3, 0 // memory.init, memory.copy, memory.fill, table.init, table.copy, table.fill
	case op == opPrefixFD:
		return simdEffect(in.sub)
	}
	return 0, 1 // nothing else passes decode; an upper bound all the same
}

// simdEffect is stackEffect for the SIMD instruction 0xFD sub. Arithmetic
// (0x60 on) mixes unary and binary instructions and counts as one pop and
// one push, which every one of them at least pops and at most pushes: a
// long run of binary arithmetic over-counts the height, never under.
func simdEffect(sub byte) (pops, pushes int) {
	switch {
	case sub == 0x0C: // v128.const
		return 0, 1
	case sub == 0x0B: // v128.store
		return 2, 0
	case sub == 0x0D, sub == 0x0E: // shuffle, swizzle
		return 2, 1
	case sub >= 0x15 && sub <= 0x22: // extract_lane pops one, replace_lane two
		switch sub {
		case 0x17, 0x1A, 0x1C, 0x1E, 0x20, 0x22:
			return 2, 1
		}
		return 1, 1
	case sub >= 0x23 && sub <= 0x4C, sub >= 0x4E && sub <= 0x51: // comparisons, and/andnot/or/xor
		return 2, 1
	case sub == 0x52: // bitselect
		return 3, 1
	case sub >= 0x54 && sub <= 0x57: // load_lane
		return 2, 1
	case sub >= 0x58 && sub <= 0x5B: // store_lane
		return 2, 0
	}
	return 1, 1 // loads, splats, not, any_true, arithmetic
}

// push and pop move the height, never below floor, the innermost block's
// base: past an unconditional branch validation lets code pop what is not
// there.
func (c *flowCost) push(n int) {
	c.height += n
	c.maxHeight = max(c.maxHeight, c.height)
}

func (c *flowCost) pop(n, floor int) { c.height = max(c.height-n, floor) }

// block counts n basic blocks wazero makes, the operand stack's values
// live into each.
func (c *flowCost) block(n int) {
	c.live += n * c.height
	c.blocks += n
	c.weight += n * blockWeight
}

// labelBlocks counts the n blocks of a br_table's labels.
func (c *flowCost) labelBlocks(n int) {
	c.live += n * c.height
	c.labels += n
	c.weight += n * blockWeight
}

// blockWork bounds the dominator walks of the function's blocks.
func (c *flowCost) blockWork() int { return c.blocks * (c.blocks + c.labels) }

// check reports a function past any of its bounds.
func (c *flowCost) check() error {
	switch {
	case c.live > maxLiveWork:
		return fmt.Errorf("values live on the operand stack across blocks %d times over: more than the host accepts (%d)", c.live, maxLiveWork)
	case c.preds > maxPredWork:
		return fmt.Errorf("branches into the same block %d times over (squared): more than the host accepts (%d)", c.preds, maxPredWork)
	case c.blocks+c.labels > maxBlocks:
		return fmt.Errorf("%d basic blocks: more than the host accepts (%d)", c.blocks+c.labels, maxBlocks)
	case c.maxHeight > maxHeight:
		return fmt.Errorf("%d values on the operand stack at once: more than the host accepts (%d)", c.maxHeight, maxHeight)
	case c.walks > maxWalkWork:
		return fmt.Errorf("locals read across chains of blocks %d times over: more than the host accepts (%d)", c.walks, maxWalkWork)
	case c.weight > maxWeight:
		return fmt.Errorf("instructions estimated to take %d MiB to compile: more than the host accepts (%d MiB)", c.weight>>20, maxWeight>>20)
	case c.blockWork() > maxBlockWork:
		return fmt.Errorf("%d basic blocks, %d of them not br_table labels: their product is more than the host accepts (%d)", c.blocks+c.labels, c.blocks, maxBlockWork)
	}
	return nil
}
