// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A region given back after the pool closed is freed, not kept as the
// spare: nothing would ever free it then.
func TestRegionPutAfterCloseFrees(t *testing.T) {
	var pool regionPool
	pool.close()
	r, err := newRegion(1 << 20)
	require.NoError(t, err)
	pool.put(r, false)
	assert.Nil(t, pool.spare, "kept as the spare of a closed pool")
	assert.Nil(t, r.mem, "not freed")
}
