// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestInstantiatingFitsTheTimeLeft: a guest that traps has its instance
// replaced, and the next batch starts one within its own timeout. wazero
// instantiates a module in one step no check splits, allocating a
// function reference for every element entry: a module of 262,128
// entries took 26-158 ms a batch under a 5 ms timeout, every batch
// (attack round 27b). Instantiating is now reckoned by the element
// section first, and refused when it cannot fit the time left.
func TestInstantiatingFitsTheTimeLeft(t *testing.T) {
	const elems = maxElemEntries - 16
	src := `(module
  (memory (export "memory") 16)
  (func $f)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (table ` + strconv.Itoa(elems) + ` funcref)
  (func (export "wasmcol_process") (param i32) (result i32) (unreachable))
  (elem (i32.const 0) func ` + strings.Repeat("$f ", elems) + `))`
	const timeout = 5 * time.Millisecond
	p, err := New(context.Background(), Options{Source: t.Name(), Module: watModule(t, src, false), PoolSize: 1, Timeout: timeout, MemoryLimitMiB: 16})
	require.NoError(t, err, "the first instance starts under the start timeout")
	defer p.Close(context.Background())
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
	_, err = p.ProcessTraces(context.Background(), td) // traps on the instance New started
	require.ErrorContains(t, err, "unreachable")
	worst := worstFailing(t, 5, "start would not finish within 5ms", func() error {
		_, err := p.ProcessTraces(context.Background(), td)
		return err
	})
	require.Less(t, worst, 2*timeout, "a batch that starts an instance of %d element entries took %v under a %v timeout", elems, worst, timeout)
}
