// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// The host rewrites every guest module once, at load time, so that the
// guest can be stopped at any moment and cannot grow what the host does not
// meter. This is Wasmtime's epoch interruption and fuel, done ahead of time
// because wazero has neither (RATIONALE.md has the measurements):
//
//   - Fuel. Two globals are added, $fuel and $sp. Every function entry and
//     every loop header subtracts from $fuel the number of instructions the
//     code it starts can run before the next such point (its region), and
//     bulk memory and table operations subtract by their size. When $fuel
//     goes negative the guest calls the host's checkpoint, which returns
//     into Go (so the Go runtime can stop the world), checks the deadline
//     and the stack, and refills $fuel. So no guest runs more than about
//     fuelBudget instructions without the host seeing it, whatever its
//     loops, recursion or bulk operations do.
//   - Stack. A function that calls others adds an estimate of its frame to
//     $sp on entry and takes it off on every way out; past the stack limit
//     the checkpoint traps. wazero's own ceiling is 400 MB per call, far
//     outside memory_limit.
//   - Tables. Every table's maximum is lowered to the table limit, so
//     table.grow past it fails inside wazero instead of allocating.
//
// The rewrite extends the function, global and local index spaces. A guest
// must never reach what the host adds, so every index the guest's own code
// names into those spaces is checked against the module's own size before
// anything is rewritten: the checkpoint import gets an index no original
// index maps to (defined functions move up by one), and references to
// globals or locals at or past the module's own count are refused. wazero
// validates the rewritten module as usual; the rewrite only inserts
// stack-neutral sequences, so it neither makes an invalid body valid nor a
// valid one invalid.

const (
	// CheckpointFunc is the host function instrumented code calls when its
	// fuel runs out: (sp i32) -> (fuel i32). It lives in ModuleName; a
	// guest that imports it itself gains nothing but a deadline check.
	CheckpointFunc = "checkpoint"

	// fuelBudget is the fuel the checkpoint hands out: at most a million
	// instructions, well under a millisecond of guest work, between two
	// returns into Go. Charges count every instruction a region holds, not
	// only those a call runs (a Go function pays for its whole body, of
	// which a call runs a small part), so in practice the guest returns far
	// more often: knative-hops did 33 times per 1,000-span batch.
	fuelBudget = 1_000_000
	// bulkShift: a bulk memory operation costs one unit per 16 bytes.
	bulkShift = 4
	// bulkChunk: a memory.fill or memory.copy larger than this runs in
	// chunks of this size, with a check between them, so that one
	// operation over a whole memory cannot hold the guest past its
	// deadline (or keep the Go runtime from stopping the world).
	bulkChunk = 1 << 20
	// hostCallCost is charged for each call of a host function; the host
	// function itself checks the deadline when it runs.
	hostCallCost = 16
	// goExitCost is charged for memory.grow and table.grow, which wazero
	// runs in Go: a trip out of compiled code and back, about 30-60 ns
	// for a grow that fails. Charged one unit like an add, 2,000 grows
	// in a loop ran 28-63 ms between two checks under a 10 ms timeout
	// (attack round 27b).
	goExitCost = 256
	// smallLeaf: a function of at most this many instructions that calls
	// nothing and has no loop gets no check of its own; its callers pay
	// for it at the call site (call_indirect pays this much).
	smallLeaf = 32

	// Limits on module shape, so that compiling a module cannot take
	// unbounded time or memory.
	MaxModuleBytes   = 64 << 20
	maxSections      = 1_000 // a module of 64 MiB of zeros is 33 million empty custom sections
	maxFunctions     = 100_000
	maxLocalsPerFunc = 50_000
	maxLocals        = 1_000_000 // all functions together
	maxGlobals       = 10_000
	// A fifth attack round found sections whose size alone costs wazero
	// memory and time past any budget: 10 million imports (6.2 s, 1.76
	// GiB), 7 million exports (6.0 s, 509 MiB), 10-20 million element
	// segments (6-7 s, 1.37 GiB), and 1,000 types of 1,000 params and
	// 1,000 results (2 MB: 2.8 s, 6.4 GiB allocated). Go modules have tens
	// of imports, a few exports, one element segment and types of a few
	// values.
	maxImports      = 10_000
	maxExports      = 100_000
	maxElemSegments = 100_000
	// A sixth round found more of the same. One element segment of 4
	// million entries (4 MB) took 1.8 s and 274 MiB to compile, and 60
	// million 25 s and 3.5 GiB; a table can hold TableLimit, 1 million,
	// and a Go module fills a few thousand. And wazero's compiler walks
	// every type of the module for each function it compiles: 40,000
	// types and 40,000 functions (1.8 MB) took 24 s, about 12 ns for
	// each type of each function.
	maxElemEntries = 1 << 18
	// A seventh found the compiler walks every global and every import
	// for each function too: 100,000 functions and 9,990 globals took
	// 7.1 s, and 9,999 imports 2.1 s. maxFuncWalks bounds the functions
	// times their types, globals and imports together.
	maxFuncWalks     = 1 << 27
	maxTypeWork      = 1 << 24
	maxTypes         = 100_000
	maxTables        = 16
	maxFuncBodyBytes = 8 << 20
	// maxInstructions bounds the rewrite's own work: it reads the code
	// three times, about 80 ns an instruction, and 58.5 MB of nop took
	// 4.7 s. The built-in bundle has 1.3 million.
	maxInstructions   = 1 << 24
	maxControlNesting = 10_000
	// maxLoopVariableWork bounds, per function, the local accesses and
	// loop headers, each weighted by the loops around it: what makes
	// wazero's compiler quadratic in time and memory. Each unit costs up
	// to about 1 µs of compiling (400 locals read in 400 nested loops:
	// 240,000 units, 0.24 s; 1,000 empty nested loops, each with the
	// rewrite's check: 500,500 units, 0.13 s; 9,999 of them, unchecked
	// before, took 18 s). maxModuleLoopWork bounds the same over all
	// functions, so that many functions each under the first bound cannot
	// add up to minutes: the built-in bundle, 4.2 MB of Go, has 343,000.
	maxLoopVariableWork = 1 << 20
	maxModuleLoopWork   = 1 << 22
	// loopHeaderWork weighs a loop header as one local access: the
	// rewrite's fuel check at every header costs the compiler about that.
	loopHeaderWork = 1
	// maxMergeWork bounds, per function, the sum over every edge into a
	// block (a branch, a br_table label, an arm of an if, a fall-through)
	// of the square of the locals the function reads plus the values the
	// edge carries. wazero gives a merge block a parameter per live local and
	// per carried value, and its redundant-phi pass resolves every
	// argument of an edge once per parameter: about 1.8 ns a unit, and
	// up to 7 ns and two thirds of a byte of the compiler's memory for the
	// merges the rewrite adds around bulk operations (250 locals across
	// 1,000 memory.fill: 258 million units, 1.85 s, 171 MiB; instrument
	// scans its output, flowcost.go). Without it, 2,000 empty if/else
	// blocks before reading 2,000 locals (28 KB) compiled in 14 s, and a
	// br_table of 20,000 labels carrying 1,000 values (24 KB) in 35 s.
	// 1<<28 is about 0.5-1.9 s a function. All functions together may reach
	// maxModuleMergeWork, and mergeWorkPerByte more for each byte of the
	// code section, since large compiled C or Rust has much of it (and
	// about 0.6 µs a byte of it is compiling anyway): the built-in
	// bundle has 4 units a byte and at most 389,166 in a function; zig's
	// C library test module 125 a byte and 94 million in one function.
	maxMergeWork       = 1 << 28
	maxModuleMergeWork = 1 << 28
	mergeWorkPerByte   = 128
)

// meterLimits are the limits the rewrite builds into the module.
type meterLimits struct {
	// StackBytes caps the estimated stack ($sp) of one call.
	StackBytes uint32
	// TableElems caps the elements of all tables together.
	TableElems uint32
	// loopsOnly rewrites as the host did before: checks at loop headers
	// only, without function entries, bulk operations or the stack. It is
	// for BenchmarkMeterOverhead's comparison, never for a guest.
	loopsOnly bool
}

// frameEstimate is the stack bytes $sp charges for one frame of a function
// with nLocals parameters and locals whose instructions produce at most
// values values. It bounds what wazero's compiler can reserve: a slot of up
// to 16 bytes (v128) for every local and for every value that may be live
// across a call (any value on the operand stack was produced by one of the
// function's instructions, a call or block counting its results; a local
// set inside loops becomes a new value at the head of each loop around
// it), plus the frame's fixed part.
func frameEstimate(nLocals uint32, values int) uint32 {
	return 64 + 16*nLocals + 16*uint32(min(values, 1<<22))
}

const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12

	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opDrop        = 0x1A
	opEnd         = 0x0B
	opBr          = 0x0C
	opBrIf        = 0x0D
	opBrTable     = 0x0E
	opReturn      = 0x0F
	opCall        = 0x10
	opCallIndir   = 0x11
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opLocalTee    = 0x22
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opI32Const    = 0x41
	opI32LtS      = 0x48
	opI32GtU      = 0x4B
	opI32Add      = 0x6A
	opI32Sub      = 0x6B
	opI32Or       = 0x72
	opI32ShrU     = 0x76
	opRefFunc     = 0xD2
	opMemoryGrow  = 0x40
	opPrefixFC    = 0xFC
	opPrefixFD    = 0xFD
	blockEmpty    = 0x40
	valI32        = 0x7F
)

// The sections' required order; the data count section (12) sits between
// the element and code sections.
var sectionOrder = [13]int{secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secGlobal: 6, secExport: 7, secStart: 8, secElement: 9, secDataCount: 10, secCode: 11, secData: 12}

type funcType struct{ params, results []byte }

// modInfo is what the rewrite needs to know of a module.
type modInfo struct {
	types         []funcType
	importedFuncs uint32
	funcTypes     []uint32 // type of every function, imported ones first
	tables        uint32
	globals       uint32
	elems         uint32
	mutGlobals    int    // mutable globals: wazero reloads each after every call
	instrs        int    // instructions in all functions
	rewritten     bool   // scanning the rewrite's output, which adds to the counts
	datas         uint32 // from the data count section, or the data section
	hasDataCount  bool
	lim           meterLimits
	funcs         []funcInfo // defined functions
	extraTypes    []funcType // types the rewrite appends
	typeIdx       map[string]uint32
	locals        int      // declared in all functions
	loopWork      int      // loop work of all functions (see maxModuleLoopWork)
	mergeWork     int      // merge work of all functions
	mergeBudget   int      // what mergeWork may reach, by the code's size
	typeWork      int      // the square of every type's values, summed
	liveWork      int      // flowCost.live of all functions
	predWork      int      // flowCost.preds of all functions
	maxLive       int      // the most flowCost.live of one function
	maxPreds      int      // the most flowCost.preds of one function
	maxBlocks     int      // the most flowCost.blocks of one function
	blockWork     int      // flowCost.blockWork of all functions
	walkWork      int      // flowCost.walks of all functions
	weight        int      // flowCost.weight of all functions
	maxWeight     int      // the most flowCost.weight of one function
	weightBudget  int      // what weight may reach, by the code's size
	maxWalks      int      // the most flowCost.walks of one function
	maxHeight     int      // the most flowCost.maxHeight of one function
	labels        []uint32 // the labels of the br_table decode read last
	localRead     []uint32 // stamp of the function that last read each local
	stamp         uint32
	usesFill      bool // some function has memory.fill: the $fill helper is added
	usesCopy      bool // ... memory.copy: the $copy helper is added
}

// helperIdx is the index of the n-th function the rewrite appends.
func (m *modInfo) helperIdx(n uint32) uint32 {
	return m.importedFuncs + 1 + uint32(len(m.funcs)) + n
}

func (m *modInfo) fillIdx() uint32 { return m.helperIdx(0) }

func (m *modInfo) copyIdx() uint32 {
	if m.usesFill {
		return m.helperIdx(1)
	}
	return m.helperIdx(0)
}

var bulkHelperType = funcType{params: []byte{valI32, valI32, valI32}}

func (m *modInfo) funcCount() uint32 { return uint32(len(m.funcTypes)) }

// newFunc is the index a defined or imported function has after the
// checkpoint import is inserted after the imports.
func (m *modInfo) newFunc(i uint32) uint32 {
	if i >= m.importedFuncs {
		return i + 1
	}
	return i
}

func (m *modInfo) checkpointIdx() uint32 { return m.importedFuncs }
func (m *modInfo) fuelIdx() uint32       { return m.globals }
func (m *modInfo) spIdx() uint32         { return m.globals + 1 }

// funcInfo is what the first pass learns of one defined function.
type funcInfo struct {
	typ         uint32
	locals      uint32 // parameters and declared locals
	size        int    // instructions
	values      int    // values its instructions produce, at most
	callsGuest  bool   // calls a defined function, or call_indirect
	callsAny    bool   // any call, host functions included
	loops       bool
	bulk        bool // a bulk memory or table operation
	leadingLoop bool // the first thing it does, always, is enter a loop
}

// small functions need no check of their own (see smallLeaf).
func (f *funcInfo) small() bool {
	return !f.callsAny && !f.loops && !f.bulk && f.size <= smallLeaf
}

type section struct {
	id   byte
	body []byte
}

// instrument validates the indices of bin and returns it rewritten as
// described at the top of this file.
func instrument(bin []byte, lim meterLimits) ([]byte, error) {
	m, secs, err := scanModule(bin, lim, false)
	if err != nil {
		return nil, err
	}
	out := append(make([]byte, 0, len(bin)+len(bin)/4), bin[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	// New sections go where they belong; ids present are tracked so that a
	// module without imports or globals gains the section.
	have := map[byte]bool{}
	for _, s := range secs {
		have[s.id] = true
	}
	emitMissingBefore := func(id byte) error {
		for _, want := range []byte{secType, secImport, secGlobal} {
			if have[want] || (id != secCustom && sectionOrder[want] >= sectionOrder[id]) {
				continue
			}
			body, err := m.rewrite(section{want, appendU32(nil, 0)})
			if err != nil {
				return err
			}
			emit(want, body)
			have[want] = true
		}
		return nil
	}
	for _, s := range secs {
		if s.id == secCustom {
			if name, ok := customName(s.body); ok && name == "name" {
				if body := m.renumberNames(s.body); body != nil {
					emit(secCustom, body)
				}
			}
			// Other custom sections (DWARF and the like) are dropped: the
			// host does not use them and they cost memory.
			continue
		}
		if err := emitMissingBefore(s.id); err != nil {
			return nil, err
		}
		body, err := m.rewrite(s)
		if err != nil {
			return nil, err
		}
		emit(s.id, body)
	}
	if err := emitMissingBefore(secCustom); err != nil {
		return nil, err
	}
	// The rewrite adds control flow of its own (flowcost.go): the bounds
	// hold for what wazero compiles.
	if _, _, err := scanModule(out, lim, true); err != nil {
		return nil, fmt.Errorf("as rewritten: %w", err)
	}
	return out, nil
}

// scanModule reads bin's sections and scans them (modInfo.scan): every
// check of the module's shape the rewrite makes before emitting anything.
func scanModule(bin []byte, lim meterLimits, rewritten bool) (*modInfo, []section, error) {
	if len(bin) < 8 || !bytes.Equal(bin[:8], []byte("\x00asm\x01\x00\x00\x00")) {
		return nil, nil, errors.New("not a WebAssembly binary (bad magic or version)")
	}
	if len(bin) > MaxModuleBytes {
		return nil, nil, fmt.Errorf("%d MiB: larger than the host accepts (%d MiB)", len(bin)>>20, MaxModuleBytes>>20)
	}
	var secs []section
	r := reader{b: bin, off: 8}
	last := 0
	for !r.done() {
		if len(secs) == maxSections {
			// Empty custom sections are two bytes each; tracking 33 million
			// of them took 16 s, and wazero, which accepts them, 7 s more.
			return nil, nil, fmt.Errorf("more than %d sections", maxSections)
		}
		id := r.byte()
		n := r.u32()
		body := r.bytes(int(n))
		if r.err != nil {
			return nil, nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		if id == secCustom {
			secs = append(secs, section{id, body})
			continue
		}
		if int(id) >= len(sectionOrder) {
			return nil, nil, fmt.Errorf("section %d is not supported", id)
		}
		if sectionOrder[id] <= last {
			return nil, nil, fmt.Errorf("section %d is out of order or repeated", id)
		}
		last = sectionOrder[id]
		secs = append(secs, section{id, body})
	}
	m := &modInfo{lim: lim, rewritten: rewritten}
	if err := m.scan(secs); err != nil {
		return nil, nil, err
	}
	return m, secs, nil
}

// scan reads the sections the rewrite needs before it can emit any, and
// checks every index the module names.
func (m *modInfo) scan(secs []section) error {
	var code []byte
	for _, s := range secs {
		r := reader{b: s.body}
		var err error
		switch s.id {
		case secType:
			err = m.scanTypes(&r)
		case secImport:
			err = m.scanImports(&r)
		case secFunction:
			n := r.u32()
			if limit := m.room(maxFunctions, 2); n > limit { // the rewrite may add two helpers
				return fmt.Errorf("%d functions: more than the host accepts (%d)", n, limit)
			}
			for i := uint32(0); i < n && r.err == nil; i++ {
				t := r.u32()
				if t >= uint32(len(m.types)) {
					return fmt.Errorf("function %d: type %d does not exist", i, t)
				}
				m.funcTypes = append(m.funcTypes, t)
				m.funcs = append(m.funcs, funcInfo{typ: t})
			}
		case secTable:
			m.tables = r.u32()
			if m.tables > maxTables {
				return fmt.Errorf("%d tables: more than the host accepts (%d)", m.tables, maxTables)
			}
		case secMemory:
			n := r.u32()
			if n > 1 {
				return errors.New("more than one memory")
			}
			if n == 1 {
				if flags := r.byte(); flags&^0x01 != 0 {
					return fmt.Errorf("memory flags 0x%x (shared or 64-bit memory) are not supported", flags)
				}
			}
		case secGlobal:
			m.globals = r.u32()
			if limit := m.room(maxGlobals, 2); m.globals > limit {
				return fmt.Errorf("%d globals: more than the host accepts (%d)", m.globals, limit)
			}
			for i := uint32(0); i < m.globals && r.err == nil; i++ {
				vt, mut := r.byte(), r.byte()
				if !isValType(vt) || mut > 1 {
					return fmt.Errorf("global %d: type 0x%x mutability %d", i, vt, mut)
				}
				m.mutGlobals += int(mut)
				if _, err := m.constExpr(&r, nil); err != nil {
					return fmt.Errorf("global %d: %w", i, err)
				}
			}
		case secExport:
			if n := r.u32(); n > maxExports {
				return fmt.Errorf("%d exports: more than the host accepts (%d)", n, maxExports)
			}
		case secElement:
			m.elems = r.u32()
			if m.elems > maxElemSegments {
				return fmt.Errorf("%d element segments: more than the host accepts (%d)", m.elems, maxElemSegments)
			}
		case secDataCount:
			m.datas, m.hasDataCount = r.u32(), true
		case secData:
			if n := r.u32(); !m.hasDataCount {
				m.datas = n
			}
		case secCode:
			code = s.body
		}
		if err == nil {
			err = r.err
		}
		if err != nil {
			return fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	if code == nil && len(m.funcs) > 0 {
		return errors.New("function section without a code section")
	}
	if walks := len(m.funcs) * (len(m.types) + int(m.globals) + int(m.importedFuncs)); walks > maxFuncWalks {
		return fmt.Errorf("%d functions of %d types, %d globals and %d imports: more than the host accepts (functions times the rest at most %d)",
			len(m.funcs), len(m.types), m.globals, m.importedFuncs, maxFuncWalks)
	}
	if code != nil {
		return m.scanCode(code)
	}
	return nil
}

func (m *modInfo) scanTypes(r *reader) error {
	n := r.u32()
	if n > maxTypes {
		return fmt.Errorf("%d types: more than the host accepts (%d)", n, maxTypes)
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 {
			return fmt.Errorf("type %d: form 0x%x is not a function type", i, form)
		}
		var t funcType
		for _, dst := range []*[]byte{&t.params, &t.results} {
			k := r.u32()
			if k > 1000 {
				return fmt.Errorf("type %d: %d values", i, k)
			}
			for j := uint32(0); j < k && r.err == nil; j++ {
				vt := r.byte()
				if !isValType(vt) {
					return fmt.Errorf("type %d: value type 0x%x is not supported", i, vt)
				}
				*dst = append(*dst, vt)
			}
		}
		// wazero's work for a type grows with the square of its values.
		v := len(t.params) + len(t.results)
		if m.typeWork += v * v; m.typeWork > maxTypeWork {
			return fmt.Errorf("types of %d values squared in all: more than the host accepts (%d)", m.typeWork, maxTypeWork)
		}
		m.types = append(m.types, t)
	}
	return nil
}

func (m *modInfo) scanImports(r *reader) error {
	n := r.u32()
	if limit := m.room(maxImports, 1); n > limit { // the rewrite adds one
		return fmt.Errorf("%d imports: more than the host accepts (%d)", n, limit)
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		// wazero quotes an import it cannot link, twice, in the start
		// error the Collector logs: a name of 60 MiB of escapes made a
		// 440 MB log line and took 3.7 GiB to build. Every name the host
		// offers is short and plain, so any other could never link.
		for _, name := range [2][]byte{r.nameBytes(), r.nameBytes()} {
			if r.err == nil && !loggableName(name) {
				return fmt.Errorf("import %d: a name of %d bytes that is longer than %d or not printable: no such import exists", i, len(name), maxLoggableName)
			}
		}
		switch kind := r.byte(); kind {
		case 0x00:
			t := r.u32()
			if t >= uint32(len(m.types)) {
				return fmt.Errorf("import %d: type %d does not exist", i, t)
			}
			m.funcTypes = append(m.funcTypes, t)
			m.importedFuncs++
		default:
			// The host provides functions only: importing anything else
			// could never link.
			return fmt.Errorf("import %d: only functions can be imported (kind %d)", i, kind)
		}
	}
	return nil
}

// room is limit as the module may have it: in the module as sent, limit
// less what the rewrite adds, so that a module is refused for its own
// counts rather than for the rewrite's.
func (m *modInfo) room(limit, added uint32) uint32 {
	if m.rewritten {
		return limit
	}
	return limit - added
}

func isValType(t byte) bool {
	switch t {
	case 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F:
		return true
	}
	return false
}

func isRefType(t byte) bool { return t == 0x70 || t == 0x6F }

// scanCode is the first pass over every function body: it checks indices
// and learns what the second pass needs (funcInfo).
func (m *modInfo) scanCode(body []byte) error {
	// By the code's size, not the module's: a custom section of padding
	// compiles for free and must not buy merge work.
	m.mergeBudget = maxModuleMergeWork + mergeWorkPerByte*len(body)
	m.weightBudget = min(maxModuleWeight+weightPerByte*len(body), maxTotalWeight)
	r := reader{b: body}
	n := r.u32()
	if n != uint32(len(m.funcs)) {
		return fmt.Errorf("code section: %d bodies for %d functions", n, len(m.funcs))
	}
	for i := range m.funcs {
		size := r.u32()
		if size > maxFuncBodyBytes {
			return fmt.Errorf("function %d: body of %d bytes is larger than the host accepts", i, size)
		}
		code := r.bytes(int(size))
		if r.err != nil {
			return fmt.Errorf("code section: %w", r.err)
		}
		if err := m.scanFunc(&m.funcs[i], code); err != nil {
			return fmt.Errorf("function %d: %w", int(m.importedFuncs)+i, err)
		}
		// The rewrite's checks add instructions of their own.
		limit := maxInstructions
		if m.rewritten {
			limit *= 2
		}
		if m.instrs += m.funcs[i].size; m.instrs > limit {
			return fmt.Errorf("more than %d instructions: more than the host accepts", limit)
		}
	}
	if !r.done() {
		return errors.New("code section: trailing bytes")
	}
	return nil
}

func (m *modInfo) scanFunc(f *funcInfo, code []byte) error {
	r := reader{b: code}
	nLocals, err := readLocals(&r, uint32(len(m.types[f.typ].params)))
	if err != nil {
		return err
	}
	f.locals = nLocals
	if m.locals += int(nLocals); m.locals > maxLocals {
		return fmt.Errorf("more than %d locals in all functions", maxLocals)
	}
	depth := 1
	prefix := true   // still in the straight-line prefix before any loop
	var loops []bool // for each open block, whether it is a loop
	loopDepth, maxLoopDepth := 0, 0
	phiWork := 0
	// What wazero's SSA passes pay at control-flow merges (see
	// maxMergeWork): for each edge into a block, the square of the locals
	// the function reads and the values the edge carries. The locals read
	// are known at the end, so the sum is kept expanded: edges, and the
	// sums of the values carried and of their squares.
	blocks := []openBlock{{op: opEnd, results: len(m.types[f.typ].results)}}
	blocks[0].branch = blocks[0].results
	edges, carried, carriedSq := 0, 0, 0
	edge := func(c int) { edges, carried, carriedSq = edges+1, carried+c, carriedSq+c*c }
	var fc flowCost
	// into is a branch to label l: an edge into that block.
	into := func(l uint32) *openBlock {
		b := &blocks[len(blocks)-1-int(l)]
		b.preds++
		b.chainIn += fc.chain
		return b
	}
	m.stamp++
	if len(m.localRead) < int(f.locals) {
		m.localRead = make([]uint32, f.locals)
	}
	localsRead := 0
	for depth > 0 {
		if r.done() {
			return errors.New("body ends before its end")
		}
		in, err := m.decode(&r, f.locals)
		if err != nil {
			return err
		}
		f.size++
		f.values += m.produces(in)
		fc.weight += m.compileWeight(in)
		floor := blocks[len(blocks)-1].base // the innermost block's
		switch in.op {
		case opBlock, opIf, opLoop:
			b := openBlock{op: in.op}
			if in.typ >= 0 {
				b.results = len(m.types[in.typ].results)
				b.params = len(m.types[in.typ].params)
			} else if in.single {
				b.results = 1
			}
			b.branch = b.results
			if in.op == opIf {
				fc.pop(1, floor) // the condition
			}
			b.base = max(fc.height-b.params, floor)
			b.chain = fc.chain
			switch in.op {
			case opLoop:
				b.branch = b.params
				b.preds++ // the entry
				b.chainIn += fc.chain
				edge(b.params)
				fc.block(1) // the header
				fc.chain++  // of one predecessor until a branch back
			case opIf:
				fc.block(2) // the arms
				fc.chain++  // the first arm's one predecessor
			}
			blocks = append(blocks, b)
		case opElse:
			b := &blocks[len(blocks)-1]
			fc.height = b.base + b.params
			fc.chain = b.chain + 1
		case opEnd:
			b := blocks[len(blocks)-1]
			blocks = blocks[:len(blocks)-1]
			edge(b.results) // the fall-through
			b.preds++
			b.chainIn += fc.chain
			if b.op == opIf {
				edge(b.results) // the other arm
				b.preds++
				b.chainIn += b.chain + 1
			}
			if b.preds > 1 {
				// A merge: the first read of a local below it looks the
				// local up in every edge into it, each back along its
				// chain (flowCost.merged).
				fc.merged += b.chainIn
			}
			fc.preds += b.preds * b.preds
			// The results are on the stack, even after an unconditional
			// branch, where the estimate had dropped to the base.
			fc.height = b.base
			fc.push(b.results)
			fc.block(1) // what follows
			// Branches to a loop go to its header: what follows the loop
			// has the fall-through alone.
			if b.op != opLoop && b.preds > 1 {
				fc.chain = 0 // a merge: a read stops here
			} else {
				fc.chain++
			}
		case opBr, opBrIf:
			if in.idx < uint32(len(blocks)) {
				edge(into(in.idx).branch)
			}
			if in.op == opBrIf {
				fc.pop(1, floor)
				fc.block(1) // the fall-through
				fc.chain++
			} else {
				fc.height = floor // what follows is unreachable
			}
		case opBrTable:
			fc.pop(1, floor)
			for _, l := range m.labels {
				if l < uint32(len(blocks)) {
					edge(into(l).branch)
				}
			}
			fc.labelBlocks(len(m.labels)) // a block of its own for each label
			fc.height = floor
		case opReturn:
			// The rewrite makes a return a branch out of the block it
			// wraps the body in.
			edge(into(uint32(len(blocks) - 1)).branch)
			fc.height = floor
		case opUnreachable:
			fc.height = floor
		default:
			pops, pushes := m.stackEffect(in)
			fc.pop(pops, floor)
			fc.push(pushes)
			if in.op == opLocalGet {
				fc.walks += fc.chain
				if m.localRead[in.idx] != m.stamp {
					m.localRead[in.idx] = m.stamp
					localsRead++
				}
			}
		}
		switch in.op {
		case opBlock, opIf, opLoop:
			depth++
			if depth > maxControlNesting {
				return errors.New("blocks nested too deeply")
			}
			loops = append(loops, in.op == opLoop)
			if in.op == opLoop {
				loopDepth++
				maxLoopDepth = max(maxLoopDepth, loopDepth)
				phiWork += loopDepth * loopHeaderWork
			}
		case opEnd:
			depth--
			if n := len(loops); n > 0 {
				if loops[n-1] {
					loopDepth--
				}
				loops = loops[:n-1]
			}
		case opRefFunc:
			// wazero allocates a function reference for every ref.func it
			// runs and keeps it until the instance closes: a million a
			// batch grew the heap by 31 MiB a batch, outside every limit,
			// and took 70-800 ms, past the deadline, charged as one
			// instruction (attack round 27b). Compilers emit it in code
			// only for explicit funcref values; tables (call_indirect),
			// which every language uses for function pointers, and
			// ref.func in element segments and globals, which run once at
			// start, are unaffected.
			return fmt.Errorf("ref.func at %d: not accepted in code, where each one costs the host memory it keeps for the instance's life; reference functions through a table", in.start)
		case opBr, opBrIf, opBrTable:
			// A label past the function's own would, once the body is
			// wrapped in a block, reach that block: refuse it here, as
			// the module's validation would have.
			if in.idx >= uint32(depth) {
				return fmt.Errorf("instruction 0x%02x at %d: label %d does not exist", in.op, in.start, in.idx)
			}
		case opLocalGet, opLocalSet, opLocalTee:
			// wazero's compiler gives a local a value at the head of
			// every loop around an access to it, and a stack slot to each
			// that lives across a call: count them in the frame, and bound
			// the work they make for the compiler.
			phiWork += loopDepth
			if in.op != opLocalGet {
				f.values += loopDepth
			}
		}
		if phiWork > maxLoopVariableWork {
			return fmt.Errorf("locals accessed inside nested loops %d times over: more than the host accepts (%d)", phiWork, maxLoopVariableWork)
		}
		switch {
		case in.op == opLoop:
			f.loops = true
			if prefix {
				f.leadingLoop = true
			}
			prefix = false
		case in.op == opCall:
			f.callsAny = true
			if in.idx >= m.importedFuncs {
				f.callsGuest = true
			}
		case in.op == opCallIndir:
			f.callsAny, f.callsGuest = true, true
		case in.bulk:
			f.bulk = true
			if in.op == opPrefixFC && in.sub == 11 {
				m.usesFill = true
			} else if in.op == opPrefixFC && in.sub == 10 {
				m.usesCopy = true
			}
			if (in.sub == 10 || in.sub == 11) && !m.rewritten && !m.lim.loopsOnly {
				// The rewrite wraps it (appendLargeBulk): what it adds
				// counts here, where the module's own code is judged.
				fc.block(rewrittenBulkBlocks)
				fc.weight += rewrittenBulk
			}
		}
		if prefix && !straight(in) {
			prefix = false
		}
	}
	if !r.done() {
		return errors.New("bytes after the body's end")
	}
	// The redundant-phi pass removes one level of nested loops' phis per
	// round, and runs until nothing changes: n nested loops with a back
	// edge each, reading k locals in the innermost, cost k²n² (64 locals
	// in 512 loops, 4.3 KB: 2.55 s; 256 in 512, 6.4 KB: 19 s).
	mergeWork := (edges*localsRead*localsRead + 2*localsRead*carried + carriedSq) * (maxLoopDepth + 1)
	if mergeWork > maxMergeWork {
		return fmt.Errorf("control flow merging %d values over: more than the host accepts (%d)", mergeWork, maxMergeWork)
	}
	if m.loopWork += phiWork; m.loopWork > maxModuleLoopWork {
		return fmt.Errorf("locals and loops nested %d times over in all functions: more than the host accepts (%d)", m.loopWork, maxModuleLoopWork)
	}
	if m.mergeWork += mergeWork; m.mergeWork > m.mergeBudget {
		return fmt.Errorf("control flow merging %d values over in all functions: more than the host accepts for the code's size (%d)", m.mergeWork, m.mergeBudget)
	}
	fc.mergedReads(localsRead)
	if err := fc.check(); err != nil {
		return err
	}
	m.maxLive, m.maxPreds = max(m.maxLive, fc.live), max(m.maxPreds, fc.preds)
	m.maxBlocks = max(m.maxBlocks, fc.blocks+fc.labels)
	m.maxWalks, m.maxHeight = max(m.maxWalks, fc.walks), max(m.maxHeight, fc.maxHeight)
	if m.liveWork += fc.live; m.liveWork > maxModuleLiveWork {
		return fmt.Errorf("values live on the operand stack across blocks %d times over in all functions: more than the host accepts (%d)", m.liveWork, maxModuleLiveWork)
	}
	if m.predWork += fc.preds; m.predWork > maxModulePredWork {
		return fmt.Errorf("branches into the same block %d times over (squared) in all functions: more than the host accepts (%d)", m.predWork, maxModulePredWork)
	}
	if m.walkWork += fc.walks; m.walkWork > maxModuleWalkWork {
		return fmt.Errorf("locals read across chains of blocks %d times over in all functions: more than the host accepts (%d)", m.walkWork, maxModuleWalkWork)
	}
	m.maxWeight = max(m.maxWeight, fc.weight)
	if m.weight += fc.weight; m.weight > m.weightBudget {
		return fmt.Errorf("instructions estimated to take %d MiB to compile in all functions: more than the host accepts for the code's size (%d MiB)", m.weight>>20, m.weightBudget>>20)
	}
	if m.blockWork += fc.blockWork(); m.blockWork > maxModuleBlockWork {
		return fmt.Errorf("basic blocks %d times over in all functions: more than the host accepts (%d)", m.blockWork, maxModuleBlockWork)
	}
	return nil
}

// openBlock is what scanFunc keeps of a block, if or loop being read.
type openBlock struct {
	op              byte // opBlock, opIf, opLoop; opEnd for the function's body
	results, params int
	branch          int // the values a branch to it carries
	// base is the operand stack's height under the block (flowCost),
	// preds the edges into it so far, chain flowCost.chain where it
	// opened, and chainIn the chains of the edges into it, summed.
	base, preds, chain, chainIn int
}

// produces bounds the values in leaves on the operand stack: one, or a
// call's or typed block's results.
func (m *modInfo) produces(in instr) int {
	switch in.op {
	case opCall:
		// A call's arguments were counted where they were produced, but
		// wazero also copies them into the frame's argument area.
		t := m.types[m.funcTypes[in.idx]]
		return len(t.params) + len(t.results)
	case opCallIndir:
		t := m.types[in.typ]
		return len(t.params) + len(t.results)
	case opBlock, opLoop, opIf:
		if in.typ >= 0 {
			return len(m.types[in.typ].results)
		}
	}
	return 1
}

// straight: instructions that may come before a leading loop. They neither
// branch nor call, so the loop they lead to is always reached.
func straight(in instr) bool {
	switch {
	case in.op == opBlock, in.op == 0x01 /* nop */, in.op == 0x1A, in.op == 0x1B, in.op == 0x1C,
		in.op >= opLocalGet && in.op <= opGlobalSet, in.op >= 0x28 && in.op <= 0x3F,
		in.op >= 0x41 && in.op <= 0xC4:
		return true
	}
	return false
}

func readLocals(r *reader, params uint32) (uint32, error) {
	total := uint64(params)
	groups := r.u32()
	for i := uint32(0); i < groups && r.err == nil; i++ {
		total += uint64(r.u32())
		if vt := r.byte(); !isValType(vt) {
			return 0, fmt.Errorf("locals: value type 0x%x is not supported", vt)
		}
		if total > maxLocalsPerFunc {
			return 0, fmt.Errorf("more than %d locals", maxLocalsPerFunc)
		}
	}
	if r.err != nil {
		return 0, fmt.Errorf("locals: %w", r.err)
	}
	return uint32(total), nil
}

// instr is one decoded instruction.
type instr struct {
	op, sub byte   // sub for the 0xFC and 0xFD prefixes
	idx     uint32 // the function of call and ref.func; the deepest label of a branch; a local
	start   int    // offset of the opcode in the body
	bulk    bool   // a bulk operation whose last operand is a count
	table   bool   // ... counting table elements rather than bytes
	typ     int32  // the type of call_indirect or a typed block, or -1
	single  bool   // a block typed by one value type: one result
}

// decode reads one instruction, checking every index it names against the
// module's own index spaces.
func (m *modInfo) decode(r *reader, locals uint32) (instr, error) {
	in := instr{start: r.off, typ: -1}
	in.op = r.byte()
	op := in.op
	idxErr := func(what string, i, n uint32) error {
		return fmt.Errorf("instruction 0x%02x at %d: %s %d does not exist (the module has %d)", op, in.start, what, i, n)
	}
	checkType := func() error {
		t := r.u32()
		if t >= uint32(len(m.types)) {
			return idxErr("type", t, uint32(len(m.types)))
		}
		in.typ = int32(t)
		return nil
	}
	checkTable := func() error {
		if t := r.u32(); t >= m.tables {
			return idxErr("table", t, m.tables)
		}
		return nil
	}
	switch {
	case op == 0x00, op == 0x01, op == opElse, op == opEnd, op == opReturn, op == 0x1A, op == 0x1B,
		op >= 0x45 && op <= 0xC4, op == 0xD1:
	case op >= opBlock && op <= opIf:
		t, err := m.blockType(r)
		if err != nil {
			return in, err
		}
		in.typ = t
		in.single = t < 0 && isValType(r.b[r.off-1])
	case op == opBr, op == opBrIf:
		in.idx = r.u32()
	case op == opBrTable:
		n := r.u32()
		m.labels = m.labels[:0]
		for i := uint32(0); i <= n && r.err == nil; i++ {
			l := r.u32()
			in.idx = max(in.idx, l) // the deepest label, for scanFunc
			m.labels = append(m.labels, l)
		}
	case op == opCall, op == opRefFunc:
		in.idx = r.u32()
		if in.idx >= m.funcCount() {
			return in, idxErr("function", in.idx, m.funcCount())
		}
	case op == opCallIndir:
		if err := checkType(); err != nil {
			return in, err
		}
		if err := checkTable(); err != nil {
			return in, err
		}
	case op == 0x1C:
		n := r.u32()
		if n != 1 {
			return in, fmt.Errorf("select with %d types", n)
		}
		if vt := r.byte(); !isValType(vt) {
			return in, fmt.Errorf("select: value type 0x%x", vt)
		}
	case op >= opLocalGet && op <= opLocalTee:
		if in.idx = r.u32(); in.idx >= locals {
			return in, idxErr("local", in.idx, locals)
		}
	case op == opGlobalGet, op == opGlobalSet:
		if i := r.u32(); i >= m.globals {
			return in, idxErr("global", i, m.globals)
		}
	case op == 0x25, op == 0x26: // table.get, table.set
		if err := checkTable(); err != nil {
			return in, err
		}
	case op >= 0x28 && op <= 0x3E:
		if err := memarg(r); err != nil {
			return in, err
		}
	case op == 0x3F, op == 0x40:
		if b := r.byte(); b != 0 {
			return in, fmt.Errorf("memory %d does not exist", b)
		}
	case op == opI32Const:
		r.leb(5)
	case op == 0x42:
		r.leb(10)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xD0:
		if t := r.byte(); !isRefType(t) {
			return in, fmt.Errorf("ref.null of type 0x%x", t)
		}
	case op == opPrefixFC:
		return in, m.decodeFC(r, &in, idxErr, checkTable)
	case op == opPrefixFD:
		return in, decodeFD(r, &in)
	default:
		return in, fmt.Errorf("opcode 0x%02x at %d is not supported", op, in.start)
	}
	return in, r.err
}

func (m *modInfo) decodeFC(r *reader, in *instr, idxErr func(string, uint32, uint32) error, checkTable func() error) error {
	sub := r.u32()
	if sub > 17 {
		return fmt.Errorf("opcode 0xfc %d is not supported", sub)
	}
	in.sub = byte(sub)
	memZero := func() error {
		if b := r.byte(); b != 0 {
			return fmt.Errorf("memory %d does not exist", b)
		}
		return nil
	}
	data := func() error {
		if d := r.u32(); d >= m.datas {
			return idxErr("data segment", d, m.datas)
		}
		return nil
	}
	elem := func() error {
		if e := r.u32(); e >= m.elems {
			return idxErr("element segment", e, m.elems)
		}
		return nil
	}
	var err error
	switch sub {
	case 8: // memory.init data mem
		in.bulk = true
		if err = data(); err == nil {
			err = memZero()
		}
	case 9: // data.drop
		err = data()
	case 10: // memory.copy
		in.bulk = true
		if err = memZero(); err == nil {
			err = memZero()
		}
	case 11: // memory.fill
		in.bulk = true
		err = memZero()
	case 12: // table.init elem table
		in.bulk, in.table = true, true
		if err = elem(); err == nil {
			err = checkTable()
		}
	case 13: // elem.drop
		err = elem()
	case 14: // table.copy
		in.bulk, in.table = true, true
		if err = checkTable(); err == nil {
			err = checkTable()
		}
	case 15, 17: // table.grow, table.fill
		in.bulk, in.table = true, true
		err = checkTable()
	case 16: // table.size
		err = checkTable()
	}
	if err != nil {
		return err
	}
	return r.err
}

func decodeFD(r *reader, in *instr) error {
	sub := r.u32()
	if sub > 0xFF {
		return fmt.Errorf("opcode 0xfd %d is not supported", sub)
	}
	in.sub = byte(sub)
	switch {
	case sub <= 0x0B, sub == 0x5C, sub == 0x5D:
		return memarg(r)
	case sub == 0x0C, sub == 0x0D: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 0x15 && sub <= 0x22: // extract and replace lane
		r.byte()
	case sub >= 0x54 && sub <= 0x5B: // load and store lane
		if err := memarg(r); err != nil {
			return err
		}
		r.byte()
	}
	return r.err
}

func memarg(r *reader) error {
	if align := r.u32(); align&0x40 != 0 {
		return errors.New("multiple memories are not supported")
	}
	r.u32()
	return r.err
}

// blockType reads a block type: the type index it names, or -1.
func (m *modInfo) blockType(r *reader) (int32, error) {
	if r.off >= len(r.b) {
		r.fail(errShort)
		return -1, r.err
	}
	c := r.b[r.off]
	if c == blockEmpty || isValType(c) {
		r.off++
		return -1, nil
	}
	t := r.leb(5) // s33: a type index, non-negative
	if r.err == nil && (t >= uint64(len(m.types)) || t >= 1<<31) {
		return -1, fmt.Errorf("block type %d does not exist", t)
	}
	return int32(t), r.err
}

// rewrite returns a section's new body.
func (m *modInfo) rewrite(s section) ([]byte, error) {
	r := reader{b: s.body}
	var out []byte
	var err error
	switch s.id {
	case secType:
		out, err = m.rewriteTypes(&r)
	case secImport:
		out, err = m.rewriteImports(&r)
	case secTable:
		out, err = m.rewriteTables(&r)
	case secGlobal:
		out, err = m.rewriteGlobals(&r)
	case secExport:
		out, err = m.rewriteExports(&r)
	case secFunction:
		n := r.u32()
		out = appendU32(nil, n+m.helpers())
		out = append(out, r.b[r.off:]...)
		r.off = len(r.b)
		for i := uint32(0); i < m.helpers(); i++ {
			out = appendU32(out, m.typeIndex(bulkHelperType))
		}
	case secStart:
		i := r.u32()
		if i >= m.funcCount() {
			return nil, fmt.Errorf("start function %d does not exist", i)
		}
		out = appendU32(nil, m.newFunc(i))
	case secElement:
		out, err = m.rewriteElements(&r)
	case secData:
		out, err = m.rewriteData(&r)
	case secCode:
		out, err = m.rewriteCode(&r)
	default:
		return s.body, nil
	}
	if err == nil && r.err != nil {
		err = r.err
	}
	if err == nil && !r.done() {
		err = errors.New("trailing bytes")
	}
	if err != nil {
		return nil, fmt.Errorf("section %d: %w", s.id, err)
	}
	return out, nil
}

// The rewritten code needs the checkpoint's type, (i32) -> (i32), and a
// block type for the function wrappers of multi-value functions. Types are
// appended, so no existing type index moves.
func (m *modInfo) typeIndex(t funcType) uint32 {
	key := string(t.params) + "|" + string(t.results)
	if m.typeIdx == nil {
		m.typeIdx = make(map[string]uint32, len(m.types))
		for i := len(m.types) - 1; i >= 0; i-- { // the first of equal types wins
			have := m.types[i]
			m.typeIdx[string(have.params)+"|"+string(have.results)] = uint32(i)
		}
	}
	if i, ok := m.typeIdx[key]; ok {
		return i
	}
	m.extraTypes = append(m.extraTypes, t)
	i := uint32(len(m.types) + len(m.extraTypes) - 1)
	m.typeIdx[key] = i
	return i
}

var checkpointType = funcType{params: []byte{valI32}, results: []byte{valI32}}

func (m *modInfo) rewriteTypes(r *reader) ([]byte, error) {
	n := r.u32()
	rest := r.b[r.off:]
	r.off = len(r.b)
	// Every type the code needs is known once the type section is
	// emitted: the checkpoint's, and one per multi-result function.
	m.typeIndex(checkpointType)
	if m.usesFill || m.usesCopy {
		m.typeIndex(bulkHelperType)
	}
	for _, f := range m.funcs {
		if res := m.types[f.typ].results; len(res) > 1 {
			m.typeIndex(funcType{results: res})
		}
	}
	out := appendU32(nil, n+uint32(len(m.extraTypes)))
	out = append(out, rest...)
	for _, t := range m.extraTypes {
		out = append(out, 0x60)
		out = append(appendU32(out, uint32(len(t.params))), t.params...)
		out = append(appendU32(out, uint32(len(t.results))), t.results...)
	}
	return out, nil
}

func (m *modInfo) rewriteImports(r *reader) ([]byte, error) {
	n := r.u32()
	out := appendU32(nil, n+1)
	out = append(out, r.b[r.off:]...)
	r.off = len(r.b)
	out = appendName(out, ModuleName)
	out = appendName(out, CheckpointFunc)
	out = append(out, 0x00)
	return appendU32(out, m.typeIndex(checkpointType)), nil
}

func (m *modInfo) rewriteTables(r *reader) ([]byte, error) {
	n := r.u32()
	out := appendU32(nil, n)
	per := m.lim.TableElems / max(n, 1)
	for i := uint32(0); i < n && r.err == nil; i++ {
		rt := r.byte()
		if !isRefType(rt) {
			return nil, fmt.Errorf("table %d: element type 0x%x", i, rt)
		}
		flags := r.byte()
		if flags > 1 {
			return nil, fmt.Errorf("table %d: limits flags 0x%x", i, flags)
		}
		lo := r.u32()
		hi := uint32(per)
		if flags == 1 {
			hi = min(hi, r.u32())
		}
		if lo > hi {
			return nil, fmt.Errorf("table %d: %d initial elements, over the limit of %d", i, lo, hi)
		}
		out = append(out, rt, 0x01)
		out = appendU32(appendU32(out, lo), hi)
	}
	return out, nil
}

func (m *modInfo) rewriteGlobals(r *reader) ([]byte, error) {
	n := r.u32()
	out := appendU32(nil, n+2)
	for i := uint32(0); i < n && r.err == nil; i++ {
		vt, mut := r.byte(), r.byte()
		if !isValType(vt) || mut > 1 {
			return nil, fmt.Errorf("global %d: type 0x%x mutability %d", i, vt, mut)
		}
		out = append(out, vt, mut)
		var err error
		if out, err = m.constExpr(r, out); err != nil {
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
	}
	out = append(out, valI32, 0x01) // $fuel
	out = appendI32Const(out, fuelBudget)
	out = append(out, opEnd, valI32, 0x01) // $sp
	out = appendI32Const(out, 0)
	return append(out, opEnd), nil
}

// constExpr copies a constant expression: a single constant or ref.func
// (renumbered), then end. global.get could only name an imported global,
// and the host provides none.
func (m *modInfo) constExpr(r *reader, out []byte) ([]byte, error) {
	start := r.off
	switch op := r.byte(); op {
	case opI32Const:
		r.leb(5)
	case 0x42:
		r.leb(10)
	case 0x43:
		r.bytes(4)
	case 0x44:
		r.bytes(8)
	case 0xD0:
		if t := r.byte(); !isRefType(t) {
			return nil, fmt.Errorf("ref.null of type 0x%x", t)
		}
	case opPrefixFD:
		if sub := r.u32(); sub != 0x0C {
			return nil, fmt.Errorf("constant expression: opcode 0xfd %d", sub)
		}
		r.bytes(16)
	case opRefFunc:
		i := r.u32()
		if i >= m.funcCount() {
			return nil, fmt.Errorf("ref.func %d does not exist", i)
		}
		if end := r.byte(); end != opEnd || r.err != nil {
			return nil, errors.New("constant expression: more than one instruction")
		}
		return append(appendU32(append(out, opRefFunc), m.newFunc(i)), opEnd), nil
	default:
		return nil, fmt.Errorf("constant expression: opcode 0x%02x is not supported", op)
	}
	if end := r.byte(); end != opEnd || r.err != nil {
		return nil, errors.New("constant expression: more than one instruction")
	}
	return append(out, r.b[start:r.off]...), nil
}

func (m *modInfo) rewriteExports(r *reader) ([]byte, error) {
	n := r.u32()
	// Sized up front: a section of 57 MB of names allocated 432 MiB when
	// grown append by append. Renumbering lengthens an index by a byte at
	// most. The count goes in front once the kept exports are known.
	out := make([]byte, 0, len(r.b)+int(min(n, maxExports))+5)
	kept, names := uint32(0), 0
	for i := uint32(0); i < n && r.err == nil; i++ {
		name := r.nameBytes()
		kind, idx := r.byte(), r.u32()
		var limit uint32
		switch kind {
		case 0x00:
			limit = m.funcCount()
		case 0x01:
			limit = m.tables
		case 0x02:
			limit = 1
		case 0x03:
			limit = m.globals
		default:
			return nil, fmt.Errorf("export %d: kind %d", i, kind)
		}
		if idx >= limit {
			return nil, fmt.Errorf("export %d: index %d does not exist", i, idx)
		}
		if kind == 0x00 {
			idx = m.newFunc(idx)
		}
		// wazero quotes the export names of a start function that traps
		// in its error, and builds the whole text before the host can cut
		// it: a 60 MiB name took 9 s and 2.8 GiB at every start attempt,
		// 90,000 names of 605 bytes 2.2 GiB. So exports are kept only
		// under names the host would log, maxExportNames bytes of them in
		// all; the rest are dropped, which changes nothing the host calls
		// (the ABI's names are short and plain) and lets a C module built
		// with --export-all start.
		if !loggableName(name) || names+len(name) > maxExportNames {
			continue
		}
		names += len(name)
		kept++
		out = append(appendU32(out, uint32(len(name))), name...)
		out = appendU32(append(out, kind), idx)
	}
	return append(appendU32(make([]byte, 0, len(out)+5), kept), out...), nil
}

func (m *modInfo) rewriteElements(r *reader) ([]byte, error) {
	n := r.u32()
	out := appendU32(nil, n)
	var err error
	entries := 0
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		if flags > 7 {
			return nil, fmt.Errorf("element %d: flags %d", i, flags)
		}
		out = appendU32(out, flags)
		if flags == 2 || flags == 6 { // explicit table
			t := r.u32()
			if t >= m.tables {
				return nil, fmt.Errorf("element %d: table %d does not exist", i, t)
			}
			out = appendU32(out, t)
		}
		if flags&1 == 0 { // active: an offset
			if out, err = m.constExpr(r, out); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
		if flags&3 != 0 { // element kind or reference type
			out = append(out, r.byte())
		}
		count := r.u32()
		if entries += int(count); entries > maxElemEntries {
			return nil, fmt.Errorf("%d element entries: more than the host accepts (%d)", entries, maxElemEntries)
		}
		out = appendU32(out, count)
		for j := uint32(0); j < count && r.err == nil; j++ {
			if flags&4 == 0 {
				f := r.u32()
				if f >= m.funcCount() {
					return nil, fmt.Errorf("element %d: function %d does not exist", i, f)
				}
				out = appendU32(out, m.newFunc(f))
			} else if out, err = m.constExpr(r, out); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
	}
	return out, nil
}

func (m *modInfo) rewriteData(r *reader) ([]byte, error) {
	n := r.u32()
	if n > maxDataSegmentsIn {
		return nil, fmt.Errorf("%d data segments: more than the host accepts (%d)", n, maxDataSegmentsIn)
	}
	// Without a data count section no code can name a segment, so
	// segments may be joined.
	if !m.hasDataCount && r.err == nil {
		if out, ok := mergeData(r.b[r.off:], n); ok {
			r.off = len(r.b)
			return out, nil
		}
	}
	if n > maxDataSegments {
		return nil, fmt.Errorf("%d data segments that cannot be joined: more than the host accepts (%d)", n, maxDataSegments)
	}
	out := appendU32(nil, n)
	var err error
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		out = appendU32(out, flags)
		switch flags {
		case 0:
		case 1:
		case 2:
			if mem := r.u32(); mem != 0 {
				return nil, fmt.Errorf("data %d: memory %d does not exist", i, mem)
			}
			out = appendU32(out, 0)
		default:
			return nil, fmt.Errorf("data %d: flags %d", i, flags)
		}
		if flags != 1 {
			if out, err = m.constExpr(r, out); err != nil {
				return nil, fmt.Errorf("data %d: %w", i, err)
			}
		}
		size := r.u32()
		if flags == 1 && size > bulkChunk {
			// memory.init copies from a passive segment in one step,
			// which no check splits, as memory.copy and memory.fill are
			// split (appendLargeBulk): 60 MiB took 6-220 ms under a
			// 2-5 ms timeout (attack round 27b). Active segments are
			// applied at start, and toolchains make passive ones only
			// for shared memories, which the host refuses.
			return nil, fmt.Errorf("data %d: a passive segment of %d bytes: more than the host accepts (%d)", i, size, bulkChunk)
		}
		out = append(appendU32(out, size), r.bytes(int(size))...)
	}
	return out, nil
}

// Bounds on data segments: wazero keeps a descriptor of about 100 bytes
// for each, and 24 bytes more in every instance. A module may hold more
// than maxDataSegments if mergeData joins them to fewer.
const (
	maxDataSegments   = 100_000
	maxDataSegmentsIn = 1_000_000
	maxDataGap        = 256 // zeros written to join two segments
	maxDataRuns       = 8   // ascending runs of segments
)

// mergeData rewrites a data section body (after its count, n) whose
// segments are all active at constant offsets, joining segments that
// follow one another in memory with zeros in the gaps, where that cannot
// change what memory holds once they are all applied. Go writes a
// module's data as tens of thousands of segments split at runs of zeros
// (the built-in bundle: 43,410 of 26 bytes on average), and wazero keeps
// a descriptor for each, in the heap and in every instance (about 8 MiB
// for the default config's four processors), and copies them one by one
// at every instantiation.
//
// Segments are applied in order, so a gap may be filled only if no
// earlier segment wrote into it; a later one overwrites the zeros as it
// overwrote what was there. Within an ascending run the earlier segments
// lie below the gap, so only earlier runs are checked. It gives up (false)
// on any other kind of segment or past maxDataRuns runs; zeros are
// written only while they add up to less than the section's size.
func mergeData(body []byte, n uint32) ([]byte, bool) {
	r := reader{b: body}
	var (
		runs   [][]dataSpan // ascending; the last is the current one
		out    []byte
		cur    []byte // the segment being built, at curOff
		curOff uint64
		count  uint32
		zeros  int
	)
	emit := func() {
		if cur == nil {
			return
		}
		out = appendI32Const(append(out, 0), int32(uint32(curOff))) // flags 0: active, memory 0
		out = append(appendU32(append(out, opEnd), uint32(len(cur))), cur...)
		count++
		cur = nil
	}
	for i := uint32(0); i < n; i++ {
		if r.byte() != 0 || r.byte() != opI32Const { // flags 0: active in memory 0
			return nil, false
		}
		start := r.off - 1
		r.leb(5)
		if r.byte() != opEnd || r.err != nil {
			return nil, false
		}
		off, ok := constI32(r.b[start:r.off])
		init := r.bytes(int(r.u32()))
		if !ok || r.err != nil {
			return nil, false
		}
		s := dataSpan{uint64(off), uint64(off) + uint64(len(init))}
		last := len(runs) - 1
		if last < 0 || s.off < runs[last][len(runs[last])-1].end {
			if len(runs) == maxDataRuns {
				return nil, false
			}
			emit()
			runs = append(runs, nil)
			last++
		}
		curEnd := curOff + uint64(len(cur))
		if cur != nil && s.off >= curEnd && s.off-curEnd <= maxDataGap && zeros+int(s.off-curEnd) <= len(body) &&
			!writtenBefore(runs[:last], curEnd, s.off) {
			zeros += int(s.off - curEnd)
			cur = append(append(cur, zeroBytes[:s.off-curEnd]...), init...)
		} else {
			emit()
			cur, curOff = append(make([]byte, 0, len(init)), init...), s.off
		}
		runs[last] = append(runs[last], s)
	}
	emit()
	if !r.done() {
		return nil, false
	}
	return append(appendU32(make([]byte, 0, len(out)+5), count), out...), true
}

var zeroBytes [maxDataGap]byte

// dataSpan is the memory a data segment writes, [off, end).
type dataSpan struct{ off, end uint64 }

// writtenBefore reports whether a segment of an earlier run overlaps
// [lo, hi). Each run is ascending, so a binary search finds the first
// segment ending past lo.
func writtenBefore(runs [][]dataSpan, lo, hi uint64) bool {
	for _, run := range runs {
		i := sort.Search(len(run), func(i int) bool { return run[i].end > lo })
		if i < len(run) && run[i].off < hi {
			return true
		}
	}
	return false
}

// constI32 returns K if expr is exactly i32.const K, as wazero reads it:
// an offset of 32 bits.
func constI32(expr []byte) (uint32, bool) {
	if len(expr) < 3 || expr[0] != opI32Const || expr[len(expr)-1] != opEnd {
		return 0, false
	}
	var v int64
	var shift uint
	for i, c := range expr[1 : len(expr)-1] {
		v |= int64(c&0x7F) << shift
		shift += 7
		if c&0x80 == 0 {
			if i != len(expr)-3 {
				return 0, false
			}
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return uint32(v), true
		}
	}
	return 0, false
}

func (m *modInfo) helpers() uint32 {
	n := uint32(0)
	if m.usesFill {
		n++
	}
	if m.usesCopy {
		n++
	}
	return n
}

func (m *modInfo) rewriteCode(r *reader) ([]byte, error) {
	n := r.u32()
	// Room for the checks up front: growing a body of megabytes copies it.
	out := appendU32(make([]byte, 0, len(r.b)+len(r.b)/4), n+m.helpers())
	var fn []byte
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		var err error
		if fn, err = m.rewriteFunc(fn[:0], &m.funcs[i], code); err != nil {
			return nil, fmt.Errorf("function %d: %w", m.importedFuncs+i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
		// The rewrite adds code of its own; past the size the host
		// accepts, it stops rather than finish what it would refuse.
		if len(out) > MaxModuleBytes {
			return nil, fmt.Errorf("the code as rewritten is larger than the host accepts (%d MiB)", MaxModuleBytes>>20)
		}
	}
	if m.usesFill {
		fn = m.bulkHelper(fn[:0], false)
		out = append(appendU32(out, uint32(len(fn))), fn...)
	}
	if m.usesCopy {
		fn = m.bulkHelper(fn[:0], true)
		out = append(appendU32(out, uint32(len(fn))), fn...)
	}
	return out, nil
}

// region is a stretch of code one charge pays for: a function body or a
// loop body, each without the loops nested in it.
type fuelRegion struct {
	cost    int
	patches []int // offsets in the output of padded i32.const charges
	// shared: this loop's check also pays for the function's region (a
	// leading loop, reached on every call).
	shared bool
}

// costConst is the width of a patched charge: i32.const with a padded
// five-byte LEB128, so the cost can be written once the region is known.
const costConst = 6

func putCost(out []byte, at int, cost int) {
	v := uint32(min(cost, 1<<30))
	b := out[at+1 : at+costConst]
	for i := 0; i < 4; i++ {
		b[i] = byte(v>>(7*i))&0x7F | 0x80
	}
	b[4] = byte(v>>28) & 0x07
}

// rewriteFunc is the second pass over one body (see the top of the file).
func (m *modInfo) rewriteFunc(out []byte, f *funcInfo, code []byte) ([]byte, error) {
	r := reader{b: code}
	groups := r.u32()
	localsStart := r.off
	for i := uint32(0); i < groups; i++ {
		r.u32()
		r.byte()
	}
	declared := code[localsStart:r.off]
	tmp := f.locals // the bulk operations' scratch local, if any
	if f.bulk {
		out = appendU32(out, groups+1)
		out = append(out, declared...)
		out = append(out, 3, valI32)
	} else {
		out = appendU32(out, groups)
		out = append(out, declared...)
	}

	fuel, sp := m.fuelIdx(), m.spIdx()
	frame := frameEstimate(f.locals, f.values)
	tracksStack := f.callsGuest && !m.lim.loopsOnly
	regions := []*fuelRegion{{}}
	funcRegion := regions[0]

	// checkHead charges a region and calls the checkpoint when fuel runs
	// out, or, with withSP, when the stack passes its limit.
	checkHead := func(rg *fuelRegion, withSP bool) {
		out = appendU32(append(out, opGlobalGet), fuel)
		rg.patches = append(rg.patches, len(out))
		out = append(out, opI32Const, 0, 0, 0, 0, 0)
		out = append(out, opI32Sub, opGlobalSet)
		out = appendU32(out, fuel)
		out = m.appendCheck(out, withSP)
	}
	if tracksStack {
		out = appendU32(append(out, opGlobalGet), sp)
		out = appendI32Const(out, int32(frame))
		out = appendU32(append(out, opI32Add, opGlobalSet), sp)
	}
	switch {
	case m.lim.loopsOnly:
	case f.leadingLoop:
		// The first loop is reached on every call: it pays for the
		// function's own region too, and checks the stack.
	case f.small():
		// Callers pay at the call site.
	default:
		checkHead(funcRegion, tracksStack)
	}
	if tracksStack {
		// The body runs inside a block whose end takes the frame off
		// $sp: branches to the function's label now reach it, and
		// return becomes a branch to it.
		out = append(out, opBlock)
		out = m.appendBlockType(out, m.types[f.typ].results)
	}

	type ctrl = struct {
		loop bool
		rg   *fuelRegion
	}
	stack := []ctrl{{}}
	cur := funcRegion
	firstLoop := true
	copied := r.off
	flush := func(upTo int) {
		out = append(out, code[copied:upTo]...)
		copied = upTo
	}
	for len(stack) > 0 {
		in, err := m.decode(&r, f.locals)
		if err != nil {
			return nil, err
		}
		cur.cost++
		switch in.op {
		case opBlock, opIf:
			stack = append(stack, ctrl{})
		case opLoop:
			flush(r.off)
			rg := &fuelRegion{}
			regions = append(regions, rg)
			stack = append(stack, ctrl{loop: true, rg: rg})
			cur = rg
			if firstLoop && f.leadingLoop {
				checkHead(rg, tracksStack)
				rg.shared = true
			} else {
				checkHead(rg, false)
			}
			firstLoop = false
		case opEnd:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.loop {
				cur = regionOf(stack, funcRegion)
			}
			if len(stack) == 0 && tracksStack {
				// The function's own end: close the wrapper block and take
				// the frame off $sp on the way out.
				flush(in.start)
				out = append(out, opEnd)
				out = appendU32(append(out, opGlobalGet), sp)
				out = appendI32Const(out, int32(frame))
				out = appendU32(append(out, opI32Sub, opGlobalSet), sp)
			}
		case opReturn:
			if tracksStack {
				flush(in.start)
				out = appendU32(append(out, opBr), uint32(len(stack)-1))
				copied = r.off
			}
		case opCall:
			flush(in.start)
			out = appendU32(append(out, opCall), m.newFunc(in.idx))
			copied = r.off
			if in.idx < m.importedFuncs {
				cur.cost += hostCallCost
			} else if g := &m.funcs[in.idx-m.importedFuncs]; g.small() {
				cur.cost += g.size
			}
		case opRefFunc:
			flush(in.start)
			out = appendU32(append(out, opRefFunc), m.newFunc(in.idx))
			copied = r.off
		case opCallIndir:
			cur.cost += smallLeaf
		case opMemoryGrow:
			cur.cost += goExitCost
		case opPrefixFC:
			if in.sub == 15 { // table.grow: charged by its count below too
				cur.cost += goExitCost
			}
		}
		switch {
		case m.lim.loopsOnly:
		case in.op == opPrefixFC && (in.sub == 10 || in.sub == 11):
			// memory.copy or memory.fill: small ones inline, charged by
			// size; large ones through the chunking helper.
			flush(in.start)
			out = m.appendLargeBulk(out, tmp, in.sub == 10, code[in.start:r.off])
			copied = r.off
		case in.bulk:
			flush(in.start)
			out = m.appendBulkCharge(out, tmp, in.table)
			flush(r.off)
		}
	}
	flush(len(code))
	for _, rg := range regions {
		cost := rg.cost
		if rg.shared {
			cost += funcRegion.cost
		}
		for _, at := range rg.patches {
			putCost(out, at, cost)
		}
	}
	return out, nil
}

func regionOf(stack []struct {
	loop bool
	rg   *fuelRegion
}, fn *fuelRegion) *fuelRegion {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].loop {
			return stack[i].rg
		}
	}
	return fn
}

// appendCheck calls the checkpoint when $fuel is negative or, with withSP,
// when $sp is past the stack limit; the checkpoint refills $fuel.
func (m *modInfo) appendCheck(out []byte, withSP bool) []byte {
	fuel, sp := m.fuelIdx(), m.spIdx()
	out = appendU32(append(out, opGlobalGet), fuel)
	out = append(out, opI32Const, 0, opI32LtS)
	if withSP {
		out = appendU32(append(out, opGlobalGet), sp)
		out = appendI32Const(out, int32(m.lim.StackBytes))
		out = append(out, opI32GtU, opI32Or)
	}
	out = append(out, opIf, blockEmpty, opGlobalGet)
	out = appendU32(out, sp)
	out = appendU32(append(out, opCall), m.checkpointIdx())
	out = appendU32(append(out, opGlobalSet), fuel)
	return append(out, opEnd)
}

// appendBulkCharge charges a bulk operation by its count, the operand on
// top of the stack, which it leaves there: one unit per 16 bytes of
// memory, or per 4 table elements (so that no count can overflow $fuel).
func (m *modInfo) appendBulkCharge(out []byte, tmp uint32, table bool) []byte {
	fuel := m.fuelIdx()
	out = appendU32(append(out, opLocalTee), tmp)
	out = appendU32(append(out, opGlobalGet), fuel)
	out = appendU32(append(out, opLocalGet), tmp)
	shift := int32(bulkShift)
	if table {
		shift = 2
	}
	out = appendI32Const(out, shift)
	out = append(out, opI32ShrU, opI32Sub, opGlobalSet)
	out = appendU32(out, fuel)
	return m.appendCheck(out, false)
}

// appendBlockType is the block type of a function's results.
func (m *modInfo) appendBlockType(out []byte, results []byte) []byte {
	switch len(results) {
	case 0:
		return append(out, blockEmpty)
	case 1:
		return append(out, results[0])
	}
	return appendSLEB(out, int64(m.typeIndex(funcType{results: results})))
}

// customName is a custom section's name.
func customName(body []byte) (string, bool) {
	r := reader{b: body}
	name := r.name()
	return name, r.err == nil
}

// renumberNames keeps the module name and the function names of a "name"
// section, renumbered; the rest (local names and so on) is dropped. A
// malformed section is dropped whole: names only serve stack traces. So is
// a name that could pass in a log for something else (see loggableName).
func (m *modInfo) renumberNames(body []byte) []byte {
	r := reader{b: body}
	out := appendName(make([]byte, 0, len(body)+len(body)/8), r.name())
	for !r.done() {
		id := r.byte()
		sub := r.bytes(int(r.u32()))
		if r.err != nil {
			return nil
		}
		switch id {
		case 0:
			if s := (reader{b: sub}); !loggableName(s.name()) || s.err != nil || !s.done() {
				continue
			}
			out = appendU32(append(out, id), uint32(len(sub)))
			out = append(out, sub...)
		case 1:
			s := reader{b: sub}
			n := s.u32()
			names := make([]byte, 0, len(sub)+len(sub)/8)
			kept := uint32(0)
			for i := uint32(0); i < n && s.err == nil; i++ {
				idx, name := s.u32(), s.name()
				if s.err == nil && idx < m.funcCount() && loggableName(name) {
					names = appendName(appendU32(names, m.newFunc(idx)), name)
					kept++
				}
			}
			if s.err != nil {
				return nil
			}
			names = append(appendU32(nil, kept), names...)
			out = appendU32(append(out, id), uint32(len(names)))
			out = append(out, names...)
		}
	}
	return out
}

// maxLoggableName is the longest name of a function, an import or an
// export the host lets into its errors; maxExportNames is what a module's
// export names may hold in all (a Go filter's take under 100 bytes).
const (
	maxLoggableName = 256
	maxExportNames  = 64 << 10
)

// loggableName: wazero writes these names into trap errors, which reach
// the Collector's log. A name with a control or format character (a
// newline, a tab, a bidi override) could forge a log line, and a long one
// could bury the error; such names are dropped.
func loggableName[T string | []byte](name T) bool {
	if len(name) > maxLoggableName {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] >= 0x7F { // most names are plain ASCII
			return sanitize([]byte(name)) == string(name)
		}
	}
	return true
}

// appendLargeBulk replaces a memory.fill or memory.copy (op, the original
// instruction's bytes): its operands go to three scratch locals; up to
// bulkChunk bytes it runs in place, charged by size, and past that the
// chunking helper runs it.
func (m *modInfo) appendLargeBulk(out []byte, tmp uint32, isCopy bool, op []byte) []byte {
	n, b, a := tmp, tmp+1, tmp+2 // the count, the value or source, the destination
	out = appendU32(append(out, opLocalSet), n)
	out = appendU32(append(out, opLocalSet), b)
	out = appendU32(append(out, opLocalSet), a)
	out = appendU32(append(out, opLocalGet), n)
	out = appendI32Const(out, bulkChunk)
	out = append(out, opI32GtU, opIf, blockEmpty)
	out = m.appendGets(out, a, b, n)
	helper := m.fillIdx()
	if isCopy {
		helper = m.copyIdx()
	}
	out = appendU32(append(out, opCall), helper)
	out = append(out, opElse)
	out = appendU32(append(out, opLocalGet), n)
	out = m.appendBulkCharge(out, n, false) // tees n into n: unchanged
	out = append(out, opDrop)
	out = m.appendGets(out, a, b, n)
	out = append(out, op...)
	return append(out, opEnd)
}

func (m *modInfo) appendGets(out []byte, locals ...uint32) []byte {
	for _, l := range locals {
		out = appendU32(append(out, opLocalGet), l)
	}
	return out
}

// bulkHelper is the body of $fill (d, v, n) or $copy (d, s, n): bounds
// first, as the instruction does, then chunks of bulkChunk bytes, each
// charged and followed by a check. A copy to a higher address runs from
// the end, so that overlapping ranges copy as memory.copy does. Writes
// before a trap cannot be seen: the host discards an instance that traps.
func (m *modInfo) bulkHelper(out []byte, isCopy bool) []byte {
	const d, v, n, c = 0, 1, 2, 3   // parameters, then the chunk's size
	out = append(out, 1, 1, valI32) // one group: one i32 local
	// if d+n > memory size (or s+n, for a copy): trap
	outOfBounds := func(out []byte, at uint32) []byte {
		out = appendU32(append(out, opLocalGet), at)
		out = append(out, 0xAD) // i64.extend_i32_u
		out = appendU32(append(out, opLocalGet), n)
		out = append(out, 0xAD, 0x7C)       // i64.extend_i32_u, i64.add
		out = append(out, 0x3F, 0x00, 0xAD) // memory.size, i64.extend_i32_u
		out = append(out, 0x42, 16, 0x86)   // i64.const 16, i64.shl
		out = append(out, 0x56)             // i64.gt_u
		return append(out, opIf, blockEmpty, opUnreachable, opEnd)
	}
	out = outOfBounds(out, d)
	if isCopy {
		out = outOfBounds(out, v)
	}
	// c = min(n, bulkChunk), then n -= c
	takeChunk := func(out []byte) []byte {
		out = appendU32(append(out, opLocalGet), n)
		out = appendI32Const(out, bulkChunk)
		out = appendU32(append(out, opLocalGet), n)
		out = appendI32Const(out, bulkChunk)
		out = append(out, 0x49, 0x1B) // i32.lt_u, select
		out = appendU32(append(out, opLocalTee), c)
		out = appendU32(append(out, opLocalGet), n)
		out = appendU32(append(out, opLocalGet), c)
		out = append(out, opI32Sub)
		out = appendU32(append(out, opLocalSet), n)
		return out
	}
	advance := func(out []byte, at uint32) []byte { // at += c
		out = appendU32(append(out, opLocalGet), at)
		out = appendU32(append(out, opLocalGet), c)
		out = append(out, opI32Add)
		return appendU32(append(out, opLocalSet), at)
	}
	plusN := func(out []byte, at uint32) []byte { // at + n
		out = appendU32(append(out, opLocalGet), at)
		out = appendU32(append(out, opLocalGet), n)
		return append(out, opI32Add)
	}
	loop := func(out []byte, body func([]byte) []byte) []byte {
		out = append(out, opBlock, blockEmpty, opLoop, blockEmpty)
		out = appendU32(append(out, opLocalGet), n)
		out = append(out, 0x45, opBrIf, 1) // i32.eqz, br_if 1
		out = takeChunk(out)
		out = body(out)
		out = appendU32(append(out, opLocalGet), c)
		out = m.appendBulkCharge(out, c, false)
		out = append(out, opDrop, opBr, 0, opEnd, opEnd)
		return out
	}
	if !isCopy {
		out = loop(out, func(out []byte) []byte {
			out = m.appendGets(out, d, v, c)
			out = append(out, opPrefixFC, 11, 0)
			return advance(out, d)
		})
		return append(out, opEnd)
	}
	// if d > s: from the end
	out = appendU32(append(out, opLocalGet), d)
	out = appendU32(append(out, opLocalGet), v)
	out = append(out, opI32GtU, opIf, blockEmpty)
	out = loop(out, func(out []byte) []byte {
		out = plusN(out, d)
		out = plusN(out, v)
		out = appendU32(append(out, opLocalGet), c)
		return append(out, opPrefixFC, 10, 0, 0)
	})
	out = append(out, opElse)
	out = loop(out, func(out []byte) []byte {
		out = m.appendGets(out, d, v, c)
		out = append(out, opPrefixFC, 10, 0, 0)
		return advance(advance(out, d), v)
	})
	return append(out, opEnd, opEnd)
}
