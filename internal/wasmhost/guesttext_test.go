// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The text a guest shapes reaches the Collector's logs and the errors
// receivers answer with. Each test here failed before its bound (the
// seventeenth attack round, BENCHMARKS.md).

// An import the host does not provide is named in wazero's link error,
// twice. A module importing a name of a megabyte of escape characters made
// a start error of 6.3 MB and a log line of 7.3 MB (60 MiB: 440 MB and 3.7
// GiB of heap); such names are refused before anything quotes them.
func TestImportNamesBounded(t *testing.T) {
	const n = 1 << 20
	esc := `\1b`
	for name, imp := range map[string]string{
		"a long field of escapes":  `"wasmcol" "` + strings.Repeat(esc, n) + `"`,
		"a long module of escapes": `"` + strings.Repeat(esc, n) + `" "x"`,
		"a long printable field":   `"wasmcol" "` + strings.Repeat("a", n) + `"`,
		"a newline in a field":     `"wasmcol" "log\0a{\"level\":\"info\"}"`,
		"a field of 257 bytes":     `"wasmcol" "` + strings.Repeat("a", maxLoggableName+1) + `"`,
	} {
		t.Run(name, func(t *testing.T) {
			bin := watModule(t, importing(`(import `+imp+` (func))`, `(func $attack)`), false)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := New(context.Background(), Options{Source: "imports", Module: bin, PoolSize: 1})
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			msg := err.Error()
			assert.Less(t, len(msg), 1<<10, "the error quotes no name")
			assert.Contains(t, msg, "import 0")
			assert.NotContains(t, msg, "\x1b")
			assert.NotContains(t, msg, "\n")
			allocated := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, allocated, uint64(16<<20), "refused before the module is built: %d bytes allocated", allocated)
		})
	}
	// Names of the host's own length still link.
	bin := watModule(t, importing(`(import "wasmcol" "log" (func (param i32 i32 i32) (result i32)))`, `(func $attack)`), false)
	p, err := New(context.Background(), Options{Source: "imports", Module: bin, PoolSize: 1})
	require.NoError(t, err)
	require.NoError(t, p.Close(context.Background()))
}

// wazero quotes the export names of a start function that traps, all of
// them, in full, before the host can cut its error: one name of 32 MiB of
// escape characters took 2.9 s and 1.5 GiB at every start attempt. Exports
// are kept only under names the host logs, 64 KiB of them in all; the
// others are dropped, since the host calls none of them.
func TestExportNamesBounded(t *testing.T) {
	// wazero names the function after the start function's index plus
	// the imports, so names are exported for both.
	trap := `(func $boom (unreachable)) (func $next) (start $boom)`
	export := func(name string) string {
		return `(export "` + name + `1" (func $boom)) (export "` + name + `2" (func $next))`
	}
	for name, exports := range map[string]string{
		"a long name of escapes": export(strings.Repeat(`\1b`, 1<<20)),
		"a name of 257 bytes":    export(strings.Repeat("a", maxLoggableName)),
		"many plain names": func() string {
			var sb strings.Builder
			for i := range 2000 {
				sb.WriteString(export(fmt.Sprintf("%s%04d", strings.Repeat("b", 96), i)))
			}
			return sb.String()
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			bin := watModule(t, filter(trap+exports+`(func $attack)`), false)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := New(context.Background(), Options{Source: "exports", Module: bin, PoolSize: 1})
			runtime.ReadMemStats(&after)
			require.ErrorContains(t, err, "start failed", "the start's trap is what fails it")
			assert.LessOrEqual(t, len(err.Error()), maxGuestErrorText+1<<10)
			assert.NotContains(t, err.Error(), "\x1b")
			allocated := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, allocated, uint64(32<<20), "%d bytes allocated", allocated)
		})
	}
	// Plain names under the bounds are kept: they are in the trap's error.
	bin := watModule(t, filter(trap+export("start here")+`(func $attack)`), false)
	_, err := New(context.Background(), Options{Source: "exports", Module: bin, PoolSize: 1})
	require.ErrorContains(t, err, "start here")
}

// importing is filter with imports, which must come first.
func importing(imports, defs string) string {
	return strings.Replace(filter(defs), "(module", "(module "+imports, 1)
}

// wazero prints up to 30 frames of a trap, each with its function's whole
// signature: a function of 1,000 externref parameters and as many results
// made an error of 608 KB, sent back to every client and escaped again at
// every rendering (20 ms each).
func TestTrapErrorBounded(t *testing.T) {
	const values = 1000
	wide := strings.Repeat(" externref", values)
	var sb strings.Builder
	fmt.Fprintf(&sb, "(global $depth (mut i32) (i32.const 0))\n(type $wide (func (param%s) (result%s)))\n", wide, wide)
	sb.WriteString("(func $deep (type $wide)\n (global.set $depth (i32.add (global.get $depth) (i32.const 1)))\n")
	sb.WriteString(" (if (i32.ge_u (global.get $depth) (i32.const 40)) (then unreachable))\n")
	for i := 0; i < values; i++ {
		fmt.Fprintf(&sb, " (local.get %d)\n", i)
	}
	sb.WriteString(" (call $deep))\n(func $attack\n")
	sb.WriteString(strings.Repeat(" (ref.null extern)\n", values))
	sb.WriteString(" (call $deep)\n" + strings.Repeat(" (drop)\n", values) + ")\n")
	bin := watModule(t, filter(sb.String()), false)

	ctx := context.Background()
	p, err := New(ctx, Options{Source: "wide", Module: bin, PoolSize: 1})
	require.NoError(t, err)
	defer p.Close(ctx)
	_, err = p.ProcessTraces(ctx, oneSpan())
	require.Error(t, err)
	msg := err.Error()
	t.Logf("error of %d bytes: %.200q", len(msg), msg)
	assert.Contains(t, msg, "unreachable", "the trap's own message is kept")
	assert.Contains(t, msg, "cut to 8192 bytes; the guest's error was", "the error says it was cut")
	assert.LessOrEqual(t, len(msg), maxGuestErrorText+1<<10)
}

// A guest's text is escaped before it is logged, which makes six bytes of
// a control character: 2 KiB of escape characters made a 14 KB log line.
// The line is cut after escaping.
func TestGuestLogCutAfterEscaping(t *testing.T) {
	text := strings.Repeat(`\1b`, maxLogLine)
	bin := watModule(t, importing(`(import "wasmcol" "log" (func $log (param i32 i32 i32) (result i32)))`, `
		(data (i32.const 0) "`+text+`")
		(func $attack (drop (call $log (i32.const 2) (i32.const 0) (i32.const `+fmt.Sprint(maxLogLine)+`))))`), false)
	core, logs := observer.New(zapcore.DebugLevel)
	ctx := context.Background()
	p, err := New(ctx, Options{Source: "log", Module: bin, PoolSize: 1, Logger: zap.New(core)})
	require.NoError(t, err)
	defer p.Close(ctx)
	_, err = p.ProcessTraces(ctx, oneSpan())
	require.NoError(t, err)
	var got []string
	for _, e := range logs.All() {
		if s, ok := e.ContextMap()["guest_message"].(string); ok {
			got = append(got, s)
		}
	}
	require.Len(t, got, 1)
	assert.LessOrEqual(t, len(got[0]), maxLogLine)
	assert.True(t, strings.HasPrefix(got[0], `\u001b\u001b`), "escaped: %.40q", got[0])
	assert.Zero(t, len(got[0])%len(`\u001b`), "no escape cut in two: %q", got[0][max(0, len(got[0])-8):])
}

// A cut never leaves half an escape, nor splits a character.
func TestCutEscaped(t *testing.T) {
	s := sanitize([]byte("ab\x1bcd\u00e9\U000E0001e"))
	require.Equal(t, `ab\u001bcdé\ue0001e`, s)
	for n := 0; n <= len(s); n++ {
		cut := cutEscaped(s, n)
		require.LessOrEqual(t, len(cut), n)
		require.True(t, strings.HasPrefix(s, cut))
		require.True(t, utf8.ValidString(cut), "%q", cut)
		require.Equal(t, sanitize([]byte(cut)), cut, "%q", cut)
		if i := strings.LastIndex(cut, `\u`); i >= 0 {
			rest := strings.TrimLeft(cut[i+2:], "0123456789abcdef")
			require.True(t, len(cut[i+2:])-len(rest) >= 4, "half an escape at %d: %q", n, cut)
		}
	}
}
