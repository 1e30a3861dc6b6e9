// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// TestEditCountersOfAHugeTableFitTheTimeLeft: validating one attribute edit
// sizes the editor's per-item counters of its table (editor.sized: three
// int32 slices of one entry an item, 12 bytes an item), allocated and
// zeroed in one step that neither checks the deadline nor is reckoned. The
// guest builds the index of 4 million log records while its time left
// holds it (len), stages one DeleteAttr, spins until 1 ms before its
// deadline and returns: validation wrote 48 MB of fresh memory, 130-395
// ms past a 400 ms timeout (attack round 27a). It is now reckoned first.
func TestEditCountersOfAHugeTableFitTheTimeLeft(t *testing.T) {
	const timeout = 400 * time.Millisecond
	const n = 4_000_000
	scope := make([]byte, 0, 2*n)
	for range n {
		scope = append(scope, 2<<3|2, 0) // ScopeLogs.log_records: an empty record
	}
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(pbLen(nil, 1, pbLen(nil, 2, scope)))
	require.NoError(t, err)
	scope = nil
	ops := abi.AppendStr(abi.AppendEditHeader(nil, abi.OpDeleteAttr, abi.TableLog, 0), "k")
	guest := lateGuest(4, importLen+importEdit, fmt.Sprintf(`(data (i32.const 0) "%s")`, watBytes(ops)),
		fmt.Sprintf(`(if (i32.lt_s (call $len (i32.const 8)) (i32.const 0)) (then (unreachable)))
    (if (i32.lt_s (call $edit (i32.const 0) (i32.const %d)) (i32.const 0)) (then (unreachable)))`, len(ops)),
		timeout-time.Millisecond, "", 0)
	requireLateLogsFail(t, guest, timeout, 0, ld)
}
