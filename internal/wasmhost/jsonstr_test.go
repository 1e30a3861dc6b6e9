// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestJSONOfALongStrFitsTheTimeLeft: a map or array value crosses
// as JSON, measured (measureJSON) before it is written. jsonWriter.str
// scanned a Str value rune by rune and ticked once per value, not per
// byte: the whole string was scanned in one step that no check split, and
// a string past the column's room was scanned to its end before count
// refused it. One span whose attribute k is a map holding one Str of 64
// MiB of 'é' (two bytes a rune, each decoded), column(Span, Attr, "k") in
// a loop: 103-172 ms a batch under a 5 ms timeout (the review of attack
// round 26).
func TestJSONOfALongStrFitsTheTimeLeft(t *testing.T) {
	const timeout = 5 * time.Millisecond
	td := ptrace.NewTraces()
	m := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes().PutEmptyMap("k")
	m.PutStr("s", strings.Repeat("é", 32<<20))
	guest := `(module
  (import "wasmcol" "column" (func $column (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "k")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l (drop (call $column (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 1))) (br $l))
    (i32.const 0)))`
	p, err := New(context.Background(), Options{Source: "json", Module: watModule(t, guest, false), PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := worstFailing(t, 4, "", func() error {
		_, err := p.ProcessTraces(context.Background(), td)
		return err
	})
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}
