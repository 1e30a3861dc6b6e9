// SPDX-License-Identifier: Apache-2.0

package wasmcol

import "testing"

// IsEmpty compares words: a non-zero byte anywhere in either makes the ID
// valid.
func TestTraceIDIsEmpty(t *testing.T) {
	if !(TraceID{}).IsEmpty() {
		t.Error("the zero TraceID is not empty")
	}
	for i := range 16 {
		var id TraceID
		id[i] = 0x80
		if id.IsEmpty() {
			t.Errorf("TraceID with byte %d set reads as empty", i)
		}
	}
}
