// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/guestbuild"
)

var testLimits = meterLimits{StackBytes: StackLimit, TableElems: TableLimit}

// watModule assembles WAT text. noCheck skips wat2wasm's validation, to
// build modules that name indices they do not have.
func watModule(tb testing.TB, src string, noCheck bool) []byte {
	tb.Helper()
	dir := tb.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	require.NoError(tb, os.WriteFile(in, []byte(src), 0o600))
	args := []string{in, "-o", out}
	if noCheck {
		args = append(args, "--no-check")
	}
	if b, err := exec.Command("wat2wasm", args...).CombinedOutput(); err != nil {
		tb.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	require.NoError(tb, err)
	return bin
}

// filter wraps WAT definitions into a module with the ABI's exports;
// wasmcol_process calls $attack, which the definitions provide.
func filter(defs string) string {
	return `(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (call $attack) (i32.const 0))
  ` + defs + `)`
}

// Code that names an index past the module's own is refused before any
// rewrite: after it, that index would name what the host added.
func TestMeterRefusesForeignIndices(t *testing.T) {
	for name, src := range map[string]string{
		"global.set past the globals": `(module (global (mut i32) (i32.const 0))
			(func (i32.const 7) (global.set 1)))`,
		"global.get with no globals": `(module (func (result i32) (global.get 0)))`,
		"local past the locals":      `(module (func (param i32) (local i32) (local.set 2 (i32.const 1))))`,
		"call past the functions":    `(module (func (call 1)))`,
		"ref.func past the functions": `(module (table 1 funcref) (elem declare func 0)
			(func (drop (ref.func 1))))`,
		"call_indirect of a missing type": `(module (table 1 funcref) (func (call_indirect (type 3) (i32.const 0))))`,
		"export of a missing global":      `(module (global i32 (i32.const 0)) (export "g" (global 1)))`,
		"table import":                    `(module (import "env" "t" (table 1 funcref)))`,
		"global import":                   `(module (import "env" "g" (global (mut i32))))`,
		"br past the function's label":    `(module (func (br 1)))`,
		"br_table past the function's":    `(module (func (block (br_table 0 1 2 (i32.const 0)))))`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := instrument(watModule(t, src, true), testLimits)
			require.Error(t, err)
			t.Log(err)
		})
	}
}

// Local accesses inside deeply nested loops make wazero's compiler
// quadratic (a value per local per loop header): past a bound the module
// is refused before it is compiled.
func TestMeterRefusesLoopVariableBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("(module (func (local i32)\n")
	b.WriteString(strings.Repeat("loop\n", 1100))
	b.WriteString(strings.Repeat("(local.set 0 (i32.const 1))\n", 1000))
	b.WriteString(strings.Repeat("end\n", 1100))
	b.WriteString("))")
	_, err := instrument(watModule(t, b.String(), false), testLimits)
	require.ErrorContains(t, err, "nested loops")
}

// Loops nested without touching a local are as costly to compile once
// every header holds the rewrite's check (9,999 of them took 18 s), and
// many functions each under the per-function bound add up: both are
// refused, while the same shapes at a tenth of the size compile quickly.
func TestMeterRefusesNestedLoopBombs(t *testing.T) {
	nested := func(funcs, depth int) string {
		var b strings.Builder
		b.WriteString("(module\n")
		for range funcs {
			b.WriteString("(func\n" + strings.Repeat("loop\n", depth) + strings.Repeat("end\n", depth) + ")\n")
		}
		b.WriteString(")")
		return b.String()
	}
	for _, tc := range []struct {
		name         string
		funcs, depth int
		refused      string
	}{
		{"one function, 2,000 deep", 1, 2000, "nested loops"},
		{"twenty functions, 700 deep", 20, 700, "in all functions"},
		{"one function, 200 deep", 1, 200, ""},
		{"two functions, 700 deep", 2, 700, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireRefusedOrQuick(t, watModule(t, nested(tc.funcs, tc.depth), false), tc.refused)
		})
	}
}

// requireRefusedOrQuick: the rewrite refuses bin with an error holding
// refused, or, when refused is empty, accepts it and wazero compiles the
// result in well under the compile deadline.
func requireRefusedOrQuick(t *testing.T, bin []byte, refused string) {
	t.Helper()
	out, err := instrument(bin, testLimits)
	if refused != "" {
		require.ErrorContains(t, err, refused)
		return
	}
	require.NoError(t, err)
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	began := time.Now()
	_, err = r.CompileModule(ctx, out)
	require.NoError(t, err)
	require.Less(t, time.Since(began), 5*time.Second)
}

// oneFuncModule is a module of one function () -> () whose type section
// holds extra, and whose body (locals declaration included) is body.
func oneFuncModule(extra, body []byte, nExtra int) []byte {
	u := binary.AppendUvarint
	sec := func(out []byte, id byte, payload []byte) []byte {
		return append(u(append(out, id), uint64(len(payload))), payload...)
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = sec(out, 1, append([]byte{byte(1 + nExtra), 0x60, 0, 0}, extra...))
	out = sec(out, 3, []byte{1, 0})
	return sec(out, 10, append(u([]byte{1}, uint64(len(body))), body...))
}

// mergeBomb: n locals, n empty if/else blocks, then every local read.
// wazero gives each merge a parameter per local and resolves every
// argument once per parameter: n cubed.
func mergeBomb(n int) []byte {
	u := binary.AppendUvarint
	b := append(u([]byte{1}, uint64(n)), 0x7F)
	for range n {
		b = append(b, 0x20, 0, 0x04, 0x40, 0x05, 0x0B) // (if (local.get 0) (then) (else))
	}
	for i := range n {
		b = append(u(append(b, 0x20), uint64(i)), 0x1A)
	}
	return oneFuncModule(nil, append(b, 0x0B), 0)
}

// manyMergeBombs is mergeBomb(n) in funcs functions of one module, each
// under the per-function bound, together past the module's.
func manyMergeBombs(t *testing.T, funcs, n int) []byte {
	var b strings.Builder
	b.WriteString("(module\n")
	for range funcs {
		b.WriteString("(func (local" + strings.Repeat(" i32", n) + ")\n")
		b.WriteString(strings.Repeat("(if (local.get 0) (then) (else))\n", n))
		for i := range n {
			fmt.Fprintf(&b, "(drop (local.get %d))\n", i)
		}
		b.WriteString(")\n")
	}
	b.WriteString(")")
	return watModule(t, b.String(), false)
}

// returnsBomb: a function of results i32 results that returns them from
// n places; the rewrite makes each return a branch carrying them.
func returnsBomb(results, n int) []byte {
	u := binary.AppendUvarint
	typ := u([]byte{0x60, 0}, uint64(results))
	for range results {
		typ = append(typ, 0x7F)
	}
	b := []byte{1, 1, 0x7F}
	consts := func() {
		for range results {
			b = append(b, 0x41, 1)
		}
	}
	for range n {
		b = append(b, 0x20, 0, 0x04, 0x40) // (if (local.get 0) (then ... return))
		consts()
		b = append(b, 0x0F, 0x0B)
	}
	consts()
	sec := func(out []byte, id byte, payload []byte) []byte {
		return append(u(append(out, id), uint64(len(payload))), payload...)
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = sec(out, 1, append([]byte{1}, typ...))
	out = sec(out, 3, []byte{1, 0})
	return sec(out, 10, append(u([]byte{1}, uint64(len(b)+1)), append(b, 0x0B)...))
}

// brTableBomb: a block of results i32 results, and inside it a br_table
// of labels labels, all to that block.
func brTableBomb(results, labels int) []byte {
	u := binary.AppendUvarint
	typ := u([]byte{0x60, 0}, uint64(results))
	for range results {
		typ = append(typ, 0x7F)
	}
	b := []byte{1, 1, 0x7F, 0x02, 1} // (local i32) block (type 1)
	for range results {
		b = append(b, 0x41, 1)
	}
	b = u(append(b, 0x20, 0, 0x0E), uint64(labels))
	for range labels + 1 {
		b = append(b, 0)
	}
	b = append(b, 0x0B)
	for range results {
		b = append(b, 0x1A)
	}
	return oneFuncModule(typ, append(b, 0x0B), 1)
}

// Control flow that merges many values compiles in time cubic in them
// (wazero's redundant-phi pass): 2,000 if/else blocks before 2,000 locals
// are read, 28 KB, took 14 s; a br_table of 20,000 labels carrying 1,000
// values, 24 KB, 35 s. Past a bound they are refused; below it, the same
// shapes compile in about a second at most.
func TestMeterRefusesMergeBombs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bin     []byte
		refused string
	}{
		{"if/else merges of 1,000 locals", mergeBomb(1000), "control flow merging"},
		{"br_table of 20,000 labels carrying 1,000 values", brTableBomb(1000, 20_000), "control flow merging"},
		{"br_table of 20,000 labels carrying 200 values", brTableBomb(200, 20_000), "control flow merging"},
		{"if/else merges of 500 locals in twelve functions", manyMergeBombs(t, 12, 500), "in all functions"},
		{"600 returns of 1,000 values", returnsBomb(1000, 600), "control flow merging"},
		{"if/else merges of 500 locals", mergeBomb(500), ""},
		{"br_table of 20,000 labels carrying 100 values", brTableBomb(100, 20_000), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireRefusedOrQuick(t, tc.bin, tc.refused)
		})
	}
}

// runGuest runs bin as a plugin with a short timeout and returns how long
// one batch took and its error.
func runGuest(t *testing.T, bin []byte, timeout time.Duration) (time.Duration, error) {
	t.Helper()
	p, err := New(context.Background(), Options{Source: t.Name(), Module: bin, PoolSize: 1, Timeout: timeout, MemoryLimitMiB: 64})
	require.NoError(t, err)
	defer p.Close(context.Background())
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
	began := time.Now()
	_, err = p.ProcessTraces(context.Background(), td)
	return time.Since(began), err
}

// Whatever shape unbounded work takes, the guest is stopped at its
// deadline: Wasmtime's places (function entries, loop headers), with bulk
// operations charged by size.
func TestMeterStopsUnboundedWork(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for name, defs := range map[string]string{
		"loop": `(func $attack (loop $l (br $l)))`,
		// 2^40 calls and no loop anywhere.
		"binary call tree": `(func $attack (call $tree (i32.const 40)))
			(func $tree (param $d i32)
			  (if (local.get $d) (then
			    (call $tree (i32.sub (local.get $d) (i32.const 1)))
			    (call $tree (i32.sub (local.get $d) (i32.const 1))))))`,
		"mutual recursion in a tree": `(func $attack (call $a (i32.const 40)))
			(func $a (param $d i32) (if (local.get $d) (then (call $b (local.get $d)) (call $b (local.get $d)))))
			(func $b (param $d i32) (call $a (i32.sub (local.get $d) (i32.const 1))))`,
		// Each iteration is one loop check but 64 KiB of work.
		"memory.fill loop": `(func $attack (loop $l (memory.fill (i32.const 0) (i32.const 7) (i32.const 65536)) (br $l)))`,
		"memory.copy loop": `(func $attack (loop $l (memory.copy (i32.const 0) (i32.const 32768) (i32.const 32768)) (br $l)))`,
		"table.fill loop": `(table 65536 funcref)
			(func $attack (loop $l (table.fill 0 (i32.const 0) (ref.null func) (i32.const 65536)) (br $l)))`,
		"call_indirect loop-free recursion": `(type $t (func (param i32)))
			(table 1 funcref) (elem (i32.const 0) $tree)
			(func $attack (call $tree (i32.const 40)))
			(func $tree (param $d i32)
			  (if (local.get $d) (then
			    (call_indirect (type $t) (i32.sub (local.get $d) (i32.const 1)) (i32.const 0))
			    (call_indirect (type $t) (i32.sub (local.get $d) (i32.const 1)) (i32.const 0)))))`,
	} {
		t.Run(name, func(t *testing.T) {
			took, err := runGuest(t, watModule(t, filter(defs), false), timeout)
			var fault *Fault
			require.True(t, errors.As(err, &fault), "got %v", err)
			assert.Equal(t, FaultTimeout, fault.Kind, "%v", err)
			t.Logf("stopped after %v (timeout %v)", took, timeout)
			assert.Less(t, took, timeout+150*time.Millisecond)
		})
	}
}

// A start section, or _initialize, that never ends fails the start within
// the start deadline instead of hanging it.
func TestMeterStopsEndlessStart(t *testing.T) {
	for name, src := range map[string]string{
		"start section": `(func $s (loop $l (br $l))) (start $s) (func $attack)`,
		"_initialize":   `(func (export "_initialize") (loop $l (br $l))) (func $attack)`,
	} {
		t.Run(name, func(t *testing.T) {
			bin := watModule(t, filter(src), false)
			began := time.Now()
			const timeout = 200 * time.Millisecond
			_, err := New(context.Background(), Options{Source: "s", Module: bin, StartTimeout: timeout})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "did not finish within")
			took := time.Since(began)
			t.Logf("start refused after %v: %v", took, err)
			assert.Less(t, took, timeout+time.Second, "compilation included")
		})
	}
}

// Unbounded recursion stops at the estimated stack limit, as a trap, with
// the real stack wazero allocated within a small multiple of the limit.
func TestMeterStackLimit(t *testing.T) {
	for name, defs := range map[string]string{
		"small frames": `(func $attack (call $r (i32.const 0)))
			(func $r (param i32) (call $r (i32.add (local.get 0) (i32.const 1))))`,
		"many locals": `(func $attack (call $r (i32.const 0)))
			(func $r (param i32) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
			  i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
			  (local.set 1 (i64.extend_i32_u (local.get 0))) (local.set 32 (local.get 1))
			  (call $r (i32.add (local.get 0) (i32.const 1)))
			  (drop (i64.add (local.get 1) (local.get 32))))`,
		"many live values": `(func $attack (call $r (i32.const 1)))
			(func $r (param $x i32)
			  (call $r (i32.add (local.get $x) (i32.const 1)))
			  ` + strings.Repeat(`(drop (i32.mul (local.get $x) (local.get $x)))`, 64) + `)`,
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := runGuest(t, watModule(t, filter(defs), false), 20*time.Second)
			runtime.ReadMemStats(&after)
			var fault *Fault
			require.True(t, errors.As(err, &fault), "got %v", err)
			assert.Equal(t, FaultTrap, fault.Kind)
			assert.Contains(t, err.Error(), "stack limit")
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%v; %d MiB allocated", err, allocated>>20)
			// wazero doubles its stack as it grows: what it allocated in
			// all stays within a few times the limit.
			assert.Less(t, allocated, uint64(4*StackLimit+(16<<20)))
		})
	}
}

// Tables are capped: a declared table past the limit is refused, and
// table.grow past it fails inside the guest.
func TestMeterTableLimit(t *testing.T) {
	_, err := instrument(watModule(t, `(module (table 2000000 funcref))`, false), testLimits)
	require.Error(t, err)
	bin := watModule(t, filter(`(table 0 funcref)
		(func $attack (if (i32.ne (table.grow 0 (ref.null func) (i32.const 2000000)) (i32.const -1)) (then unreachable)))`), false)
	_, err = runGuest(t, bin, time.Second)
	require.NoError(t, err, "table.grow past the limit returns -1")
}

// TestInstrumentedModulesValidate compiles instrumented real guests, so a
// rewrite that breaks a module's structure fails here, not in production.
func TestInstrumentedModulesValidate(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	for _, bin := range [][]byte{
		oneMemoryPage,
		[]byte("\x00asm\x01\x00\x00\x00"), // empty module: gains types, an import and globals
		guestbuild.Read(t, guestbuild.Go(t, "testdata/guests/noop")),
		guestbuild.Read(t, guestbuild.WAT(t, "testdata/wat/broker_tag.wat")),
		watModule(t, `(module (func (result i32 i64) (i32.const 1) (i64.const 2) (return)) (func (call 0) (drop) (drop)))`, false),
	} {
		out, err := instrument(bin, testLimits)
		require.NoError(t, err)
		m, err := r.CompileModule(ctx, out)
		require.NoError(t, err, "instrumented module does not compile")
		_ = m.Close(ctx)
	}
}

// FuzzInstrument takes module bytes. Those wazero accepts are
// instrumented; the instrumenter must not panic, must not turn a valid
// module into an invalid one, and the result must not escape its
// deadline: its start and every exported function, called with zero
// arguments, end within the deadline plus a margin.
func FuzzInstrument(f *testing.F) {
	for _, src := range []string{
		filter(`(func $attack (loop $l (br $l)))`),
		filter(`(func $attack (call $t (i32.const 30))) (func $t (param i32) (if (local.get 0) (then (call $t (i32.sub (local.get 0) (i32.const 1))) (call $t (i32.sub (local.get 0) (i32.const 1))))))`),
		`(module (memory 1) (func $s (loop (br 0))) (start $s))`,
		`(module (memory 1) (func (export "f") (loop (memory.fill (i32.const 0) (i32.const 0) (i32.const 65536)) (br 0))))`,
		`(module (func (export "f") (result i32) (block (result i32) (i32.const 1) (br 0))))`,
	} {
		f.Add(watModule(f, src, false))
	}
	ctx := context.Background()
	validator := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
	defer validator.Close(ctx)
	f.Fuzz(func(t *testing.T, bin []byte) {
		if len(bin) > 64<<10 {
			return // Go's fuzzer stops a worker silent for a second
		}
		// The instrumenter reads every section with bounds first; wazero's
		// own decoder, given raw garbage, can allocate by a vector count
		// before it finds the input short, as the host never lets it.
		out, err := instrument(bin, testLimits)
		if err != nil {
			return // malformed, or refused (for instance for importing a memory)
		}
		m, err := validator.CompileModule(ctx, bin)
		if err != nil {
			return // not valid: nothing more to require
		}
		_ = m.Close(ctx)
		r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2))
		defer r.Close(ctx)
		compiled, err := r.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("a valid module became invalid: %v", err)
		}
		require.NoError(t, instantiateWASI(ctx, r))
		_, err = Instantiate(ctx, r)
		require.NoError(t, err)
		const deadline = 10 * time.Millisecond
		st := &callState{guard: newGuard(StackLimit), shared: &shared{mem: &hostMemory{limit: 1 << 20}}}
		base := context.WithValue(ctx, stateKey{}, st)
		mem := &cappedMemory{limit: 16 << 20, pool: &regionPool{}}
		defer mem.pool.close()
		within := func(what string, run func()) {
			st.guard.arm(phaseCall, deadline)
			began := time.Now()
			run()
			st.guard.disarm()
			if took := time.Since(began); took > deadline+time.Second {
				t.Fatalf("%s ran %v past a %v deadline", what, took, deadline)
			}
		}
		var mod api.Module
		within("start", func() {
			mod, _ = r.InstantiateModule(withMemory(base, mem), compiled, wazero.NewModuleConfig().WithStartFunctions())
		})
		if mod == nil {
			return
		}
		calls := 0
		for name, def := range compiled.ExportedFunctions() {
			if calls++; calls > 8 {
				break
			}
			fn := mod.ExportedFunction(name)
			within(name, func() { _, _ = fn.Call(base, make([]uint64, len(def.ParamTypes()))...) })
		}
	})
}

// Large memory.fill and memory.copy run in chunks; they must behave
// exactly as the instructions do, overlapping copies in both directions and
// out-of-bounds traps included. Each operation runs on the instrumented and
// the original module, and memory must match after every one.
func TestMeterChunkedBulkOps(t *testing.T) {
	bin := watModule(t, `(module (memory (export "memory") 80)
		(func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
		(func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2))))`, false)
	ctx := context.Background()
	out, err := instrument(bin, testLimits)
	require.NoError(t, err)
	plain := wazero.NewRuntime(ctx)
	defer plain.Close(ctx)
	want, err := plain.Instantiate(ctx, bin)
	require.NoError(t, err)
	metered := wazero.NewRuntime(ctx)
	defer metered.Close(ctx)
	require.NoError(t, instantiateWASI(ctx, metered))
	_, err = Instantiate(ctx, metered)
	require.NoError(t, err)
	got, err := metered.Instantiate(ctx, out)
	require.NoError(t, err)
	size := uint64(80 << 16)
	// Seed memory with a pattern, so that copies move something visible.
	for i := uint32(0); i < uint32(size); i += 4 {
		want.Memory().WriteUint32Le(i, i*2654435761)
		got.Memory().WriteUint32Le(i, i*2654435761)
	}
	const mib = 1 << 20
	ops := []struct {
		fn      string
		a, b, n uint64
	}{
		{"fill", 3, 0xAB, 3*mib + 17},
		{"copy", 100, 5 * mib / 2, 2*mib + 5},  // down, overlapping
		{"copy", mib + 7, 11, 3 * mib},         // up, overlapping
		{"copy", 0, size - 2*mib, 2 * mib},     // to the start from the end
		{"fill", size - mib - 1, 7, mib + 1},   // up to the last byte
		{"fill", size - mib, 7, mib + 1},       // one past: traps
		{"copy", 10, size - 3*mib, 3*mib + 1},  // source one past: traps
		{"copy", size - 2*mib + 1, 0, 2 * mib}, // destination one past: traps
		{"fill", size, 1, 0},                   // empty at the end: no trap
		{"copy", 0xFFFFFFFF, 0, 2 * mib},       // wraps in 32 bits: traps
		{"fill", 12345, 0x5A, 2*mib - 1},
	}
	for i, op := range ops {
		_, werr := want.ExportedFunction(op.fn).Call(ctx, op.a, op.b, op.n)
		_, gerr := got.ExportedFunction(op.fn).Call(ctx, op.a, op.b, op.n)
		require.Equal(t, werr != nil, gerr != nil, "op %d %s(%d, %d, %d): trap %v vs %v", i, op.fn, op.a, op.b, op.n, werr, gerr)
		wm, _ := want.Memory().Read(0, uint32(size))
		gm, _ := got.Memory().Read(0, uint32(size))
		require.True(t, bytes.Equal(wm, gm), "op %d %s(%d, %d, %d): memory differs", i, op.fn, op.a, op.b, op.n)
	}
}

// TestMeterRefusesSectionFloods: 64 MiB of zeros after the header is 33
// million empty custom sections, which the rewrite tracked one by one (16 s)
// and wazero accepts (7 s more). A module has a few sections; past 1,000
// it is refused before anything is kept.
func TestMeterRefusesSectionFloods(t *testing.T) {
	lim := meterLimits{StackBytes: StackLimit, TableElems: TableLimit}
	custom := func(n int) []byte {
		bin := []byte("\x00asm\x01\x00\x00\x00")
		for range n {
			bin = append(bin, secCustom, 2, 1, 'x') // a custom section named "x"
		}
		return bin
	}
	_, err := instrument(custom(maxSections), lim)
	require.NoError(t, err)
	_, err = instrument(custom(maxSections+1), lim)
	require.ErrorContains(t, err, "more than 1000 sections")

	zeros := make([]byte, MaxModuleBytes)
	copy(zeros, "\x00asm\x01\x00\x00\x00")
	_, err = instrument(zeros, lim)
	require.ErrorContains(t, err, "more than 1000 sections")
}
