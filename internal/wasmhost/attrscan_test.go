// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestAttrLookupOfAHugeItemStopsAtTheDeadline: the kernels that read one
// attribute of each item by key (select, refine, copy_attr, group, and column of an attribute) look
// it up with pcommon.Map.Get, a scan of the item's attributes, and check
// the deadline only between items. One log record of 10 million empty
// attributes (20 MB on the wire) costs one scan of 10 million entries per
// call, where no deadline reached: a guest that called such a kernel in a
// loop overran a 5 ms timeout by 9-19 ms (attack round 26).
func TestAttrLookupOfAHugeItemStopsAtTheDeadline(t *testing.T) {
	const timeout = 5 * time.Millisecond
	calls := map[string]string{
		// select(Log, Attr, "x", Present, empty list, out 32, 1)
		"select": `(call $select (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 3) (i32.const 16) (i32.const 4) (i32.const 32) (i32.const 1))`,
		// refine(Log, Attr, "x", Present, empty list, sel 32, 1)
		"refine": `(call $refine (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 3) (i32.const 16) (i32.const 4) (i32.const 32) (i32.const 1))`,
		// copy_attr(Log, "x" -> "y", sel 32, 1, 0)
		"copy_attr": `(call $copy (i32.const 8) (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 0))`,
		// group(Log, Attr, "x", sel 32, 1, out 64, 256)
		"group": `(call $group (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 64) (i32.const 256))`,
		// column(Log, Attr, "x")
		"column": `(call $column (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 1))`,
	}
	var attrs []byte
	for range 10_000_000 {
		attrs = pbLen(attrs, 6, nil) // LogRecord.attributes: an empty KeyValue
	}
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(logRequest(attrs))
	require.NoError(t, err)
	attrs = nil
	for _, name := range []string{"select", "refine", "copy_attr", "group", "column"} {
		t.Run(name, func(t *testing.T) {
			guest := fmt.Sprintf(`(module
  (import "wasmcol" "select" (func $select (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "refine" (func $refine (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "copy_attr" (func $copy (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "group" (func $group (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "column" (func $column (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l
      (i32.store8 (i32.const 32) (i32.const 1))
      (drop %s)
      (br $l))
    (i32.const 0)))`, calls[name])
			p, err := New(context.Background(), Options{Source: "scan", Module: watModule(t, guest, false),
				PoolSize: 1, Timeout: timeout})
			require.NoError(t, err)
			defer p.Close(context.Background())
			worst := worstFailing(t, 3, "", func() error {
				_, err := p.ProcessLogs(context.Background(), ld)
				return err
			})
			// A few ms of slack past the timeout, as the host promises.
			require.Less(t, worst, timeout+5*time.Millisecond, "%s: a batch took %v under a %v timeout", name, worst, timeout)
		})
	}
}

// TestCopyAttrOfManyItemsStopsAtTheDeadline: copy_attr's loop over the
// selected items checked the deadline nowhere, and attr only inside an
// item of more than 1,024 attributes. 10,000 log records of 1,024 empty
// attributes each (20 MB on the wire, the record above split) were 10
// million comparisons in one call of copy_attr: 25-44 ms a batch under a
// 5 ms timeout (the review of attack round 26).
func TestCopyAttrOfManyItemsStopsAtTheDeadline(t *testing.T) {
	const timeout = 5 * time.Millisecond
	const records, perRecord = 10_000, 1_024
	var rec []byte
	for range perRecord {
		rec = pbLen(rec, 6, nil) // LogRecord.attributes: an empty KeyValue
	}
	var scope []byte
	for range records {
		scope = pbLen(scope, 2, rec) // ScopeLogs.log_records
	}
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(pbLen(nil, 1, pbLen(nil, 2, scope)))
	require.NoError(t, err)
	scope = nil
	require.Equal(t, records, ld.LogRecordCount())
	sel := strings.Repeat(`\ff`, records/8)
	guest := fmt.Sprintf(`(module
  (import "wasmcol" "copy_attr" (func $copy (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "xy")
  (data (i32.const 1024) "%s")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l
      ;; copy_attr(Log, "x" -> "y", every record selected): "x" is on none
      (drop (call $copy (i32.const 8) (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1) (i32.const 1024) (i32.const %d) (i32.const 0)))
      (br $l))
    (i32.const 0)))`, sel, records)
	p, err := New(context.Background(), Options{Source: "copyattr", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := worstFailing(t, 3, "", func() error {
		_, err := p.ProcessLogs(context.Background(), ld)
		return err
	})
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}

// worstFailing runs batch n times, requires every run to fail, with an
// error holding want unless want is empty, logs each, and returns the
// longest a run took.
func worstFailing(t *testing.T, n int, want string, batch func() error) time.Duration {
	t.Helper()
	return worstFailingAfter(t, n, want, nil, batch)
}

// worstFailingAfter is worstFailing with prep, if any, run before each
// batch, outside the time measured.
func worstFailingAfter(t *testing.T, n int, want string, prep func(), batch func() error) time.Duration {
	t.Helper()
	worst := time.Duration(0)
	for range n {
		if prep != nil {
			prep()
		}
		began := time.Now()
		err := batch()
		took := time.Since(began)
		worst = max(worst, took)
		t.Logf("%v: %v", took, err)
		require.Error(t, err)
		if want != "" {
			require.ErrorContains(t, err, want)
		}
	}
	return worst
}
