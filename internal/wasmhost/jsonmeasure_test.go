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

// TestRefineMeasuresBigStringsInMaps: refine of an attribute
// whose value is a map measures the map's JSON (renderable) for every
// selected item; jsonWriter.str walked a string value rune by rune with no
// tick, and did not stop at the room (a string needing no escape is
// counted only at its end). Records whose map holds one long string of
// CJK text kept one refine call busy far past the deadline: 655-680 ms a
// batch under 5 ms for 64 records sharing 8 MiB, 37-39 ms for one of 30
// MiB (attack round 26).
func TestRefineMeasuresBigStringsInMaps(t *testing.T) {
	// 64 records sharing one 8 MiB string (a batch of 8 MiB in memory),
	// and one record of a 30 MiB string, as a client sends it.
	t.Run("shared", func(t *testing.T) { refineBigMapStrings(t, 64, 8<<20) })
	t.Run("wire", func(t *testing.T) { refineBigMapStrings(t, 8, 30<<20) })
}

// TestRefineSortsLongKeys: measuring a map sorts its keys first,
// ticking once per entry whatever the keys' length; keys of 512 KiB that
// differ only in their last bytes cost a full comparison each. One record
// whose map holds 48 such keys (24 MiB, as a client sends it): 29-53 ms a
// batch under 5 ms (attack round 26).
func TestRefineSortsLongKeys(t *testing.T) {
	const timeout = 5 * time.Millisecond
	const records = 8
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range records {
		m := lr.AppendEmpty().Attributes().PutEmptyMap("x")
		if i > 0 {
			continue
		}
		for k := range 48 {
			m.PutInt(strings.Repeat("a", 512<<10)+fmt.Sprintf("%03d", 47-k), 1)
		}
	}
	runRefineLoop(t, ld, records, timeout)
}

func runRefineLoop(t *testing.T, ld plog.Logs, records int, timeout time.Duration) {
	sel := strings.Repeat(`\ff`, records/8)
	guest := fmt.Sprintf(`(module
  (import "wasmcol" "refine" (func $refine (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l
      (memory.fill (i32.const 1024) (i32.const 255) (i32.const %d))
      (drop (call $refine (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 3) (i32.const 16) (i32.const 4) (i32.const 1024) (i32.const %d)))
      (br $l))
    (i32.const 0)))`, len(sel)/3, records/8)
	p, err := New(context.Background(), Options{Source: "jsonkeys", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := worstFailing(t, 3, "", func() error {
		_, err := p.ProcessLogs(context.Background(), ld)
		return err
	})
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}

func refineBigMapStrings(t *testing.T, records, size int) {
	const timeout = 5 * time.Millisecond
	big := strings.Repeat("\u4e00", size/3) // 3 bytes a rune
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range records {
		m := lr.AppendEmpty().Attributes().PutEmptyMap("x")
		if records == 8 && i > 0 {
			continue // one record holds the string, the rest an empty map
		}
		m.PutStr("k", big)
	}
	sel := strings.Repeat(`\ff`, records/8)
	guest := fmt.Sprintf(`(module
  (import "wasmcol" "refine" (func $refine (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $l
      (memory.fill (i32.const 1024) (i32.const 255) (i32.const %d))
      ;; refine(Log, Attr, "x", Present, empty list, every record)
      (drop (call $refine (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 3) (i32.const 16) (i32.const 4) (i32.const 1024) (i32.const %d)))
      (br $l))
    (i32.const 0)))`, len(sel)/3, records/8)
	p, err := New(context.Background(), Options{Source: "jsonstr", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := worstFailing(t, 3, "", func() error {
		_, err := p.ProcessLogs(context.Background(), ld)
		return err
	})
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch took %v under a %v timeout", worst, timeout)
}
