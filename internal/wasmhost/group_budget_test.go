// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// distinctStarts is one span per start time, n of them.
func distinctStarts(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	for i := range n {
		spans.AppendEmpty().SetStartTimestamp(pcommon.Timestamp(i + 1))
	}
	return td
}

// groupStartsGuest selects every span of a batch of n and groups them by
// start time, into one bitmap at 200,000 (a group of each value); the
// call must answer want, or the batch fails.
func groupStartsGuest(n int, want int32) string {
	selLen := strconv.Itoa((n + 7) / 8)
	call := `(memory.fill (i32.const 0) (i32.const 255) (i32.const ` + selLen + `))
    (call $group (i32.const 3) (i32.const 10) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const ` + selLen + `) (i32.const 200000) (i32.const ` + selLen + `))`
	body := `(if (i32.ne ` + call + ` (i32.const ` + strconv.Itoa(int(want)) + `)) (then (return (i32.const 1))))`
	return `(module
  (import "wasmcol" "group" (func $group (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 8)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    ` + body + `
    (i32.const 0)))`
}

// A grouping holds its items, its values and a map entry for each value,
// about 100 bytes a distinct value, and only the values' copied strings
// counted against host_memory_limit: one group call on a million spans of
// distinct start times (11 MB on the wire) grew the heap by 279 MiB
// beside a budget of 64 MiB (attack round 25). It now counts all of it,
// and answers ErrTooLarge past the budget; the same call within a budget
// large enough answers one group.
func TestGroupHoldsToTheHostMemoryBudget(t *testing.T) {
	const n = 1_000_000
	td := distinctStarts(n)
	for _, tc := range []struct {
		budgetMiB uint32
		want      int32
	}{
		{64, -5}, // ErrTooLarge: about 100 MiB held
		{256, 1}, // one bitmap, the first value's
	} {
		p, err := New(context.Background(), Options{Source: "group", Module: watModule(t, groupStartsGuest(n, tc.want), false),
			PoolSize: 1, Timeout: 10 * time.Second, HostMemoryMiB: tc.budgetMiB})
		require.NoError(t, err)
		_, err = p.ProcessTraces(context.Background(), td)
		require.NoError(t, err, "host_memory_limit %d MiB: group did not answer %d", tc.budgetMiB, tc.want)
		p.Close(context.Background())
	}
}

// An instance discarded after it grouped (here recycled after every
// call) gave back its result and columns but not the grouping's buffers,
// which the budget now counts: about 123 KB a batch stayed taken, so that
// a 64 MiB budget would run out after about 550 recycles (review of
// attack round 25).
func TestGroupGivesItsBudgetBackWithTheInstance(t *testing.T) {
	const n = 10_000
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range n {
		spans.AppendEmpty().SetStartTimestamp(1) // one value: one group
	}
	guest := strings.Replace(groupStartsGuest(n, 1), "(i32.const 200000)", "(i32.const 2500)", 1)
	p, err := New(context.Background(), Options{Source: "group", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: 10 * time.Second, MaxCallsPerInstance: 1})
	require.NoError(t, err)
	defer p.Close(context.Background())
	for range 20 {
		_, err = p.ProcessTraces(context.Background(), td)
		require.NoError(t, err)
	}
	require.Zero(t, p.HostMemoryInUse(), "host memory counted with no instance alive")
}
