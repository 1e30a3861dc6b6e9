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
// (attack round 27b). Instantiating is now reckoned first (startNs), and
// refused when it cannot fit the time left.
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

// trappingBatches starts a plugin of src, whose wasmcol_process traps so
// that every batch starts a new instance inside its timeout, and returns
// the longest of n such batches, each refused as one whose start would
// not fit the time left. The first batch to start an instance is not
// counted: it clears the memory the instance New started touched, and
// may run out of time there, with another error
// (TestStartClearStopsAtTheDeadline).
func trappingBatches(t *testing.T, src string, timeout time.Duration, n int) time.Duration {
	t.Helper()
	p, err := New(context.Background(), Options{Source: t.Name(), Module: watModule(t, src, false), PoolSize: 1, Timeout: timeout})
	require.NoError(t, err, "the first instance starts under the start timeout")
	defer p.Close(context.Background())
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
	for range 2 { // a trap on the instance New started, then the clear
		_, err = p.ProcessTraces(context.Background(), td)
		require.Error(t, err)
	}
	return worstFailing(t, n, "start would not finish", func() error {
		_, err := p.ProcessTraces(context.Background(), td)
		return err
	})
}

// TestInstantiatingTablesAndDataFitsTheTimeLeft: instantiating also
// allocates every table at its minimum, 8 bytes an entry zeroed, and
// copies the active data segments into memory, in the same step. A table
// of 1,048,000 entries and no element section made about one batch in
// three take 23-38 ms under a 5 ms timeout, waiting on the collection
// each 8 MiB set off; 60 MiB of active data took 4.3-6 ms under 2 ms
// (attack round 27d). Both are reckoned now, at freshNsPerByte.
func TestInstantiatingTablesAndDataFitsTheTimeLeft(t *testing.T) {
	const head = `(module
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (unreachable))
  `
	for name, c := range map[string]struct {
		timeout time.Duration
		src     string
	}{
		"a table of 1,048,000 entries": {5 * time.Millisecond, head + `(memory (export "memory") 1) (table 1048000 funcref))`},
		"60 MiB of active data": {2 * time.Millisecond, head + `(memory (export "memory") 1000)
  (data (i32.const 0) "` + strings.Repeat("a", 60<<20) + `"))`},
	} {
		t.Run(name, func(t *testing.T) {
			worst := trappingBatches(t, c.src, c.timeout, 10)
			require.Less(t, worst, 2*c.timeout, "a batch that starts an instance of %s took %v under a %v timeout", name, worst, c.timeout)
		})
	}
}
