// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestColumnOfAKernelColumnFitsTheTimeLeft: column of a field a select
// built as a kernel column earlier in the call is copied from it
// (tables.column: append(dst, c.data...)), with neither the time left
// reckoned nor the budget asked first. A select builds a 30 MiB column of
// one record's SeverityText while the time left holds it; the guest
// spins until 1 ms before its deadline, then asks column for the same
// field: the 30 MiB copy into a fresh result buffer ran 80-110 ms past
// the deadline (attack round 27a). It is now taken from the budget and
// reckoned first.
//
// The timeout leaves the select's own build, reckoned at 126 ms, room to
// spare on a loaded machine: at 150 ms it took the whole timeout now and
// then, before the copy this is about.
func TestColumnOfAKernelColumnFitsTheTimeLeft(t *testing.T) {
	const timeout = 400 * time.Millisecond
	const size = 30 << 20
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetSeverityText(strings.Repeat("s", size))
	guest := lateGuest(4, importSelect+importColumn, "", selectSeverityText, timeout-time.Millisecond,
		`(drop (call $column (i32.const 8) (i32.const 21) (i32.const 0) (i32.const 0)))`, 1)
	requireLateLogsFail(t, guest, timeout, 0, ld)
}

// TestGroupOfAKernelColumnFitsTheTimeLeft: group of a field read through
// a kernel column clones each distinct value it keeps (groupAll:
// strings.Clone), neither reckoned nor asked of the budget first (it is
// settled every 1,024 items, after; st.t.step checks the deadline before
// the clone, not after). A select builds a 30 MiB column of one record's
// SeverityText while the time left holds it; group, asked 1 ms before
// the deadline, cloned (and hashed) the one 30 MiB value, 90-100 ms past
// it (attack round 27a). A large value is now weighed and reckoned first.
func TestGroupOfAKernelColumnFitsTheTimeLeft(t *testing.T) {
	const timeout = 400 * time.Millisecond
	const size = 30 << 20
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetSeverityText(strings.Repeat("s", size))
	guest := lateGuest(4, importSelect+importGroup, "", selectSeverityText, timeout-time.Millisecond,
		`(i32.store8 (i32.const 32) (i32.const 1))
    ;; group(Log, SeverityText, no key, sel 32 len 1, out 64 len 256)
    (drop (call $group (i32.const 8) (i32.const 21) (i32.const 0) (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 64) (i32.const 256)))`, 1)
	requireLateLogsFail(t, guest, timeout, 0, ld)
}

// TestColumnIntoAWarmResultStopsAtTheDeadline: column's copy of a kernel
// column took and reckoned only what the result buffer had to grow. A
// guest that had asked column once (the result buffer then held the
// column's size) asked again 1 ms before its deadline: the copy into the
// warm buffer was reckoned at nothing and ran past the deadline, about
// 0.1 ms a MiB (120 MiB: 9-14 ms; host_memory_limit 4096 allows 2 GiB;
// the review of round 27a). It is now copied with checks between steps.
func TestColumnIntoAWarmResultStopsAtTheDeadline(t *testing.T) {
	const timeout = 2000 * time.Millisecond
	const size = 120 << 20
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetSeverityText(strings.Repeat("s", size))
	guest := lateGuest(4, importSelect+importColumn, "", selectSeverityText+`
    (drop (call $column (i32.const 8) (i32.const 21) (i32.const 0) (i32.const 0)))`, timeout-time.Millisecond,
		`(drop (call $column (i32.const 8) (i32.const 21) (i32.const 0) (i32.const 0)))`, 1)
	requireLateLogsFail(t, guest, timeout, 1024, ld)
}

// selectSeverityText builds the kernel column of the log records'
// severity text: select(Log, SeverityText, Present, an empty list at 16,
// out 32).
const selectSeverityText = `;; select(Log, SeverityText, Present, list count 0 at 16, out 32): builds the kernel column
    (if (i32.lt_s (call $select (i32.const 8) (i32.const 21) (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 4) (i32.const 32) (i32.const 1)) (i32.const 0))
      (then (unreachable)))`

// requireLateLogsFail runs ld three times through guest, a plugin of
// timeout and host_memory_limit hostMiB (0: the default), the heap
// returned to the system before each batch, outside the time measured;
// each batch must fail, and none may end more than 5 ms past timeout.
func requireLateLogsFail(t *testing.T, guest string, timeout time.Duration, hostMiB uint32, ld plog.Logs) {
	t.Helper()
	p, err := New(context.Background(), Options{Source: t.Name(), Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout, HostMemoryMiB: hostMiB})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := worstFailingAfter(t, 3, "", func() { debug.FreeOSMemory() }, func() error {
		_, err := p.ProcessLogs(context.Background(), ld)
		return err
	})
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}
