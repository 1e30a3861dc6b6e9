// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNameViewIsReckoned: the names of a call's spans or events, which
// selects and groups of names read, were gathered by append, each growth
// a copy no check splits: with 4 million events, a select of names asked
// late ran up to 80 ms past a 1 s timeout (attack round 27a). The view is
// now sized at once and reckoned first: asked with 300 ms left, where the
// view of 4 million names is reckoned at 448 ms, the select is refused.
func TestNameViewIsReckoned(t *testing.T) {
	const n = 4_000_000
	td := manyEvents(t, n)
	const timeout = time.Second
	guest := lateGuest(1, importLen+importSelect, "", `(drop (call $len (i32.const 4))) ;; the events' index, reckoned at 80 ms`,
		timeout-300*time.Millisecond,
		`;; select(Event, Name, Present, empty list at 16, out 4096 len 500,000)
    (drop (call $select (i32.const 4) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 4) (i32.const 4096) (i32.const 500000)))`, 0)
	p, err := New(context.Background(), Options{Source: "nameview", Module: watModule(t, guest, false), PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	worstFailing(t, 2, "would not finish in the time left", func() error {
		_, err := p.ProcessTraces(context.Background(), td)
		return err
	})
}
