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
	pool := regionPool{max: 1}
	pool.close()
	r, err := newRegion(1 << 20)
	require.NoError(t, err)
	pool.put(r, false)
	assert.Empty(t, pool.spares, "kept as a spare of a closed pool")
	assert.Nil(t, r.mem, "not freed")
}
