// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"bytes"
	"testing"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// appendSetStr writes exactly what the general path writes.
func TestAppendSetStrIsTheGeneralEncoding(t *testing.T) {
	for _, c := range []struct{ key, val string }{{"", ""}, {"k", "v"}, {"kn.broker.name", "default"}, {"ключ", string(make([]byte, 300))}} {
		prefix := []byte("earlier edits")
		want := appendValue(abi.AppendStr(abi.AppendEditHeader(bytes.Clone(prefix), abi.OpSetAttr, 3, 70000), c.key), Str(c.val))
		if got := appendSetStr(bytes.Clone(prefix), 3, 70000, c.key, c.val); !bytes.Equal(got, want) {
			t.Errorf("%q=%q:\ngot  %x\nwant %x", c.key, c.val, got, want)
		}
	}
}
