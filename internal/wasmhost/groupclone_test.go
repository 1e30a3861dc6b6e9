// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// TestGroupWeighsAColumnValueBeforeCopyingIt: group keeps a copy of each
// distinct value it reads through a kernel column (a status message, a
// log body), since the column may be rebuilt before the guest reads the
// groups. The copies were weighed against host_memory_limit only every
// 1,024 items and at the end, after they were made, and their time was
// not reckoned: with 3 MiB of a 10 MiB budget held elsewhere (another
// instance of the plugin), a group of one 4 MiB status message built its
// column, copied the value whole (8 MiB allocated in the call, 11 MiB
// held) and only then refused. A large value is now weighed, and
// reckoned, before it is copied.
func TestGroupWeighsAColumnValueBeforeCopyingIt(t *testing.T) {
	mod, newState, call := kernelHarness(t)
	mem := mod.Memory()
	const sel, out, size = 4096, 8192, 4 << 20
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Status().SetMessage(strings.Repeat("m", size))
	st := newState(1 << 20)
	st.shared.mem.limit = 10 << 20
	st.limits.maxResult = 8 << 20
	if !st.shared.mem.take(3 << 20) {
		t.Fatal("could not hold 3 MiB of the budget")
	}
	st.t.traces = td
	mem.Write(sel, []byte{1})
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	rc := call(st, hostGroup, abi.TableSpan, abi.FieldStatusMessage, 0, 0, sel, 1, out, 64)
	runtime.ReadMemStats(&m1)
	alloc := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("group: rc %d, %.1f MiB allocated", rc, float64(alloc)/(1<<20))
	if rc != abi.ErrTooLarge {
		t.Fatalf("group of a %d MiB value with %d MiB of the budget left after its column: rc %d, want ErrTooLarge", size>>20, (10 - 3 - 4), rc)
	}
	// The column, and not the copy.
	if alloc >= size*3/2 {
		t.Errorf("group allocated %.1f MiB for a %d MiB column: the value was copied past the budget before it was refused", float64(alloc)/(1<<20), size>>20)
	}
}
