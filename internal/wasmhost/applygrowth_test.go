// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// fullCap is the largest n <= max at which a slice of 40-byte
// elements grown by append one at a time, as pdata's decoder grows an
// item's attributes, is full (len == cap).
func fullCap(max int) int {
	type kv struct {
		v any
		k string
		i int32
	}
	var s []kv
	best := 0
	for len(s) < max {
		s = append(s, kv{})
		if len(s) == cap(s) {
			best = len(s)
		}
	}
	return best
}

// TestAddingToAFullListIsReckoned: one SetAttr on a log record of N
// empty attributes whose list is full (as the decoder's appends leave it
// at the right N). Applying reserves room (Map.EnsureCapacity), which
// copies the whole list (40 bytes an entry) into fresh memory, in one
// step; the estimate charged 3 comparisons an attribute, and a batch
// under a 150 ms timeout succeeded after 450-515 ms (attack round 27a).
// The copy is now reckoned at freshNsPerByte.
func TestAddingToAFullListIsReckoned(t *testing.T) {
	n := fullCap(4_000_000)
	const timeout = 150 * time.Millisecond
	var attrs []byte
	for range n {
		attrs = pbLen(attrs, 6, nil) // LogRecord.attributes: an empty KeyValue
	}
	req := logRequest(attrs)
	attrs = nil
	ops := abi.AppendIntValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableLog, 0), "k"), 1)
	reckoned := time.Duration((3 + 3*int64(n) + 8 + int64(len(ops))/8) * 10)
	spinNs := int64(reckoned) + int64(2*time.Millisecond)
	p, err := New(context.Background(), Options{Source: "ensurecap", Module: watModule(t, lateGuest(4, importEdit, fmt.Sprintf(`(data (i32.const 0) "%s")`, watBytes(ops)),
		fmt.Sprintf(`(if (i32.lt_s (call $edit (i32.const 0) (i32.const %d)) (i32.const 0)) (then (return (i32.const 1))))`, len(ops)),
		timeout-time.Duration(spinNs), "", 0), false),
		PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worst := time.Duration(0)
	for range 3 {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(req)
		require.NoError(t, err)
		debug.FreeOSMemory()
		start := time.Now()
		out, err := p.ProcessLogs(context.Background(), ld)
		el := time.Since(start)
		applied := false
		if err == nil {
			worst = max(worst, el)
			_, applied = out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("k")
		}
		t.Logf("n=%d attributes, timeout %v: %v (apply reckoned %v), applied %v, err %v", n, timeout, el, reckoned, applied, err)
	}
	require.Less(t, worst, timeout+5*time.Millisecond, "a batch under a %v timeout succeeded after %v", timeout, worst)
}
