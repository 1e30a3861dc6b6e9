// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// bytesLogs is n log records, each with attribute "b" a Bytes value
// of size zero bytes.
func bytesLogs(n, size int) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	raw := make([]byte, size)
	for range n {
		lr.AppendEmpty().Attributes().PutEmptyBytes("b").FromRaw(raw)
	}
	return ld
}

// TestBytesMatchCopiesStopAtTheDeadline: select and refine copy an item's
// Bytes value (pdata gives it only as a copy) when it is as long as a
// value looked for, up to 64 KiB, and compare it; the deadline is checked
// every 1,024 items, and the attribute lookup counts attributes, not
// bytes: 1,024 records of 64 KiB Bytes were 64 MiB copied and compared
// between two checks, 87-330 ms a batch under a 5 ms timeout (attack
// round 27a). A copy now counts its bytes as steps and is reckoned.
func TestBytesMatchCopiesStopAtTheDeadline(t *testing.T) {
	const timeout = 5 * time.Millisecond
	const n = 4096
	const size = 64<<10 - 9 // the list: count, tag, length, value: 64 KiB
	ld := bytesLogs(n, size)
	list := binary.LittleEndian.AppendUint32(nil, 1)
	list = append(list, 5) // TagBytes
	list = binary.LittleEndian.AppendUint32(list, size)
	const listAt, outAt = 0x10000, 0x30000
	calls := map[string]string{
		"select": fmt.Sprintf(`(call $select (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 1) (i32.const %d) (i32.const %d) (i32.const %d) (i32.const %d))`,
			listAt, 64<<10, outAt, n/8),
		"refine": fmt.Sprintf(`(call $refine (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 1) (i32.const %d) (i32.const %d) (i32.const %d) (i32.const %d))`,
			listAt, 64<<10, outAt, n/8),
	}
	for _, name := range []string{"select", "refine"} {
		t.Run(name, func(t *testing.T) {
			guest := fmt.Sprintf(`(module
  (import "wasmcol" "select" (func $select (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "refine" (func $refine (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 0) "b")
  (data (i32.const %d) "%s")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (i32.store8 (i32.const %d) (i32.const 1)) ;; the wanted value's last byte: no item matches
    (loop $l
      (memory.fill (i32.const %d) (i32.const 255) (i32.const %d))
      (drop %s)
      (br $l))
    (i32.const 0)))`, listAt, watBytes(list), listAt+64<<10-1, outAt, n/8, calls[name])
			p, err := New(context.Background(), Options{Source: "bytessel", Module: watModule(t, guest, false),
				PoolSize: 1, Timeout: timeout})
			require.NoError(t, err)
			defer p.Close(context.Background())
			worst := worstFailing(t, 3, "", func() error {
				_, err := p.ProcessLogs(context.Background(), ld)
				return err
			})
			require.Less(t, worst, 2*timeout, "%s: a batch took %v under a %v timeout", name, worst, timeout)
		})
	}
}
